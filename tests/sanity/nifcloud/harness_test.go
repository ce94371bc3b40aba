package nifcloudsanity

import (
	"bufio"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/localdisk"
	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/device"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/csi/mounter"
	"github.com/kumo-project/kumo/pkg/csi/nifclouddisk"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

const (
	accessKey = "AKSANITYNIFCLOUD"
	secretKey = "sanity-nifcloud-secret"
	region    = "jp-east-1"
	zone      = "east-11"
)

// cloud is an in-process NIFCLOUD simulator over HTTP whose local
// instances get real loop devices (linked under devRoot/dev/disk/by-path),
// plus the backend the controller uses.
type cloud struct {
	sim     *nifcloudsim.Sim
	disks   *nifclouddisk.Disks
	devRoot string
	dataDir string
	tmp     string // staging and target paths live here
	state   string // the node plugins' volume records
}

// requireRealMounts skips unless the test can make loop devices, file
// systems and mounts.
func requireRealMounts(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the node plugin runs losetup, mkfs.ext4 and mount for real")
	}
	for _, tool := range []string{"losetup", "mkfs.ext4", "mount", "umount", "blkid", "resize2fs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	probe := filepath.Join(t.TempDir(), "probe.img")
	if err := os.WriteFile(probe, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", probe).CombinedOutput()
	if err != nil {
		t.Skipf("loop devices unusable here: %v: %s", err, out)
	}
	_ = exec.Command("losetup", "-d", strings.TrimSpace(string(out))).Run()
}

// newCloud starts the simulator with instance "ctrl" (the controller's
// own server, which hosts disks while they are created) and the given
// local node instances, all in one zone. Cleanups unmount everything below
// the test's directories and release every loop device, even on failure,
// and fail the test if anything was left behind.
func newCloud(t *testing.T, nodes ...string) *cloud {
	t.Helper()
	c := &cloud{devRoot: t.TempDir(), dataDir: t.TempDir(), tmp: t.TempDir(), state: t.TempDir()}
	mgr, err := localdisk.NewLoopManager(c.devRoot, c.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	// Runs last: loop devices go after the mounts on them.
	t.Cleanup(func() {
		mgr.DetachAll()
		if leaked := loopsBackedBy(t, c.dataDir); len(leaked) > 0 {
			t.Errorf("loop devices still attached: %v", leaked)
		}
	})
	t.Cleanup(func() {
		if n := unmountBelow(t, c.tmp, c.devRoot); n > 0 {
			t.Errorf("%d mounts were left behind", n)
		}
	})
	c.sim, err = nifcloudsim.New(nifcloudsim.Options{
		Credentials: map[string]string{accessKey: secretKey}, Region: region,
		LocalDisks: mgr, LocalInstances: nodes,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range append([]string{"ctrl"}, nodes...) {
		if err := c.sim.AddInstance(nifcloudsim.Instance{InstanceID: id, Zone: zone}); err != nil {
			t.Fatal(err)
		}
	}
	// Transitions take a little time so the waits are exercised.
	l := c.sim.Controls().Latency()
	l.Transitions = map[string]time.Duration{"*": 5 * time.Millisecond}
	c.sim.Controls().SetLatency(l)
	srv := httptest.NewServer(c.sim.Handler())
	t.Cleanup(srv.Close)

	api, err := nifcloud.New(nifcloud.Config{
		Region: region, Endpoint: srv.URL + "/api/", AccessKeyID: accessKey, SecretAccessKey: secretKey,
		Timeout: 10 * time.Second, QPS: -1, MaxAttempts: 3,
		Retry: backoff.Policy{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.disks, err = nifclouddisk.New(api, nifclouddisk.Options{
		PreferredInstances: []string{"ctrl"},
		Poll:               backoff.Policy{Initial: 2 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 1.5},
		// Fast transitions in the simulator: let the shared status watcher
		// look as often as the poll policy asks.
		BatchInterval: 2 * time.Millisecond,
		Timeout:       20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startDriver serves a driver on a unix socket until the test ends and
// returns the socket's address.
func (c *cloud) startDriver(t *testing.T, name string, mode driver.Mode, nodeID string) string {
	t.Helper()
	sock := filepath.Join(c.tmp, name+".sock")
	opts := driver.Options{
		Mode:     mode,
		Endpoint: "unix://" + sock,
		Profile:  profile.NIFCLOUD{},
		Version:  "sanity",
	}
	if mode != driver.ModeNode {
		opts.Disks = c.disks
	}
	if mode != driver.ModeController {
		opts.Finder = device.NewNIFCLOUD(device.Options{
			Root: c.devRoot, Timeout: 10 * time.Second,
			Backoff: backoff.Policy{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Factor: 1.5},
		})
		opts.Mounter = mounter.New()
		opts.Identity = backend.StaticIdentity{ID: nodeID, ZoneName: zone}
		// csi-sanity's staging and target paths are under c.tmp.
		opts.KubeletRootDir = c.tmp
		opts.StateDir = filepath.Join(c.state, name)
	}
	d, err := driver.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.Verbosity(2)))
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger))
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("driver %s: %v", name, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("driver %s did not stop", name)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			return "unix://" + sock
		}
		if time.Now().After(deadline) {
			t.Fatalf("driver %s did not create %s", name, sock)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// unmountBelow lazily unmounts every mount point below the given
// directories, deepest first, and returns how many there were.
func unmountBelow(t *testing.T, dirs ...string) int {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Errorf("reading mounts: %v", err)
		return 0
	}
	defer func() { _ = f.Close() }() // opened read-only
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		for _, d := range dirs {
			if strings.HasPrefix(mp, d+"/") {
				points = append(points, mp)
			}
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		if err := unix.Unmount(points[i], unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", points[i], err)
		}
	}
	return len(points)
}

// unescapeMount undoes mountinfo's octal escapes of space, tab, newline
// and backslash.
func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// loopsBackedBy lists loop devices whose backing file is below dir.
func loopsBackedBy(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(string(b)), dir+"/") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(f, "/sys/block/"), "/loop/backing_file"))
		}
	}
	return out
}
