package nifcloudsanity

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// TestPersistence writes a file through one node, moves the disk to a
// second node of the same zone and reads the file back there: the data
// lives on the (simulated) cloud disk, not on a node.
func TestPersistence(t *testing.T) {
	requireRealMounts(t)
	c := newCloud(t, "node1", "node2")
	ctrl := csi.NewControllerClient(dial(t, c.startDriver(t, "controller", driver.ModeController, "")))
	node1 := csi.NewNodeClient(dial(t, c.startDriver(t, "node1", driver.ModeNode, "node1")))
	node2 := csi.NewNodeClient(dial(t, c.startDriver(t, "node2", driver.ModeNode, "node2")))
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	mountCap := &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "ext4"}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
	vol, err := ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name:               "pvc-persistence",
		CapacityRange:      &csi.CapacityRange{RequiredBytes: 100 * profile.GiB},
		VolumeCapabilities: []*csi.VolumeCapability{mountCap},
		Parameters:         map[string]string{"type": "high-speed-a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := vol.GetVolume().GetVolumeId()
	// Whatever happens below, the disk ends detached and deleted.
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		for _, n := range []struct {
			client csi.NodeClient
			dir    string
		}{{node1, "node1"}, {node2, "node2"}} {
			_, _ = n.client.NodeUnpublishVolume(cctx, &csi.NodeUnpublishVolumeRequest{VolumeId: id, TargetPath: filepath.Join(c.tmp, n.dir, "target")})
			_, _ = n.client.NodeUnstageVolume(cctx, &csi.NodeUnstageVolumeRequest{VolumeId: id, StagingTargetPath: filepath.Join(c.tmp, n.dir, "staging")})
		}
		if _, err := ctrl.ControllerUnpublishVolume(cctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: id}); err != nil {
			t.Errorf("cleanup: ControllerUnpublishVolume: %v", err)
		}
		if _, err := ctrl.DeleteVolume(cctx, &csi.DeleteVolumeRequest{VolumeId: id}); err != nil {
			t.Errorf("cleanup: DeleteVolume: %v", err)
		}
		if n := len(c.sim.Snapshot().Volumes); n != 0 {
			t.Errorf("%d volumes left in the cloud", n)
		}
	})

	data := []byte("kumo persistence check " + id + "\n")
	path := useVolume(ctx, t, ctrl, node1, c, "node1", id, mountCap, func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "hello.txt"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("by-path link %s still present after detaching from node1: %v", path, err)
	}
	useVolume(ctx, t, ctrl, node2, c, "node2", id, mountCap, func(dir string) {
		got, err := os.ReadFile(filepath.Join(dir, "hello.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("read %q on node2, wrote %q on node1", got, data)
		}
	})
	if v := c.sim.Snapshot().Volumes[id]; v == nil || v.Attachment != nil || v.DiskType != "3" {
		t.Fatalf("volume after both nodes: %+v", v)
	}
}

// useVolume attaches the volume to nodeID, stages and publishes it, runs
// fn on the published directory, then unpublishes, unstages and detaches.
// It returns the by-path link the device appeared at.
func useVolume(ctx context.Context, t *testing.T, ctrl csi.ControllerClient, node csi.NodeClient, c *cloud, nodeID, id string, vc *csi.VolumeCapability, fn func(dir string)) string {
	t.Helper()
	pub, err := ctrl.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: nodeID, VolumeCapability: vc})
	if err != nil {
		t.Fatalf("ControllerPublishVolume(%s): %v", nodeID, err)
	}
	link := filepath.Join(c.devRoot, "dev/disk/by-path", "pci-0000:00:10.0-scsi-0:0:"+slot(t, pub.GetPublishContext()["devicePath"])+":0")
	if _, err := os.Stat(link); err != nil {
		t.Fatalf("device of %s on %s: %v", id, nodeID, err)
	}
	staging := filepath.Join(c.tmp, nodeID, "staging")
	target := filepath.Join(c.tmp, nodeID, "target")
	if err := os.MkdirAll(staging, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{
		VolumeId: id, PublishContext: pub.GetPublishContext(), StagingTargetPath: staging, VolumeCapability: vc,
	}); err != nil {
		t.Fatalf("NodeStageVolume on %s: %v", nodeID, err)
	}
	if _, err := node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{
		VolumeId: id, PublishContext: pub.GetPublishContext(), StagingTargetPath: staging, TargetPath: target, VolumeCapability: vc,
	}); err != nil {
		t.Fatalf("NodePublishVolume on %s: %v", nodeID, err)
	}
	fn(target)
	if _, err := node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: id, TargetPath: target}); err != nil {
		t.Fatalf("NodeUnpublishVolume on %s: %v", nodeID, err)
	}
	if _, err := node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: id, StagingTargetPath: staging}); err != nil {
		t.Fatalf("NodeUnstageVolume on %s: %v", nodeID, err)
	}
	if _, err := ctrl.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: id, NodeId: nodeID}); err != nil {
		t.Fatalf("ControllerUnpublishVolume(%s): %v", nodeID, err)
	}
	return link
}

// slot extracts N of "SCSI (0:N)".
func slot(t *testing.T, devicePath string) string {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(devicePath, "SCSI (0:%d)", &n); err != nil {
		t.Fatalf("devicePath %q: %v", devicePath, err)
	}
	return strconv.Itoa(n)
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
