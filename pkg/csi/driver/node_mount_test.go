//go:build linux

package driver

// Node tests against real block devices: loop devices found through the
// real NIFCLOUD and Cinder device finders (pointed at a temporary /dev and
// /sys), formatted and mounted by the real mounter. They need root,
// losetup and mkfs.ext4 and skip otherwise.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/csi/device"
	"github.com/kumo-project/kumo/pkg/csi/internal/loopdev"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

const mib = 1 << 20

func finderOptions(root string) device.Options {
	return device.Options{Root: root, Timeout: 2 * time.Second, Backoff: backoff.Policy{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Factor: 2}}
}

func link(t *testing.T, target, path string) {
	t.Helper()
	mustNoErr(t, os.MkdirAll(filepath.Dir(path), 0o755))
	mustNoErr(t, os.Symlink(target, path))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	mustNoErr(t, os.MkdirAll(filepath.Dir(path), 0o755))
	mustNoErr(t, os.WriteFile(path, []byte(content), 0o644))
}

func fsTypeOfDevice(t *testing.T, dev string) string {
	t.Helper()
	out, _ := exec.Command("blkid", "-p", "-o", "value", "-s", "TYPE", dev).Output()
	return strings.TrimSpace(string(out))
}

func bytesUsage(t *testing.T, r *csi.NodeGetVolumeStatsResponse) *csi.VolumeUsage {
	t.Helper()
	for _, u := range r.GetUsage() {
		if u.GetUnit() == csi.VolumeUsage_BYTES {
			return u
		}
	}
	t.Fatalf("no byte usage in %v", r)
	return nil
}

func TestNodeMountLifecycleNIFCLOUD(t *testing.T) {
	loopdev.Require(t, "mkfs.ext4", "resize2fs", "blkid", "umount")
	dev := loopdev.New(t, 128*mib)
	root := t.TempDir()
	link(t, dev.Path, filepath.Join(root, "dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:2:0"))
	deleteAttr := filepath.Join(root, "sys/block", filepath.Base(dev.Path), "device/delete")
	writeFile(t, deleteAttr, "")
	work := t.TempDir()
	loopdev.UnmountUnder(t, work)

	n := newNode(t, profile.NIFCLOUD{}, device.NewNIFCLOUD(finderOptions(root)), 0)
	ctx := context.Background()
	pc := map[string]string{"devicePath": "SCSI (0:2)"}
	staging := filepath.Join(work, "plugins/staging/vol-1/globalmount")
	target := filepath.Join(work, "pods/uid-1/volumes/vol-1/mount")
	c := mountCap(snw, "", "noatime")
	stageReq := &csi.NodeStageVolumeRequest{VolumeId: "vol-1", PublishContext: pc, StagingTargetPath: staging, VolumeCapability: c}
	publishReq := &csi.NodePublishVolumeRequest{VolumeId: "vol-1", PublishContext: pc, StagingTargetPath: staging, TargetPath: target, VolumeCapability: c}

	// Stage formats the empty disk as ext4 and mounts it; repeating is a no-op.
	for range 2 {
		_, err := n.NodeStageVolume(ctx, stageReq)
		mustNoErr(t, err)
	}
	if fs := fsTypeOfDevice(t, dev.Path); fs != "ext4" {
		t.Fatalf("device file system = %q, want ext4", fs)
	}
	for range 2 {
		_, err := n.NodePublishVolume(ctx, publishReq)
		mustNoErr(t, err)
	}
	writeFile(t, filepath.Join(target, "hello.txt"), "hello from kumo")
	if b, err := os.ReadFile(filepath.Join(staging, "hello.txt")); err != nil || string(b) != "hello from kumo" {
		t.Fatalf("file written to the target is not on the staged volume: %q, %v", b, err)
	}

	stats, err := n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: "vol-1", VolumePath: target})
	mustNoErr(t, err)
	before := bytesUsage(t, stats)
	if before.GetTotal() <= 0 || before.GetUsed() <= 0 || before.GetAvailable() <= 0 || len(stats.GetUsage()) != 2 || stats.GetUsage()[1].GetTotal() <= 0 {
		t.Errorf("stats = %v", stats)
	}
	healthReq := &csi.NodeGetVolumeHealthRequest{VolumeId: "vol-1", VolumePublishPath: target, StagingTargetPath: staging}
	h, err := n.NodeGetVolumeHealth(ctx, healthReq)
	mustNoErr(t, err)
	if len(h.GetVolumeHealth().GetHealthStatuses()) != 0 {
		t.Errorf("healthy volume reported %v", h)
	}

	// Online expansion: grow the disk, then the file system. Online ext4
	// resizing needs CAP_SYS_RESOURCE (XFS is covered by
	// TestNodeStageXFSAndConflicts either way).
	if !hasCapability(t, capSysResource) {
		t.Log("not testing online ext4 growth: this process lacks CAP_SYS_RESOURCE")
	} else {
		dev.Grow(t, 256*mib)
		exp, err := n.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: "vol-1", VolumePath: target, StagingTargetPath: staging,
			CapacityRange: &csi.CapacityRange{RequiredBytes: 256 * mib}, VolumeCapability: c})
		mustNoErr(t, err)
		if exp.GetCapacityBytes() != 256*mib {
			t.Errorf("expanded capacity = %d", exp.GetCapacityBytes())
		}
		stats, err = n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: "vol-1", VolumePath: target})
		mustNoErr(t, err)
		if after := bytesUsage(t, stats); after.GetTotal() < before.GetTotal()+100*mib {
			t.Errorf("file system did not grow: %d -> %d bytes", before.GetTotal(), after.GetTotal())
		}
	}

	// A read-only publication of the same staged volume.
	roTarget := filepath.Join(work, "pods/uid-2/volumes/vol-1/mount")
	_, err = n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "vol-1", StagingTargetPath: staging, TargetPath: roTarget, VolumeCapability: c, Readonly: true})
	mustNoErr(t, err)
	if err := os.WriteFile(filepath.Join(roTarget, "x"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("write to a read-only publication: %v, want EROFS", err)
	}
	if _, err := os.Stat(filepath.Join(roTarget, "hello.txt")); err != nil {
		t.Errorf("read-only publication does not show the data: %v", err)
	}
	// SINGLE_NODE_SINGLE_WRITER refuses a volume already published elsewhere.
	_, err = n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "vol-1", StagingTargetPath: staging,
		TargetPath: filepath.Join(work, "pods/uid-3/mount"), VolumeCapability: mountCap(csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER, "")})
	wantCode(t, err, codes.FailedPrecondition, "already published")
	_, err = n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-1", TargetPath: roTarget})
	mustNoErr(t, err)

	// Unmounted behind the driver's back: stats fail, health says why.
	if out, err := exec.Command("umount", target).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v: %s", err, out)
	}
	_, err = n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: "vol-1", VolumePath: target})
	wantCode(t, err, codes.NotFound, "not mounted")
	h, err = n.NodeGetVolumeHealth(ctx, healthReq)
	mustNoErr(t, err)
	if e := h.GetVolumeHealth().GetHealthStatuses(); len(e) != 1 || e[0].GetStatus() != csi.VolumeHealthErrorType_INACCESSIBLE || e[0].GetReason() != "NotMounted" ||
		!strings.Contains(e[0].GetMessage(), target) {
		t.Errorf("health after a lost mount = %v", h)
	}

	for range 2 {
		_, err = n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-1", TargetPath: target})
		mustNoErr(t, err)
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("target not removed: %v", err)
	}
	for range 2 {
		_, err = n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: "vol-1", StagingTargetPath: staging})
		mustNoErr(t, err)
	}
	if _, err := os.Stat(staging); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging path not removed: %v", err)
	}
	if b, _ := os.ReadFile(deleteAttr); string(b) != "1" {
		t.Errorf("SCSI device not released on unstage (delete = %q)", b)
	}

	// Staging again mounts the existing file system: no reformat, data kept.
	_, err = n.NodeStageVolume(ctx, stageReq)
	mustNoErr(t, err)
	if b, err := os.ReadFile(filepath.Join(staging, "hello.txt")); err != nil || string(b) != "hello from kumo" {
		t.Errorf("data lost across restage: %q, %v", b, err)
	}
	_, err = n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: "vol-1", StagingTargetPath: staging})
	mustNoErr(t, err)
}

