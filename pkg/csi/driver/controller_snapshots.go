package driver

import (
	"context"
	"errors"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// snapshotsOrUnimplemented returns the snapshot backend, or Unimplemented
// when the cloud has none.
func (s *controllerServer) snapshotsOrUnimplemented() (backend.Snapshots, error) {
	if s.d.snapshots == nil {
		return nil, status.Errorf(codes.Unimplemented, "%s does not support snapshots", s.d.profile.Name())
	}
	return s.d.snapshots, nil
}

func snapshotOf(snap *backend.Snapshot) *csi.Snapshot {
	out := &csi.Snapshot{
		SnapshotId:     snap.ID,
		SourceVolumeId: snap.SourceVolumeID,
		SizeBytes:      snap.SizeBytes,
		ReadyToUse:     snap.ReadyToUse,
	}
	if !snap.CreatedAt.IsZero() {
		out.CreationTime = timestamppb.New(snap.CreatedAt)
	}
	return out
}

// CreateSnapshot snapshots a disk, idempotently by name.
func (s *controllerServer) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	snaps, err := s.snapshotsOrUnimplemented()
	if err != nil {
		return nil, err
	}
	if err := require("name", req.GetName(), "source_volume_id", req.GetSourceVolumeId()); err != nil {
		return nil, err
	}
	if err := s.d.checkVolumeIDField("source_volume_id", req.GetSourceVolumeId()); err != nil {
		return nil, err
	}
	raw, metadata := splitParameters(req.GetParameters())
	params, err := s.d.profile.ParseSnapshotParameters(raw)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "invalid snapshot parameters: %v", err)
	}
	params.Metadata = metadata
	release, err := s.d.inflight.acquire("CreateSnapshot", req.GetName())
	if err != nil {
		return nil, err
	}
	defer release()

	existing, err := snaps.FindSnapshotByName(ctx, req.GetName())
	switch {
	case err == nil:
		if existing.SourceVolumeID != req.GetSourceVolumeId() {
			return nil, status.Errorf(codes.AlreadyExists, "snapshot %q (%s) exists for source volume %s, not %s",
				req.GetName(), existing.ID, existing.SourceVolumeID, req.GetSourceVolumeId())
		}
		return &csi.CreateSnapshotResponse{Snapshot: snapshotOf(existing)}, nil
	case !errors.Is(err, backend.ErrNotFound):
		return nil, StatusFromError(err, "looking up snapshot by name")
	}
	if _, err := s.d.disks.GetDisk(ctx, req.GetSourceVolumeId()); err != nil {
		return nil, StatusFromError(err, "source volume")
	}
	snap, err := snaps.CreateSnapshot(ctx, req.GetName(), req.GetSourceVolumeId(), params)
	if err != nil {
		return nil, StatusFromError(err, "creating snapshot")
	}
	klog.FromContext(ctx).Info("Snapshot created", "snapshotID", snap.ID, "readyToUse", snap.ReadyToUse)
	return &csi.CreateSnapshotResponse{Snapshot: snapshotOf(snap)}, nil
}

