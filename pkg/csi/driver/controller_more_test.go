package driver

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

func createN(t *testing.T, c csi.ControllerServer, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		v, err := c.CreateVolume(context.Background(), &csi.CreateVolumeRequest{Name: fmt.Sprintf("pvc-%d", i), VolumeCapabilities: rwo()})
		mustNoErr(t, err)
		ids = append(ids, v.GetVolume().GetVolumeId())
	}
	return ids
}

func TestPublishUnpublish(t *testing.T) {
	cloud := newFakeCloud("i-1", "i-2")
	c := newController(t, profile.NIFCLOUD{}, cloud)
	ctx := context.Background()
	id := createN(t, c, 1)[0]
	capability := rwo()[0]

	for name, req := range map[string]*csi.ControllerPublishVolumeRequest{
		"volume_id":         {NodeId: "i-1", VolumeCapability: capability},
		"node_id":           {VolumeId: id, VolumeCapability: capability},
		"volume capability": {VolumeId: id, NodeId: "i-1"},
	} {
		_, err := c.ControllerPublishVolume(ctx, req)
		wantCode(t, err, codes.InvalidArgument, name)
	}
	_, err := c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: "vol-x", NodeId: "i-1", VolumeCapability: capability})
	wantCode(t, err, codes.NotFound, "vol-x")
	_, err = c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: "i-404", VolumeCapability: capability})
	wantCode(t, err, codes.NotFound, "i-404")
	_, err = c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: "i-1", VolumeCapability: capability, Readonly: true})
	wantCode(t, err, codes.InvalidArgument, "readonly")

	resp, err := c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: "i-1", VolumeCapability: capability})
	mustNoErr(t, err)
	if resp.GetPublishContext()[backend.PublishContextDevicePath] != "SCSI (0:1)" {
		t.Errorf("publish context = %v", resp.GetPublishContext())
	}
	again, err := c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: "i-1", VolumeCapability: capability})
	mustNoErr(t, err)
	if again.GetPublishContext()[backend.PublishContextDevicePath] != "SCSI (0:1)" {
		t.Errorf("repeated publish context = %v", again.GetPublishContext())
	}
	_, err = c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: "i-2", VolumeCapability: capability})
	wantCode(t, err, codes.FailedPrecondition, "i-1")

	got, err := c.ControllerGetVolume(ctx, &csi.ControllerGetVolumeRequest{VolumeId: id})
	mustNoErr(t, err)
	if !slices.Equal(got.GetStatus().GetPublishedNodeIds(), []string{"i-1"}) {
		t.Errorf("published nodes = %v", got.GetStatus().GetPublishedNodeIds())
	}

	_, err = c.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{NodeId: "i-1"})
	wantCode(t, err, codes.InvalidArgument, "volume_id")
	for range 2 {
		_, err = c.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: id, NodeId: "i-1"})
		mustNoErr(t, err)
	}
	_, err = c.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: "vol-gone", NodeId: "i-1"})
	mustNoErr(t, err)

	// Without a node ID the volume is detached everywhere.
	_, err = c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: "i-2", VolumeCapability: capability})
	mustNoErr(t, err)
	_, err = c.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: id})
	mustNoErr(t, err)
	if d, _ := cloud.GetDisk(ctx, id); len(d.AttachedNodes) != 0 {
		t.Errorf("still attached to %v", d.AttachedNodes)
	}
}

func TestValidateVolumeCapabilities(t *testing.T) {
	c := newController(t, profile.NIFCLOUD{}, newFakeCloud())
	ctx := context.Background()
	id := createN(t, c, 1)[0]
	_, err := c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeCapabilities: rwo()})
	wantCode(t, err, codes.InvalidArgument, "volume_id")
	_, err = c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: id})
	wantCode(t, err, codes.InvalidArgument, "capabilities")
	_, err = c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: "vol-x", VolumeCapabilities: rwo()})
	wantCode(t, err, codes.NotFound)

	ok, err := c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: id,
		VolumeCapabilities: []*csi.VolumeCapability{mountCap(snw, "xfs"), blockCap(csi.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER)}})
	mustNoErr(t, err)
	if ok.GetConfirmed() == nil || len(ok.GetConfirmed().GetVolumeCapabilities()) != 2 {
		t.Errorf("not confirmed: %v", ok)
	}
	no, err := c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: id,
		VolumeCapabilities: []*csi.VolumeCapability{mountCap(csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY, "")}})
	mustNoErr(t, err)
	if no.GetConfirmed() != nil || no.GetMessage() == "" {
		t.Errorf("multi-node reader confirmed: %v", no)
	}
	bad, err := c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: id, VolumeCapabilities: rwo(), Parameters: map[string]string{"zone": "x"}})
	mustNoErr(t, err)
	if bad.GetConfirmed() != nil {
		t.Errorf("unknown parameter confirmed: %v", bad)
	}
}

