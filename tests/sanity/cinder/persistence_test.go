package cinder

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
)

// csiClients connects to a driver endpoint.
func csiClients(t *testing.T, endpoint string) (csi.ControllerClient, csi.NodeClient) {
	t.Helper()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return csi.NewControllerClient(conn), csi.NewNodeClient(conn)
}

var ext4Writer = &csi.VolumeCapability{
	AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "ext4"}},
	AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
}

// TestDataSurvivesMoveBetweenNodes writes a file through one node, moves
// the volume to a second server in the same zone and reads it back there:
// the second NodeStage must mount the existing file system, not format it.
func TestDataSurvivesMoveBetweenNodes(t *testing.T) {
	requireRealMounts(t)
	c := newCloud(t)
	nodeA := c.addServer(t, "node-a", "10.0.0.21")
	nodeB := c.addServer(t, "node-b", "10.0.0.22")
	c.sim.SetLocalServers(nodeA, nodeB)
	b := c.newBackend(t, 0)
	ctrl, nodeSvcA := csiClients(t, c.startDriver(t, b, nodeA, 0))
	_, nodeSvcB := csiClients(t, c.startDriver(t, b, nodeB, 0))
	work := t.TempDir()
	unmountUnder(t, work)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	vol, err := ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "persist", VolumeCapabilities: []*csi.VolumeCapability{ext4Writer},
		CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 30}})
	if err != nil {
		t.Fatal(err)
	}
	id := vol.GetVolume().GetVolumeId()
	t.Cleanup(func() {
		// Best effort on failure: detach from both nodes and delete.
		cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer ccancel()
		for _, n := range []string{nodeA, nodeB} {
			_, _ = ctrl.ControllerUnpublishVolume(cctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: id, NodeId: n})
		}
		_, _ = ctrl.DeleteVolume(cctx, &csi.DeleteVolumeRequest{VolumeId: id})
	})

	stage := func(node csi.NodeClient, nodeID, staging string) {
		t.Helper()
		pub, err := ctrl.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: nodeID, VolumeCapability: ext4Writer})
		if err != nil {
			t.Fatalf("publish to %s: %v", nodeID, err)
		}
		if _, err := node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: id, StagingTargetPath: staging,
			VolumeCapability: ext4Writer, PublishContext: pub.GetPublishContext()}); err != nil {
			t.Fatalf("stage on %s: %v", nodeID, err)
		}
	}
	unstage := func(node csi.NodeClient, nodeID, staging string) {
		t.Helper()
		if _, err := node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: id, StagingTargetPath: staging}); err != nil {
			t.Fatalf("unstage on %s: %v", nodeID, err)
		}
		if _, err := ctrl.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: id, NodeId: nodeID}); err != nil {
			t.Fatalf("unpublish from %s: %v", nodeID, err)
		}
	}

	stagingA, targetA := filepath.Join(work, "a", "staging"), filepath.Join(work, "a", "target")
	stage(nodeSvcA, nodeA, stagingA)
	if _, err := nodeSvcA.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: id, StagingTargetPath: stagingA,
		TargetPath: targetA, VolumeCapability: ext4Writer}); err != nil {
		t.Fatal(err)
	}
	const content = "written on node A\n"
	if err := os.WriteFile(filepath.Join(targetA, "hello.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := nodeSvcA.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: id, TargetPath: targetA}); err != nil {
		t.Fatal(err)
	}
	unstage(nodeSvcA, nodeA, stagingA)
	link := filepath.Join(c.devRoot, openstacksim.VirtioLink(id))
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Fatalf("device link %s survives the detach (%v)", link, err)
	}

	stagingB := filepath.Join(work, "b", "staging")
	stage(nodeSvcB, nodeB, stagingB)
	got, err := os.ReadFile(filepath.Join(stagingB, "hello.txt"))
	if err != nil || string(got) != content {
		t.Fatalf("on node B: %q, %v; want %q", got, err, content)
	}
	unstage(nodeSvcB, nodeB, stagingB)
	if _, err := ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id}); err != nil {
		t.Fatal(err)
	}
	if n := len(c.sim.Snapshot().Volumes); n != 0 {
		t.Errorf("%d volumes left in the cloud", n)
	}
	if m := mountsUnder(t, work); len(m) != 0 {
		t.Errorf("mounts left: %v", m)
	}
	t.Logf("cloud calls: %v", c.controls.Counts())
}
