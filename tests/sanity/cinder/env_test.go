package cinder

import (
	"bufio"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/localdisk"
	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/cinderdisk"
	"github.com/kumo-project/kumo/pkg/csi/device"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/csi/mounter"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// requireRealMounts skips unless the test can create loop devices, run
// mkfs.ext4 and mount (root with util-linux and e2fsprogs).
func requireRealMounts(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("real loop devices and mounts; skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: attaching a simulated volume creates a real loop device that NodeStage formats and mounts")
	}
	for _, tool := range []string{"losetup", "mkfs.ext4", "blkid", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("no loop device support: %v", err)
	}
}

// cloud is an in-process OpenStack simulator whose "local" servers get real
// loop devices linked under devRoot/dev/disk/by-id.
type cloud struct {
	sim      *openstacksim.Sim
	controls *simcore.Controls
	url      string
	devRoot  string
	disks    *localdisk.LoopManager
	// stateDir keeps the node plugin's volume records across restarts.
	stateDir string
}

func newCloud(t *testing.T) *cloud {
	t.Helper()
	devRoot, data := t.TempDir(), t.TempDir()
	disks, err := localdisk.NewLoopManager(devRoot, data)
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after every unmount cleanup.
	t.Cleanup(disks.DetachAll)
	controls := simcore.NewControls()
	controls.SetLatency(simcore.LatencyConfig{Transitions: map[string]time.Duration{"*": 20 * time.Millisecond}})
	sim, err := openstacksim.New(openstacksim.Options{LocalDisks: disks, Controls: controls})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &cloud{sim: sim, controls: controls, url: srv.URL, devRoot: devRoot, disks: disks, stateDir: t.TempDir()}
}

// addServer adds a server in zone nova.
func (c *cloud) addServer(t *testing.T, name, addr string) string {
	t.Helper()
	sv, err := c.sim.AddServer(openstacksim.Server{Name: name, AZ: "nova",
		Addresses: map[string][]openstacksim.Address{"private": {{Addr: addr}}}})
	if err != nil {
		t.Fatal(err)
	}
	return sv.ID
}

// newBackend authenticates against the simulator through the production
// client stack (cloud.conf, Keystone, retrying transport).
func (c *cloud) newBackend(t *testing.T, attachLimit int) *cinderdisk.Backend {
	t.Helper()
	cfg, err := config.Parse("cloud.conf", []byte(openstacksim.CloudConf(c.url)))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(context.Background(), cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cinderdisk.New(cl, cinderdisk.Options{
		ClusterID:             "sanity",
		Poll:                  backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Factor: 1.5},
		WaitTimeout:           30 * time.Second,
		MaxAttachmentsPerNode: attachLimit,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startDriver serves the real driver in ModeAll on a unix socket for the
// node serverID and returns the endpoint.
func (c *cloud) startDriver(t *testing.T, disks backend.Disks, serverID string, maxVolumes int64) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "csi.sock")
	d, err := driver.New(driver.Options{
		Mode:              driver.ModeAll,
		Profile:           profile.Cinder{},
		Endpoint:          "unix://" + sock,
		Disks:             disks,
		Finder:            device.NewCinder(device.Options{Root: c.devRoot, Timeout: 15 * time.Second}),
		Mounter:           mounter.New(),
		Identity:          backend.StaticIdentity{ID: serverID, ZoneName: "nova"},
		MaxVolumesPerNode: maxVolumes,
		// csi-sanity's paths are test directories.
		KubeletRootDir: os.TempDir(),
		StateDir:       c.stateDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("driver: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("driver did not stop")
		}
	})
	for range 100 {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "unix://" + sock
}

// unmountUnder registers a cleanup that lazily unmounts everything still
// mounted below dir (deepest first), so that loop devices can be released
// and the temp dir removed even after a failure.
func unmountUnder(t *testing.T, dir string) {
	t.Helper()
	t.Cleanup(func() {
		for _, mp := range mountsUnder(t, dir) {
			t.Logf("cleanup: unmounting leftover %s", mp)
			if out, err := exec.Command("umount", "-l", mp).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", mp, err, out)
			}
		}
	})
}

func mountsUnder(t *testing.T, dir string) []string {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		t.Logf("reading mounts: %v", err)
		return nil
	}
	defer func() { _ = f.Close() }()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		p := strings.ReplaceAll(fields[1], `\040`, " ")
		if p == dir || strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	slices.Reverse(out)
	return out
}