func TestListVolumesPaging(t *testing.T) {
	cloud := newFakeCloud("i-1")
	c := newController(t, profile.NIFCLOUD{}, cloud)
	ctx := context.Background()
	ids := createN(t, c, 5)
	_, err := c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: ids[3], NodeId: "i-1", VolumeCapability: rwo()[0]})
	mustNoErr(t, err)

	var seen []string
	token := ""
	pages := 0
	for {
		resp, err := c.ListVolumes(ctx, &csi.ListVolumesRequest{MaxEntries: 2, StartingToken: token})
		mustNoErr(t, err)
		pages++
		if len(resp.GetEntries()) > 2 {
			t.Fatalf("page of %d entries with max_entries 2", len(resp.GetEntries()))
		}
		for _, e := range resp.GetEntries() {
			seen = append(seen, e.GetVolume().GetVolumeId())
			if e.GetVolume().GetVolumeId() == ids[3] && !slices.Equal(e.GetStatus().GetPublishedNodeIds(), []string{"i-1"}) {
				t.Errorf("published nodes of %s = %v", ids[3], e.GetStatus().GetPublishedNodeIds())
			}
			if e.GetVolume().GetCapacityBytes() != 100*gib {
				t.Errorf("capacity = %d", e.GetVolume().GetCapacityBytes())
			}
		}
		if token = resp.GetNextToken(); token == "" {
			break
		}
	}
	if pages != 3 || !slices.Equal(seen, ids) {
		t.Errorf("paged %d times over %v, want 3 pages over %v", pages, seen, ids)
	}
	all, err := c.ListVolumes(ctx, &csi.ListVolumesRequest{})
	mustNoErr(t, err)
	if len(all.GetEntries()) != 5 || all.GetNextToken() != "" {
		t.Errorf("unpaged list = %d entries, token %q", len(all.GetEntries()), all.GetNextToken())
	}
	_, err = c.ListVolumes(ctx, &csi.ListVolumesRequest{StartingToken: "invalid-token"})
	wantCode(t, err, codes.Aborted, "invalid-token")
	_, err = c.ListVolumes(ctx, &csi.ListVolumesRequest{MaxEntries: -1})
	wantCode(t, err, codes.InvalidArgument, "max_entries")
}

func TestVolumeHealth(t *testing.T) {
	cloud := newFakeCloud()
	c := newController(t, profile.NIFCLOUD{}, cloud)
	ctx := context.Background()
	ids := createN(t, c, 3)
	cloud.setStatus(ids[1], backend.StatusError, "disk failure")

	_, err := c.ControllerGetVolumeHealth(ctx, &csi.ControllerGetVolumeHealthRequest{})
	wantCode(t, err, codes.InvalidArgument, "volume_id")
	_, err = c.ControllerGetVolumeHealth(ctx, &csi.ControllerGetVolumeHealthRequest{VolumeId: "vol-x"})
	wantCode(t, err, codes.NotFound)
	healthy, err := c.ControllerGetVolumeHealth(ctx, &csi.ControllerGetVolumeHealthRequest{VolumeId: ids[0]})
	mustNoErr(t, err)
	if healthy.GetVolumeHealth().GetVolumeId() != ids[0] || len(healthy.GetVolumeHealth().GetHealthStatuses()) != 0 {
		t.Errorf("healthy volume = %v", healthy)
	}
	sick, err := c.ControllerGetVolumeHealth(ctx, &csi.ControllerGetVolumeHealthRequest{VolumeId: ids[1]})
	mustNoErr(t, err)
	if h := sick.GetVolumeHealth().GetHealthStatuses(); len(h) != 1 || h[0].GetStatus() != csi.VolumeHealthErrorType_INACCESSIBLE || h[0].GetMessage() != "disk failure" {
		t.Errorf("failed volume = %v", sick)
	}
	list, err := c.ControllerListVolumeHealth(ctx, &csi.ControllerListVolumeHealthRequest{})
	mustNoErr(t, err)
	if len(list.GetEntries()) != 1 || list.GetEntries()[0].GetVolumeId() != ids[1] {
		t.Errorf("list health = %v", list)
	}
	_, err = c.ControllerListVolumeHealth(ctx, &csi.ControllerListVolumeHealthRequest{StartingToken: "bogus"})
	wantCode(t, err, codes.Aborted)
}

