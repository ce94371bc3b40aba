package driver

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

const resizeVolID = "0c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e4f5"

// growingDisk is a device finder and mounter whose device has a size the
// test sets and that a rescan applies (the cloud grew the disk, the
// kernel sees it only after the rescan).
type growingDisk struct {
	*fakeMounter
	mu        sync.Mutex
	size      int64 // what the kernel reports
	cloudSize int64 // what a rescan makes it report
	rescans   int
	rescanErr error
}

func (g *growingDisk) FindDevice(context.Context, string, map[string]string) (string, error) {
	return "/dev/vdq", nil
}

func (g *growingDisk) RescanDevice(_ context.Context, dev string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rescans++
	if dev != "/dev/vdq" {
		return errors.New("rescan of the wrong device " + dev)
	}
	if g.rescanErr != nil {
		return g.rescanErr
	}
	g.size = g.cloudSize
	return nil
}

func (g *growingDisk) GetBlockSizeBytes(string) (int64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.size, nil
}

func (g *growingDisk) set(size, cloudSize int64, rescanErr error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.size, g.cloudSize, g.rescanErr, g.rescans = size, cloudSize, rescanErr, 0
}

func (g *growingDisk) rescanCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rescans
}

// stagedResizeNode stages resizeVolID on a growingDisk and returns the
// node, the disk and an expand request for want bytes.
func stagedResizeNode(t *testing.T, rescanOnResize bool) (*Driver, *growingDisk, func(want int64) (*csi.NodeExpandVolumeResponse, error)) {
	t.Helper()
	g := &growingDisk{fakeMounter: newFakeMounter(), size: 1 << 30, cloudSize: 1 << 30}
	d := newTestDriver(t, Options{Mode: ModeNode, Profile: profile.Cinder{}, Finder: g, Mounter: g,
		Identity: backend.StaticIdentity{ID: "i-node1"}, RescanOnResize: rescanOnResize})
	d.rescanWait = 300 * time.Millisecond
	staging := filepath.Join(t.TempDir(), "staging")
	ctx := context.Background()
	_, err := d.Node().NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: resizeVolID, StagingTargetPath: staging, VolumeCapability: mountCap(snw, "ext4")})
	mustNoErr(t, err)
	expand := func(want int64) (*csi.NodeExpandVolumeResponse, error) {
		return d.Node().NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: resizeVolID, VolumePath: staging,
			CapacityRange: &csi.CapacityRange{RequiredBytes: want}})
	}
	return d, g, expand
}

func TestNodeExpandRescanOnResize(t *testing.T) {
	_, g, expand := stagedResizeNode(t, true)

	// Grown in the cloud, not yet seen: one rescan, then the new size.
	g.set(1<<30, 2<<30, nil)
	exp, err := expand(2 << 30)
	mustNoErr(t, err)
	if exp.GetCapacityBytes() != 2<<30 || g.rescanCount() != 1 {
		t.Errorf("capacity %d after %d rescans, want 2 GiB after 1", exp.GetCapacityBytes(), g.rescanCount())
	}

	// Already big enough: no rescan (as cinder-csi).
	g.set(2<<30, 2<<30, nil)
	_, err = expand(2 << 30)
	mustNoErr(t, err)
	if g.rescanCount() != 0 {
		t.Errorf("%d rescans of a device already big enough", g.rescanCount())
	}

	// No size requested: rescan and take what the kernel then reports.
	g.set(1<<30, 3<<30, nil)
	exp, err = expand(0)
	mustNoErr(t, err)
	if exp.GetCapacityBytes() != 3<<30 || g.rescanCount() != 1 {
		t.Errorf("capacity %d after %d rescans, want 3 GiB after 1", exp.GetCapacityBytes(), g.rescanCount())
	}

	// A failed rescan fails the call.
	g.set(1<<30, 2<<30, errors.New("write /sys/block/vdq/device/rescan: permission denied"))
	_, err = expand(2 << 30)
	wantCode(t, err, codes.Internal, "rescanning /dev/vdq", "rescan-on-resize", "permission denied")

	// The kernel never sees the new size: a clear error after the wait.
	g.set(1<<30, 1<<30, nil)
	start := time.Now()
	_, err = expand(2 << 30)
	wantCode(t, err, codes.Internal, "/dev/vdq is 1073741824 bytes after a rescan, smaller than the requested 2147483648", "rescan-on-resize")
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("gave up after %s, want the rescan wait", waited)
	}
}

// Without rescan-on-resize a failed rescan is only logged and the size
// the kernel knows is checked once.
func TestNodeExpandDefaultRescan(t *testing.T) {
	_, g, expand := stagedResizeNode(t, false)
	g.set(1<<30, 2<<30, errors.New("no rescan today"))
	start := time.Now()
	_, err := expand(2 << 30)
	wantCode(t, err, codes.Internal, "smaller than the requested", "has not seen the expansion")
	if time.Since(start) > 200*time.Millisecond || g.rescanCount() != 1 {
		t.Errorf("default mode waited %s / rescanned %d times", time.Since(start), g.rescanCount())
	}
	g.set(1<<30, 2<<30, nil)
	exp, err := expand(2 << 30)
	mustNoErr(t, err)
	if exp.GetCapacityBytes() != 2<<30 {
		t.Errorf("capacity %d", exp.GetCapacityBytes())
	}
}

// rescan-on-resize needs a finder that can rescan.
func TestRescanOnResizeNeedsRescanner(t *testing.T) {
	_, err := New(Options{Mode: ModeNode, Profile: profile.Cinder{}, Endpoint: "unix:///tmp/x.sock", Finder: fakeFinder{device: "/dev/vdq"},
		Mounter: newFakeMounter(), Identity: backend.StaticIdentity{ID: "i"}, RescanOnResize: true, KubeletRootDir: t.TempDir(), StateDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "rescan on resize needs a device finder") {
		t.Errorf("New = %v", err)
	}
}