// DeleteSnapshot deletes a snapshot; a missing one is success.
func (s *controllerServer) DeleteSnapshot(ctx context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	snaps, err := s.snapshotsOrUnimplemented()
	if err != nil {
		return nil, err
	}
	if err := require("snapshot_id", req.GetSnapshotId()); err != nil {
		return nil, err
	}
	if err := s.d.checkSnapshotID(req.GetSnapshotId()); err != nil {
		return nil, err
	}
	release, err := s.d.inflight.acquire("snapshot", req.GetSnapshotId())
	if err != nil {
		return nil, err
	}
	defer release()
	if err := snaps.DeleteSnapshot(ctx, req.GetSnapshotId()); err != nil && !errors.Is(err, backend.ErrNotFound) {
		return nil, StatusFromError(err, "deleting snapshot")
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

// ListSnapshots lists snapshots, by ID, by source volume or all (paged).
func (s *controllerServer) ListSnapshots(ctx context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	snaps, err := s.snapshotsOrUnimplemented()
	if err != nil {
		return nil, err
	}
	if req.GetMaxEntries() < 0 {
		return nil, invalidArg("max_entries must not be negative")
	}
	// An ID that cannot exist lists nothing; it never reaches a URL.
	if id := req.GetSnapshotId(); id != "" && s.d.checkSnapshotID(id) != nil {
		return &csi.ListSnapshotsResponse{}, nil
	}
	if id := req.GetSourceVolumeId(); id != "" && s.d.checkVolumeID(id) != nil {
		return &csi.ListSnapshotsResponse{}, nil
	}
	if id := req.GetSnapshotId(); id != "" {
		snap, err := snaps.GetSnapshot(ctx, id)
		switch {
		case errors.Is(err, backend.ErrNotFound):
			return &csi.ListSnapshotsResponse{}, nil
		case err != nil:
			return nil, StatusFromError(err, "getting snapshot")
		case req.GetSourceVolumeId() != "" && snap.SourceVolumeID != req.GetSourceVolumeId():
			return &csi.ListSnapshotsResponse{}, nil
		}
		return &csi.ListSnapshotsResponse{Entries: []*csi.ListSnapshotsResponse_Entry{{Snapshot: snapshotOf(snap)}}}, nil
	}
	list, next, err := snaps.ListSnapshots(ctx, req.GetSourceVolumeId(), int(req.GetMaxEntries()), req.GetStartingToken())
	if err != nil {
		return nil, listError(err, req.GetStartingToken())
	}
	resp := &csi.ListSnapshotsResponse{NextToken: next}
	for _, snap := range list {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: snapshotOf(snap)})
	}
	return resp, nil
}

// GetSnapshot returns one snapshot.
func (s *controllerServer) GetSnapshot(ctx context.Context, req *csi.GetSnapshotRequest) (*csi.GetSnapshotResponse, error) {
	snaps, err := s.snapshotsOrUnimplemented()
	if err != nil {
		return nil, err
	}
	if err := require("snapshot_id", req.GetSnapshotId()); err != nil {
		return nil, err
	}
	if err := s.d.checkSnapshotID(req.GetSnapshotId()); err != nil {
		return nil, err
	}
	snap, err := snaps.GetSnapshot(ctx, req.GetSnapshotId())
	if err != nil {
		return nil, StatusFromError(err, "getting snapshot")
	}
	return &csi.GetSnapshotResponse{Snapshot: snapshotOf(snap)}, nil
}

// GetCapacity reports free capacity when the backend can tell.
func (s *controllerServer) GetCapacity(ctx context.Context, req *csi.GetCapacityRequest) (*csi.GetCapacityResponse, error) {
	d := s.d
	if d.capacity == nil {
		return nil, status.Errorf(codes.Unimplemented, "%s does not report capacity", d.profile.Name())
	}
	for _, c := range req.GetVolumeCapabilities() {
		if err := d.validateCapability(c); err != nil {
			// Capacity for unsupported capabilities is zero.
			return &csi.GetCapacityResponse{}, nil //nolint:nilerr // the spec asks for 0, not an error
		}
	}
	params, _, err := d.parseParameters(req.GetParameters())
	if err != nil {
		return nil, err
	}
	zone := params.Zone
	if zone == "" {
		zone = req.GetAccessibleTopology().GetSegments()[d.profile.TopologyKey()]
	}
	info, err := d.capacity.GetCapacity(ctx, zone, params)
	if err != nil {
		return nil, StatusFromError(err, "getting capacity")
	}
	resp := &csi.GetCapacityResponse{AvailableCapacity: info.AvailableBytes}
	if info.MaximumVolumeSizeBytes > 0 {
		resp.MaximumVolumeSize = wrapInt64(info.MaximumVolumeSizeBytes)
	}
	if info.MinimumVolumeSizeBytes > 0 {
		resp.MinimumVolumeSize = wrapInt64(info.MinimumVolumeSizeBytes)
	}
	return resp, nil
}