func TestNodeBlockLifecycleCinder(t *testing.T) {
	loopdev.Require(t, "blkid", "umount")
	const volID = "5f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	dev := loopdev.New(t, 64*mib)
	root := t.TempDir()
	link(t, dev.Path, filepath.Join(root, "dev/disk/by-id/virtio-"+volID[:20]))
	writeFile(t, filepath.Join(root, "sys/block", filepath.Base(dev.Path), "serial"), volID[:20])
	work := t.TempDir()
	loopdev.UnmountUnder(t, work)

	n := newNode(t, profile.Cinder{}, device.NewCinder(finderOptions(root)), 0)
	ctx := context.Background()
	c := blockCap(snw)
	staging := filepath.Join(work, "staging", volID)
	target := filepath.Join(work, "pods/uid-1/volumeDevices/pvc/dev")
	_, err := n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: volID, StagingTargetPath: staging, VolumeCapability: c})
	mustNoErr(t, err)
	publish := &csi.NodePublishVolumeRequest{VolumeId: volID, StagingTargetPath: staging, TargetPath: target, VolumeCapability: c}
	for range 2 {
		_, err = n.NodePublishVolume(ctx, publish)
		mustNoErr(t, err)
	}

	// Data written through the published file lands on the device.
	f, err := os.OpenFile(target, os.O_WRONLY, 0)
	mustNoErr(t, err)
	_, err = f.WriteAt([]byte("kumo-block"), 4096)
	mustNoErr(t, err)
	mustNoErr(t, f.Sync())
	mustNoErr(t, f.Close())
	raw, err := os.Open(dev.Path)
	mustNoErr(t, err)
	buf := make([]byte, 10)
	_, err = raw.ReadAt(buf, 4096)
	_ = raw.Close()
	mustNoErr(t, err)
	if !bytes.Equal(buf, []byte("kumo-block")) {
		t.Errorf("device holds %q", buf)
	}

	stats, err := n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: volID, VolumePath: target})
	mustNoErr(t, err)
	if u := bytesUsage(t, stats); u.GetTotal() != 64*mib {
		t.Errorf("block stats = %v", stats)
	}
	h, err := n.NodeGetVolumeHealth(ctx, &csi.NodeGetVolumeHealthRequest{VolumeId: volID, VolumePublishPath: target, StagingTargetPath: staging})
	mustNoErr(t, err)
	if len(h.GetVolumeHealth().GetHealthStatuses()) != 0 {
		t.Errorf("healthy block volume reported %v", h)
	}

	dev.Grow(t, 96*mib)
	exp, err := n.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: volID, VolumePath: target, VolumeCapability: c})
	mustNoErr(t, err)
	if exp.GetCapacityBytes() != 96*mib {
		t.Errorf("block expand = %d", exp.GetCapacityBytes())
	}

	for range 2 {
		_, err = n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: volID, TargetPath: target})
		mustNoErr(t, err)
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("block target not removed: %v", err)
	}
	_, err = n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: volID, StagingTargetPath: staging})
	mustNoErr(t, err)
	if fs := fsTypeOfDevice(t, dev.Path); fs != "" {
		t.Errorf("block volume was formatted (%s)", fs)
	}

	// A by-id link whose disk carries another volume's serial is refused.
	writeFile(t, filepath.Join(root, "sys/block", filepath.Base(dev.Path), "serial"), "ffffffff-ffff-ffff-f")
	_, err = n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: volID, StagingTargetPath: staging, VolumeCapability: c})
	wantCode(t, err, codes.FailedPrecondition, "serial")
}

