package openstacksim

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"

	"github.com/kumo-project/kumo/pkg/cloudsim/localdisk"
)

// fakeDisks records Manager calls.
type fakeDisks struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeDisks) log(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, a...))
}

func (f *fakeDisks) Attach(id string, size int64, links []string) (string, error) {
	f.log("attach %s %d %s", id, size, strings.Join(links, ","))
	return "/dev/loop7", nil
}
func (f *fakeDisks) Detach(id string) error             { f.log("detach %s", id); return nil }
func (f *fakeDisks) Resize(id string, size int64) error { f.log("resize %s %d", id, size); return nil }
func (f *fakeDisks) Delete(id string) error             { f.log("delete %s", id); return nil }
func (f *fakeDisks) Root() string                       { return "/nonexistent" }

func (f *fakeDisks) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

func TestLocalDiskCalls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	disks := &fakeDisks{}
	e := newEnv(t, Options{LocalDisks: disks, StatePath: path})
	local := e.addNode(t, "local", "10.0.0.90")
	remote := e.addNode(t, "remote", "10.0.0.91")
	e.sim.SetLocalServers(local.ID)
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1}, nil).Extract()).must(t)
	r := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1}, nil).Extract()).must(t)
	ok(volumeattach.Create(ctx(), e.compute, local.ID, volumeattach.CreateOpts{VolumeID: v.ID}).Extract()).must(t)
	ok(volumeattach.Create(ctx(), e.compute, remote.ID, volumeattach.CreateOpts{VolumeID: r.ID}).Extract()).must(t)
	e.sim.Snapshot() // completes the attach transitions
	want := fmt.Sprintf("attach %s %d dev/disk/by-id/virtio-%s", v.ID, 1<<30, v.ID[:20])
	if got := disks.take(); len(got) != 1 || got[0] != want {
		t.Fatalf("calls %q, want [%q]", got, want)
	}
	if dev := e.sim.Snapshot().Volumes[v.ID].LocalDevice; dev != "/dev/loop7" {
		t.Fatalf("local device %q", dev)
	}
	// restart: devices are re-created from the persisted attachments
	disks2 := &fakeDisks{}
	sim2, err := New(Options{LocalDisks: disks2, StatePath: path, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if got := disks2.take(); len(got) != 1 || got[0] != want {
		t.Fatalf("re-attach on load: %q", got)
	}
	_ = sim2
	e.block.Microversion = "3.42"
	if err := volumes.ExtendSize(ctx(), e.block, v.ID, volumes.ExtendSizeOpts{NewSize: 2}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := volumeattach.Delete(ctx(), e.compute, local.ID, v.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	e.sim.Snapshot()
	if err := volumes.Delete(ctx(), e.block, v.ID, nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	e.sim.Snapshot()
	got := disks.take()
	wantCalls := []string{fmt.Sprintf("resize %s %d", v.ID, 2<<30), "detach " + v.ID, "delete " + v.ID}
	if strings.Join(got, "|") != strings.Join(wantCalls, "|") {
		t.Fatalf("calls %q, want %q", got, wantCalls)
	}
	// making the remote server local attaches its volume
	e.sim.SetLocalServers(local.ID, remote.ID)
	if got := disks.take(); len(got) != 1 || !strings.HasPrefix(got[0], "attach "+r.ID) {
		t.Fatalf("SetLocalServers calls %q", got)
	}
}

func TestLocalDiskLoopDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for losetup")
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("losetup not installed")
	}
	if out, err := exec.Command("losetup", "--find").CombinedOutput(); err != nil {
		t.Skipf("no free loop device: %v %s", err, out)
	}
	root, data := t.TempDir(), t.TempDir()
	m, err := localdisk.NewLoopManager(root, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.DetachAll)
	e := newEnv(t, Options{LocalDisks: m})
	n := e.addNode(t, "me", "10.0.0.99")
	e.sim.SetLocalServers(n.ID)
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1}, nil).Extract()).must(t)
	ok(volumeattach.Create(ctx(), e.compute, n.ID, volumeattach.CreateOpts{VolumeID: v.ID}).Extract()).must(t)
	e.clock.Advance(time.Second)
	if st := e.sim.Snapshot().Volumes[v.ID]; st.LocalError != "" {
		t.Skipf("loop device unavailable here: %s", st.LocalError)
	}
	link := filepath.Join(root, "dev/disk/by-id/virtio-"+v.ID[:20])
	target, err := os.Readlink(link)
	if err != nil || !strings.HasPrefix(target, "/dev/loop") {
		t.Fatalf("by-id link %s → %q (%v)", link, target, err)
	}
	if err := volumeattach.Delete(ctx(), e.compute, n.ID, v.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	e.sim.Snapshot()
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Fatalf("link survives detach: %v", err)
	}
}

// One device view per local server (several e2e nodes on one machine).
func TestLocalDiskPerServer(t *testing.T) {
	disks := &fakeDisks{}
	e := newEnv(t, Options{LocalDisks: disks, LocalDiskPerServer: true})
	n1 := e.addNode(t, "node1", "10.0.0.90")
	n2 := e.addNode(t, "node2", "10.0.0.91")
	e.sim.SetLocalServers(n1.ID, n2.ID)
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1}, nil).Extract()).must(t)
	ok(volumeattach.Create(ctx(), e.compute, n2.ID, volumeattach.CreateOpts{VolumeID: v.ID}).Extract()).must(t)
	e.sim.Snapshot()
	want := fmt.Sprintf("attach %s %d %s/dev/disk/by-id/virtio-%s", v.ID, 1<<30, n2.ID, v.ID[:20])
	if got := strings.Join(disks.take(), "\n"); !strings.Contains(got, want) {
		t.Fatalf("calls %q lack %q", got, want)
	}
}
