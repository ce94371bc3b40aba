package driver

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// checkVolumeID asks the backend and the device finder (when they
// implement backend.VolumeIDValidator) whether id is well-formed, before
// it is used in any URL or device path.
func (d *Driver) checkVolumeID(id string) error { return d.checkVolumeIDField("volume_id", id) }

// checkVolumeIDField is checkVolumeID for a request field with another
// name (source_volume_id, volume_content_source.volume.volume_id).
func (d *Driver) checkVolumeIDField(field, id string) error {
	for _, v := range []any{d.disks, d.finder} {
		if val, ok := v.(backend.VolumeIDValidator); ok {
			if err := val.ValidateVolumeID(id); err != nil {
				return status.Errorf(codes.InvalidArgument, "%s: %v", field, err)
			}
		}
	}
	return nil
}

// checkSnapshotID is checkVolumeID for snapshot IDs.
func (d *Driver) checkSnapshotID(id string) error { return d.checkSnapshotIDField("snapshot_id", id) }

// checkSnapshotIDField is checkSnapshotID for a field with another name.
func (d *Driver) checkSnapshotIDField(field, id string) error {
	if val, ok := d.disks.(backend.SnapshotIDValidator); ok {
		if err := val.ValidateSnapshotID(id); err != nil {
			return status.Errorf(codes.InvalidArgument, "%s: %v", field, err)
		}
	}
	return nil
}

// checkNodeID is checkVolumeID for node IDs.
func (d *Driver) checkNodeID(id string) error {
	if val, ok := d.disks.(backend.NodeIDValidator); ok {
		if err := val.ValidateNodeID(id); err != nil {
			return status.Errorf(codes.InvalidArgument, "node_id: %v", err)
		}
	}
	return nil
}
