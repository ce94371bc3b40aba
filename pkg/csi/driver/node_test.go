//go:build linux

package driver

import (
	"context"
	"slices"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/mounter"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

func newNode(t *testing.T, p backend.Profile, finder backend.DeviceFinder, maxVolumes int64) csi.NodeServer {
	t.Helper()
	return newTestDriver(t, Options{
		Mode: ModeNode, Profile: p, Finder: finder, Mounter: mounter.New(),
		Identity:          backend.StaticIdentity{ID: "i-node1", ZoneName: "east-11"},
		MaxVolumesPerNode: maxVolumes,
	}).Node()
}

func TestNodeGetInfoAndCapabilities(t *testing.T) {
	ctx := context.Background()
	n := newNode(t, profile.NIFCLOUD{}, fakeFinder{}, 0)
	info, err := n.NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	mustNoErr(t, err)
	if info.GetNodeId() != "i-node1" || info.GetMaxVolumesPerNode() != 14 ||
		info.GetAccessibleTopology().GetSegments()[(profile.NIFCLOUD{}).TopologyKey()] != "east-11" {
		t.Errorf("NodeGetInfo = %v", info)
	}
	if info, _ := newNode(t, profile.Cinder{}, fakeFinder{}, 40).NodeGetInfo(ctx, &csi.NodeGetInfoRequest{}); info.GetMaxVolumesPerNode() != 40 {
		t.Errorf("override ignored: %v", info)
	}

	caps, err := n.NodeGetCapabilities(ctx, &csi.NodeGetCapabilitiesRequest{})
	mustNoErr(t, err)
	var got []csi.NodeServiceCapability_RPC_Type
	for _, c := range caps.GetCapabilities() {
		got = append(got, c.GetRpc().GetType())
	}
	slices.Sort(got)
	want := []csi.NodeServiceCapability_RPC_Type{
		csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME,
		csi.NodeServiceCapability_RPC_GET_VOLUME_STATS,
		csi.NodeServiceCapability_RPC_EXPAND_VOLUME,
		csi.NodeServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER,
		csi.NodeServiceCapability_RPC_GET_VOLUME_HEALTH,
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("node capabilities = %v, want %v", got, want)
	}
}

func TestNodeValidation(t *testing.T) {
	ctx := context.Background()
	n := newNode(t, profile.NIFCLOUD{}, fakeFinder{}, 0)
	dir := t.TempDir()
	c := rwo()[0]

	_, err := n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{StagingTargetPath: dir, VolumeCapability: c})
	wantCode(t, err, codes.InvalidArgument, "volume_id")
	_, err = n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: "v", VolumeCapability: c})
	wantCode(t, err, codes.InvalidArgument, "staging_target_path")
	_, err = n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: "v", StagingTargetPath: dir})
	wantCode(t, err, codes.InvalidArgument, "capability")
	_, err = n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: "v", StagingTargetPath: dir, VolumeCapability: mountCap(snw, "btrfs")})
	wantCode(t, err, codes.InvalidArgument, "btrfs")
	// The finder has no device for the volume.
	_, err = n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: "v", StagingTargetPath: dir, VolumeCapability: c})
	wantCode(t, err, codes.NotFound)

	_, err = n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{StagingTargetPath: dir})
	wantCode(t, err, codes.InvalidArgument, "volume_id")
	_, err = n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: "v"})
	wantCode(t, err, codes.InvalidArgument, "staging_target_path")

	_, err = n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{TargetPath: dir + "/t", StagingTargetPath: dir, VolumeCapability: c})
	wantCode(t, err, codes.InvalidArgument, "volume_id")
	_, err = n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "v", StagingTargetPath: dir, VolumeCapability: c})
	wantCode(t, err, codes.InvalidArgument, "target_path")
	_, err = n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "v", TargetPath: dir + "/t", StagingTargetPath: dir})
	wantCode(t, err, codes.InvalidArgument, "capability")
	_, err = n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "v", TargetPath: dir + "/t", VolumeCapability: c})
	wantCode(t, err, codes.InvalidArgument, "staging_target_path")
	// Not staged: the staging path has nothing mounted.
	_, err = n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "v", TargetPath: dir + "/t", StagingTargetPath: dir, VolumeCapability: c})
	wantCode(t, err, codes.FailedPrecondition, "not staged")

	_, err = n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{TargetPath: dir})
	wantCode(t, err, codes.InvalidArgument, "volume_id")
	_, err = n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "v"})
	wantCode(t, err, codes.InvalidArgument, "target_path")
	// Unpublishing a target that does not exist succeeds.
	_, err = n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "v", TargetPath: dir + "/never"})
	mustNoErr(t, err)

	_, err = n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumePath: dir})
	wantCode(t, err, codes.InvalidArgument, "volume_id")
	_, err = n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: "v"})
	wantCode(t, err, codes.InvalidArgument, "volume_path")
	_, err = n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: "v", VolumePath: "some/path"})
	wantCode(t, err, codes.NotFound)
	_, err = n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: "v", VolumePath: dir})
	wantCode(t, err, codes.NotFound, "not mounted")

	_, err = n.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumePath: dir})
	wantCode(t, err, codes.InvalidArgument, "volume_id")
	_, err = n.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: "v"})
	wantCode(t, err, codes.InvalidArgument, "volume_path")
	_, err = n.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: "v", VolumePath: "some/path"})
	wantCode(t, err, codes.NotFound)
	_, err = n.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: "v", VolumePath: dir})
	wantCode(t, err, codes.NotFound, "no volume is mounted")

	_, err = n.NodeGetVolumeHealth(ctx, &csi.NodeGetVolumeHealthRequest{})
	wantCode(t, err, codes.InvalidArgument, "volume_id")
	h, err := n.NodeGetVolumeHealth(ctx, &csi.NodeGetVolumeHealthRequest{VolumeId: "v"})
	mustNoErr(t, err)
	if h.GetVolumeHealth().GetVolumeId() != "v" || len(h.GetVolumeHealth().GetHealthStatuses()) != 0 {
		t.Errorf("health without paths = %v", h)
	}
	h, err = n.NodeGetVolumeHealth(ctx, &csi.NodeGetVolumeHealthRequest{VolumeId: "v", VolumePublishPath: dir + "/gone", StagingTargetPath: dir})
	mustNoErr(t, err)
	if reasons := healthReasons(h); !slices.Equal(reasons, []string{"PathMissing", "NotMounted"}) {
		t.Errorf("health reasons = %v", reasons)
	}
}

func healthReasons(h *csi.NodeGetVolumeHealthResponse) []string {
	var out []string
	for _, e := range h.GetVolumeHealth().GetHealthStatuses() {
		out = append(out, e.GetReason())
	}
	return out
}