func TestControllerExpandVolume(t *testing.T) {
	cloud := newFakeCloud("i-1")
	c := newController(t, profile.NIFCLOUD{}, cloud)
	ctx := context.Background()
	id := createN(t, c, 1)[0]

	_, err := c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{CapacityRange: &csi.CapacityRange{RequiredBytes: gib}})
	wantCode(t, err, codes.InvalidArgument, "volume_id")
	_, err = c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: id})
	wantCode(t, err, codes.InvalidArgument, "capacity_range")
	_, err = c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: "vol-x", CapacityRange: &csi.CapacityRange{RequiredBytes: 200 * gib}})
	wantCode(t, err, codes.NotFound)
	_, err = c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: id, CapacityRange: &csi.CapacityRange{RequiredBytes: 150 * gib, LimitBytes: 150 * gib}})
	wantCode(t, err, codes.OutOfRange)

	_, err = c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: "i-1", VolumeCapability: rwo()[0]})
	mustNoErr(t, err)
	resp, err := c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: id, CapacityRange: &csi.CapacityRange{RequiredBytes: 150 * gib}, VolumeCapability: rwo()[0]})
	mustNoErr(t, err)
	if resp.GetCapacityBytes() != 200*gib || !resp.GetNodeExpansionRequired() {
		t.Errorf("expand = %v, want 200 GiB with node expansion", resp)
	}
	// Smaller than the disk: nothing to do, report the real size.
	resp, err = c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: id, CapacityRange: &csi.CapacityRange{RequiredBytes: gib},
		VolumeCapability: blockCap(snw)})
	mustNoErr(t, err)
	if resp.GetCapacityBytes() != 200*gib || resp.GetNodeExpansionRequired() {
		t.Errorf("no-op block expand = %v", resp)
	}
}

