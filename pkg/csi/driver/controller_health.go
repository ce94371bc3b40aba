package driver

import (
	"context"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// CSI 1.13 replaced VolumeCondition with VolumeHealth: the controller
// reports what the cloud knows about a disk, the node what it sees locally
// (node_stats.go).

func wrapInt64(v int64) *wrapperspb.Int64Value { return wrapperspb.Int64(v) }

// diskHealth returns the adverse conditions of a disk (none when healthy).
func diskHealth(disk *backend.Disk) []*csi.VolumeHealth_VolumeHealthEntry {
	if disk.Status != backend.StatusError {
		return nil
	}
	msg := disk.StatusMessage
	if msg == "" {
		msg = "the cloud reports the disk in an error state"
	}
	return []*csi.VolumeHealth_VolumeHealthEntry{{
		Status:  csi.VolumeHealthErrorType_INACCESSIBLE,
		Reason:  "DiskError",
		Message: msg,
	}}
}

// ControllerGetVolumeHealth reports the cloud's view of a disk.
func (s *controllerServer) ControllerGetVolumeHealth(ctx context.Context, req *csi.ControllerGetVolumeHealthRequest) (*csi.ControllerGetVolumeHealthResponse, error) {
	if err := require("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := s.d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	disk, err := s.d.disks.GetDisk(ctx, req.GetVolumeId())
	if err != nil {
		return nil, StatusFromError(err, "getting volume")
	}
	return &csi.ControllerGetVolumeHealthResponse{VolumeHealth: &csi.VolumeHealth{
		VolumeId:       disk.ID,
		HealthStatuses: diskHealth(disk),
	}}, nil
}

// ControllerListVolumeHealth pages through the disks and returns those with
// adverse conditions (a page may hold fewer than max_entries).
func (s *controllerServer) ControllerListVolumeHealth(ctx context.Context, req *csi.ControllerListVolumeHealthRequest) (*csi.ControllerListVolumeHealthResponse, error) {
	if req.GetMaxEntries() < 0 {
		return nil, invalidArg("max_entries must not be negative")
	}
	disks, next, err := s.d.disks.ListDisks(ctx, int(req.GetMaxEntries()), req.GetStartingToken())
	if err != nil {
		return nil, listError(err, req.GetStartingToken())
	}
	resp := &csi.ControllerListVolumeHealthResponse{NextToken: next}
	for _, disk := range disks {
		if h := diskHealth(disk); len(h) > 0 {
			resp.Entries = append(resp.Entries, &csi.VolumeHealth{VolumeId: disk.ID, HealthStatuses: h})
		}
	}
	return resp, nil
}
