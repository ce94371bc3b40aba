package backend

// VolumeIDValidator is optionally implemented by a Disks or DeviceFinder
// whose cloud has a fixed volume ID form. The driver calls it before any
// other use of a volume_id, so that a malformed ID (e.g. "x/../<id>")
// never reaches a URL or a device path. The error should wrap
// ErrInvalidArgument.
type VolumeIDValidator interface {
	ValidateVolumeID(id string) error
}

// SnapshotIDValidator is the snapshot_id counterpart of VolumeIDValidator.
type SnapshotIDValidator interface {
	ValidateSnapshotID(id string) error
}

// NodeIDValidator is the node_id counterpart of VolumeIDValidator.
type NodeIDValidator interface {
	ValidateNodeID(id string) error
}