func TestSnapshots(t *testing.T) {
	c := newController(t, profile.Cinder{}, newFakeCloud())
	ctx := context.Background()
	ids := createN(t, c, 2)

	_, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{SourceVolumeId: ids[0]})
	wantCode(t, err, codes.InvalidArgument, "name")
	_, err = c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "s"})
	wantCode(t, err, codes.InvalidArgument, "source_volume_id")
	_, err = c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "s", SourceVolumeId: ids[0], Parameters: map[string]string{"type": "clone"}})
	wantCode(t, err, codes.InvalidArgument, `"type"`)
	_, err = c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "s", SourceVolumeId: "vol-x"})
	wantCode(t, err, codes.NotFound)

	s1, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "s1", SourceVolumeId: ids[0], Parameters: map[string]string{"csi.storage.k8s.io/volumesnapshot/name": "x"}})
	mustNoErr(t, err)
	if !s1.GetSnapshot().GetReadyToUse() || s1.GetSnapshot().GetSizeBytes() != gib || s1.GetSnapshot().GetCreationTime() == nil {
		t.Errorf("snapshot = %v", s1)
	}
	again, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "s1", SourceVolumeId: ids[0]})
	mustNoErr(t, err)
	if again.GetSnapshot().GetSnapshotId() != s1.GetSnapshot().GetSnapshotId() {
		t.Error("repeated CreateSnapshot made a new snapshot")
	}
	_, err = c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "s1", SourceVolumeId: ids[1]})
	wantCode(t, err, codes.AlreadyExists)
	for i := range 3 {
		_, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: fmt.Sprintf("s%d", i+2), SourceVolumeId: ids[1]})
		mustNoErr(t, err)
	}

	byID, err := c.ListSnapshots(ctx, &csi.ListSnapshotsRequest{SnapshotId: s1.GetSnapshot().GetSnapshotId()})
	mustNoErr(t, err)
	if len(byID.GetEntries()) != 1 {
		t.Errorf("by ID = %v", byID)
	}
	none, err := c.ListSnapshots(ctx, &csi.ListSnapshotsRequest{SnapshotId: "none-exist-id"})
	mustNoErr(t, err)
	if len(none.GetEntries()) != 0 {
		t.Errorf("unknown ID = %v", none)
	}
	bySource, err := c.ListSnapshots(ctx, &csi.ListSnapshotsRequest{SourceVolumeId: ids[1]})
	mustNoErr(t, err)
	if len(bySource.GetEntries()) != 3 {
		t.Errorf("by source = %d entries", len(bySource.GetEntries()))
	}
	first, err := c.ListSnapshots(ctx, &csi.ListSnapshotsRequest{MaxEntries: 2})
	mustNoErr(t, err)
	rest, err := c.ListSnapshots(ctx, &csi.ListSnapshotsRequest{StartingToken: first.GetNextToken()})
	mustNoErr(t, err)
	if len(first.GetEntries()) != 2 || len(rest.GetEntries()) != 2 || rest.GetNextToken() != "" {
		t.Errorf("paging: %d + %d entries", len(first.GetEntries()), len(rest.GetEntries()))
	}
	_, err = c.ListSnapshots(ctx, &csi.ListSnapshotsRequest{StartingToken: "junk"})
	wantCode(t, err, codes.Aborted)

	_, err = c.GetSnapshot(ctx, &csi.GetSnapshotRequest{})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.GetSnapshot(ctx, &csi.GetSnapshotRequest{SnapshotId: "none-exist-id"})
	wantCode(t, err, codes.NotFound)
	got, err := c.GetSnapshot(ctx, &csi.GetSnapshotRequest{SnapshotId: s1.GetSnapshot().GetSnapshotId()})
	mustNoErr(t, err)
	if got.GetSnapshot().GetSourceVolumeId() != ids[0] {
		t.Errorf("GetSnapshot = %v", got)
	}

	_, err = c.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{})
	wantCode(t, err, codes.InvalidArgument)
	for range 2 {
		_, err = c.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: s1.GetSnapshot().GetSnapshotId()})
		mustNoErr(t, err)
	}
}

func TestGetCapacity(t *testing.T) {
	c := newController(t, profile.Cinder{}, newFakeCloud())
	ctx := context.Background()
	resp, err := c.GetCapacity(ctx, &csi.GetCapacityRequest{})
	mustNoErr(t, err)
	if resp.GetAvailableCapacity() != 1<<40 || resp.GetMaximumVolumeSize().GetValue() != 1<<42 || resp.GetMinimumVolumeSize() != nil {
		t.Errorf("capacity = %v", resp)
	}
	key := (profile.Cinder{}).TopologyKey()
	resp, err = c.GetCapacity(ctx, &csi.GetCapacityRequest{AccessibleTopology: &csi.Topology{Segments: map[string]string{key: "nowhere"}}})
	mustNoErr(t, err)
	if resp.GetAvailableCapacity() != 0 {
		t.Errorf("zone not passed: %v", resp)
	}
	resp, err = c.GetCapacity(ctx, &csi.GetCapacityRequest{VolumeCapabilities: []*csi.VolumeCapability{mountCap(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER, "")}})
	mustNoErr(t, err)
	if resp.GetAvailableCapacity() != 0 {
		t.Errorf("unsupported capability has capacity: %v", resp)
	}
	_, err = c.GetCapacity(ctx, &csi.GetCapacityRequest{Parameters: map[string]string{"bogus": "1"}})
	wantCode(t, err, codes.InvalidArgument, "bogus")
}
