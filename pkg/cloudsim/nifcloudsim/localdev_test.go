package nifcloudsim

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/localdisk"
)

// fakeDisks records calls and tracks which volumes have a device.
type fakeDisks struct {
	mu    sync.Mutex
	calls []string
	devs  map[string]string
}

func newFakeDisks() *fakeDisks { return &fakeDisks{devs: map[string]string{}} }

func (f *fakeDisks) log(s string) { f.calls = append(f.calls, s) }

func (f *fakeDisks) Attach(id string, size int64, links []string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log(fmt.Sprintf("attach %s %d %s", id, size, strings.Join(links, ",")))
	f.devs[id] = "/dev/fake-" + id
	return f.devs[id], nil
}

func (f *fakeDisks) Detach(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("detach " + id)
	delete(f.devs, id)
	return nil
}

func (f *fakeDisks) Resize(id string, size int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log(fmt.Sprintf("resize %s %d", id, size))
	return nil
}

func (f *fakeDisks) Delete(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("delete " + id)
	delete(f.devs, id)
	return nil
}

func (f *fakeDisks) Root() string { return "/fake" }

func (f *fakeDisks) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

func expectCalls(t *testing.T, f *fakeDisks, want ...string) {
	t.Helper()
	got := f.take()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("local disk calls:\n got %q\nwant %q", got, want)
	}
}

func TestLocalDiskLifecycle(t *testing.T) {
	clk := newFakeClock()
	disks := newFakeDisks()
	path := filepath.Join(t.TempDir(), "s.json")
	h := newHarness(t, Options{StatePath: path, Now: clk.Now, LocalDisks: disks, LocalInstances: []string{"me"}})
	seed(t, h.sim, Instance{InstanceID: "me"}, Instance{InstanceID: "other"})
	setTransitions(h.sim, map[string]time.Duration{"*": 10 * time.Second})

	// Created on another instance: no device.
	id := h.ok("CreateVolume", "Size", "100", "InstanceId", "other").text("volumeId")
	clk.Advance(10 * time.Second)
	h.ok("DetachVolume", "VolumeId", id, "InstanceId", "other", "Agreement", "true")
	clk.Advance(10 * time.Second)
	h.ok("DescribeVolumes")
	expectCalls(t, disks)

	// Attached to the local instance: the device appears once attached.
	h.ok("AttachVolume", "VolumeId", id, "InstanceId", "me")
	expectCalls(t, disks)
	clk.Advance(10 * time.Second)
	h.ok("DescribeVolumes")
	link := "dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:1:0"
	expectCalls(t, disks, fmt.Sprintf("attach %s %d %s", id, int64(100)<<30, link))
	if dev := h.sim.Snapshot().Volumes[id].LocalDevice; dev != "/dev/fake-"+id {
		t.Fatalf("LocalDevice = %q", dev)
	}

	// Extend: resized when the extension completes.
	h.ok("ExtendVolumeSize", "VolumeId", id)
	expectCalls(t, disks)
	clk.Advance(10 * time.Second)
	h.ok("DescribeVolumes")
	expectCalls(t, disks, fmt.Sprintf("resize %s %d", id, int64(200)<<30))

	// Restart: devices of attached local volumes are re-created.
	disks2 := newFakeDisks()
	h2 := newHarness(t, Options{StatePath: path, Now: clk.Now, LocalDisks: disks2, LocalInstances: []string{"me"}})
	expectCalls(t, disks2, fmt.Sprintf("attach %s %d %s", id, int64(200)<<30, link))
	setTransitions(h2.sim, map[string]time.Duration{"*": 10 * time.Second})

	// Detach removes the device when the detach completes; delete removes data.
	h2.ok("DetachVolume", "VolumeId", id, "InstanceId", "me", "Agreement", "true")
	expectCalls(t, disks2)
	clk.Advance(10 * time.Second)
	h2.ok("DescribeVolumes")
	expectCalls(t, disks2, "detach "+id)
	h2.ok("DeleteVolume", "VolumeId", id)
	expectCalls(t, disks2, "delete "+id)

	// Changing the local set at runtime attaches/detaches accordingly.
	id2 := h2.ok("CreateVolume", "Size", "100", "InstanceId", "other").text("volumeId")
	clk.Advance(10 * time.Second)
	h2.ok("DescribeVolumes")
	expectCalls(t, disks2)
	h2.sim.SetLocalInstances("other")
	expectCalls(t, disks2, fmt.Sprintf("attach %s %d %s", id2, int64(100)<<30, link))
	h2.sim.SetLocalInstances()
	expectCalls(t, disks2, "detach "+id2)
}