func TestNodeStageXFSAndConflicts(t *testing.T) {
	loopdev.Require(t, "mkfs.ext4", "mkfs.xfs", "xfs_growfs", "blkid", "umount")
	const volA, volB = "aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"
	devA := loopdev.New(t, 320*mib) // mkfs.xfs wants at least 300 MB
	devB := loopdev.New(t, 64*mib)
	root := t.TempDir()
	link(t, devA.Path, filepath.Join(root, "dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_"+volA))
	link(t, devB.Path, filepath.Join(root, "dev/disk/by-id/wwn-0x"+strings.ReplaceAll(volB, "-", "")))
	work := t.TempDir()
	loopdev.UnmountUnder(t, work)
	n := newNode(t, profile.Cinder{}, device.NewCinder(finderOptions(root)), 0)
	ctx := context.Background()
	staging := filepath.Join(work, "staging")

	_, err := n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: volA, StagingTargetPath: staging, VolumeCapability: mountCap(snw, "xfs")})
	if err != nil && strings.Contains(err.Error(), "unknown filesystem type") {
		t.Skipf("kernel without XFS: %v", err)
	}
	mustNoErr(t, err)
	if fs := fsTypeOfDevice(t, devA.Path); fs != "xfs" {
		t.Fatalf("file system = %q, want xfs", fs)
	}
	if opts := mountOptionsAt(t, staging); !slices.Contains(opts, "nouuid") {
		t.Errorf("mount options = %v", opts)
	}
	// Another volume cannot be staged onto a busy staging path.
	_, err = n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: volB, StagingTargetPath: staging, VolumeCapability: mountCap(snw, "ext4")})
	wantCode(t, err, codes.AlreadyExists, devA.Path)

	stats, err := n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: volA, VolumePath: staging})
	mustNoErr(t, err)
	before := bytesUsage(t, stats).GetTotal()
	devA.Grow(t, 400*mib)
	exp, err := n.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: volA, VolumePath: staging})
	mustNoErr(t, err)
	if exp.GetCapacityBytes() != 400*mib {
		t.Errorf("xfs expand = %d", exp.GetCapacityBytes())
	}
	stats, err = n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: volA, VolumePath: staging})
	mustNoErr(t, err)
	if after := bytesUsage(t, stats).GetTotal(); after < before+60*mib {
		t.Errorf("xfs did not grow online: %d -> %d bytes", before, after)
	}
	_, err = n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: volA, StagingTargetPath: staging})
	mustNoErr(t, err)
}

// mountOptionsAt returns the options of the mount at path (from
// /proc/self/mounts).
func mountOptionsAt(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mounts")
	mustNoErr(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[1] == path {
			return strings.Split(f[3], ",")
		}
	}
	return nil
}

// capSysResource is CAP_SYS_RESOURCE, which online ext4 resizing needs.
const capSysResource = 24

// hasCapability reports whether the process has an effective capability.
func hasCapability(t *testing.T, bit uint) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	mustNoErr(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			mustNoErr(t, err)
			return caps&(1<<bit) != 0
		}
	}
	return false
}
