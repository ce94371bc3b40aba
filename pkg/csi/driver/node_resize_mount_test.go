//go:build linux

package driver

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/device"
	"github.com/kumo-project/kumo/pkg/csi/internal/loopdev"
	"github.com/kumo-project/kumo/pkg/csi/mounter"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// With rescan-on-resize the node rescans a loop device whose backing file
// grew without "losetup -c" (as a SCSI disk grown by the cloud stays at
// its old size until rescanned), then grows the XFS file system on it.
func TestNodeExpandRescanOnResizeLoop(t *testing.T) {
	loopdev.Require(t, "mkfs.xfs", "xfs_growfs", "blkid", "umount")
	const volID = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
	dev := loopdev.New(t, 320*mib) // XFS needs 300 MiB
	root := t.TempDir()
	link(t, dev.Path, filepath.Join(root, "dev/disk/by-id/virtio-"+volID[:20]))
	work := t.TempDir()
	loopdev.UnmountUnder(t, work)

	d := newTestDriver(t, Options{Mode: ModeNode, Profile: profile.Cinder{}, Finder: device.NewCinder(finderOptions(root)),
		Mounter: mounter.New(), Identity: backend.StaticIdentity{ID: "i-node1"}, RescanOnResize: true})
	d.rescanWait = 300 * time.Millisecond
	n := d.Node()
	ctx := context.Background()
	staging := filepath.Join(work, "staging", volID)
	_, err := n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: volID, StagingTargetPath: staging, VolumeCapability: mountCap(snw, "xfs")})
	mustNoErr(t, err)
	statsReq := &csi.NodeGetVolumeStatsRequest{VolumeId: volID, VolumePath: staging}
	stats, err := n.NodeGetVolumeStats(ctx, statsReq)
	mustNoErr(t, err)
	before := bytesUsage(t, stats).GetTotal()

	mustNoErr(t, os.Truncate(dev.File, 400*mib))
	expand := &csi.NodeExpandVolumeRequest{VolumeId: volID, VolumePath: staging, CapacityRange: &csi.CapacityRange{RequiredBytes: 400 * mib}}
	exp, err := n.NodeExpandVolume(ctx, expand)
	mustNoErr(t, err)
	if exp.GetCapacityBytes() != 400*mib {
		t.Errorf("expanded capacity = %d, want 400 MiB", exp.GetCapacityBytes())
	}
	stats, err = n.NodeGetVolumeStats(ctx, statsReq)
	mustNoErr(t, err)
	if after := bytesUsage(t, stats).GetTotal(); after < before+60*mib {
		t.Errorf("file system did not grow: %d -> %d bytes", before, after)
	}

	// The cloud did not grow the disk: the rescan cannot help.
	expand.CapacityRange.RequiredBytes = 512 * mib
	_, err = n.NodeExpandVolume(ctx, expand)
	wantCode(t, err, codes.Internal, "after a rescan, smaller than the requested 536870912", "rescan-on-resize")

	_, err = n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: volID, StagingTargetPath: staging})
	mustNoErr(t, err)
}