// TestLoopDevices uses real loop devices; it needs root and losetup.
func TestLoopDevices(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for losetup")
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("losetup not installed")
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

	root := t.TempDir()
	mgr, err := localdisk.NewLoopManager(root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mgr.DetachAll)
	h := newHarness(t, Options{LocalDisks: mgr, LocalInstances: []string{"me"}})
	seed(t, h.sim, Instance{InstanceID: "me"}, Instance{InstanceID: "other"})
	id := h.ok("CreateVolume", "Size", "100", "InstanceId", "me").text("volumeId")
	h.ok("CreateVolume", "Size", "100", "InstanceId", "me") // takes SCSI (0:2)
	t.Cleanup(func() { _ = mgr.Delete(id) })

	link := filepath.Join(root, byPathLink(1))
	target, err := os.Readlink(link)
	if err != nil || !strings.HasPrefix(target, "/dev/loop") {
		t.Fatalf("by-path link: %q %v", target, err)
	}
	if _, err := os.Stat(filepath.Join(root, byPathLink(2))); err != nil {
		t.Fatalf("second volume link: %v", err)
	}
	marker := []byte("kumo-nifcloudsim-" + id)
	writeAt(t, link, marker)

	h.ok("DetachVolume", "VolumeId", id, "InstanceId", "me", "Agreement", "true")
	h.ok("DescribeVolumes")
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Fatalf("link still present after detach: %v", err)
	}
	// Attach to another (non-local) instance: still no device here.
	h.ok("AttachVolume", "VolumeId", id, "InstanceId", "other")
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Fatal("device created for a non-local instance")
	}
	h.ok("DetachVolume", "VolumeId", id, "InstanceId", "other", "Agreement", "true")
	// Back to the local instance: slot 1 is free again, data is intact.
	if dev := h.ok("AttachVolume", "VolumeId", id, "InstanceId", "me").text("device"); dev != "SCSI (0:1)" {
		t.Fatalf("device = %s", dev)
	}
	h.ok("DescribeVolumes")
	got := readAt(t, link, len(marker))
	if !bytes.Equal(got, marker) {
		t.Fatalf("data lost across detach/attach: %q", got)
	}
	h.ok("DetachVolume", "VolumeId", id, "InstanceId", "me", "Agreement", "true")
	h.ok("DeleteVolume", "VolumeId", id)
}

func writeAt(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 4096); err != nil {
		_ = f.Close() // the write error is the one worth reporting
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readAt(t *testing.T, path string, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // opened read-only
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, 4096); err != nil {
		t.Fatal(err)
	}
	return buf
}

// With several local instances (one per e2e node), each instance's SCSI
// slots get their own device view: slot 1 of two instances must not
// collide, and a disk moved to another instance moves its link.
func TestLocalDiskPerInstance(t *testing.T) {
	clk := newFakeClock()
	disks := newFakeDisks()
	h := newHarness(t, Options{Now: clk.Now, LocalDisks: disks, LocalInstances: []string{"node1", "node2"}, LocalDiskPerInstance: true})
	seed(t, h.sim, Instance{InstanceID: "node1"}, Instance{InstanceID: "node2"})
	setTransitions(h.sim, map[string]time.Duration{"*": 10 * time.Second})

	a := h.ok("CreateVolume", "Size", "100", "InstanceId", "node1").text("volumeId")
	b := h.ok("CreateVolume", "Size", "100", "InstanceId", "node2").text("volumeId")
	clk.Advance(10 * time.Second)
	h.ok("DescribeVolumes")
	link := "dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:1:0"
	got := strings.Join(disks.take(), "\n")
	for _, want := range []string{
		fmt.Sprintf("attach %s %d node1/%s", a, int64(100)<<30, link),
		fmt.Sprintf("attach %s %d node2/%s", b, int64(100)<<30, link),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("calls %q lack %q", got, want)
		}
	}

	h.ok("DetachVolume", "VolumeId", a, "InstanceId", "node1", "Agreement", "true")
	clk.Advance(10 * time.Second)
	h.ok("DescribeVolumes")
	expectCalls(t, disks, "detach "+a)
	h.ok("AttachVolume", "VolumeId", a, "InstanceId", "node2")
	clk.Advance(10 * time.Second)
	h.ok("DescribeVolumes")
	expectCalls(t, disks, fmt.Sprintf("attach %s %d node2/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:2:0", a, int64(100)<<30))
}
