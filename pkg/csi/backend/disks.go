package backend

import (
	"context"
	"time"
)

// DiskStatus is the cloud-neutral state of a disk. Backends map their own
// states onto these; the driver only distinguishes StatusError (reported as
// unhealthy) from the rest.
type DiskStatus string

// Disk states.
const (
	StatusCreating  DiskStatus = "creating"
	StatusAvailable DiskStatus = "available"
	StatusAttaching DiskStatus = "attaching"
	StatusInUse     DiskStatus = "in-use"
	StatusDetaching DiskStatus = "detaching"
	StatusExtending DiskStatus = "extending"
	StatusDeleting  DiskStatus = "deleting"
	StatusError     DiskStatus = "error"
	StatusUnknown   DiskStatus = "unknown"
)

// Disk is a cloud block volume.
type Disk struct {
	// ID is the cloud's volume ID; it is the CSI volume_id.
	ID string
	// Name is the CSI volume name the disk was created for (the
	// idempotency key of CreateVolume).
	Name string
	// SizeBytes is the actual size of the disk.
	SizeBytes int64
	// Zone is the zone the disk lives in ("" if the cloud has none).
	Zone string
	// Status is the disk state.
	Status DiskStatus
	// StatusMessage optionally explains Status (e.g. the cloud's error).
	StatusMessage string
	// AttachedNodes are the node IDs the disk is attached to.
	AttachedNodes []string
	// SourceSnapshotID is the snapshot the disk was restored from, if any.
	SourceSnapshotID string
	// SourceVolumeID is the disk the disk was cloned from, if any.
	SourceVolumeID string
}

// CreateRequest asks a backend for a new disk.
type CreateRequest struct {
	// Name is the CSI volume name; the backend must store it so that
	// FindDiskByName finds the disk (the idempotency key).
	Name string
	// SizeBytes is the size, already rounded by Profile.RoundSize.
	SizeBytes int64
	// Zone is the zone to create the disk in ("" = backend's choice).
	Zone string
	// Parameters are the StorageClass parameters as returned by
	// Profile.ParseParameters.
	Parameters Parameters
	// SourceSnapshotID, if set, is the snapshot to restore from.
	SourceSnapshotID string
	// SourceVolumeID, if set, is the disk to clone.
	SourceVolumeID string
	// Metadata are key/values to tag the disk with where the cloud allows
	// it (e.g. csi.storage.k8s.io/pvc/name).
	Metadata map[string]string
}

// Disks is the controller-side view of a cloud's block storage. All methods
// must be safe for concurrent use and must honour ctx.
type Disks interface {
	// CreateDisk creates a disk and returns it once it can be attached.
	// The driver calls FindDiskByName first, but a backend should still be
	// idempotent by name where the cloud allows it. Quota errors wrap
	// ErrQuota; a missing source wraps ErrNotFound.
	CreateDisk(ctx context.Context, req CreateRequest) (*Disk, error)
	// DeleteDisk deletes a disk. A missing disk wraps ErrNotFound (which
	// the driver treats as success); an attached disk wraps
	// ErrFailedPrecondition.
	DeleteDisk(ctx context.Context, id string) error
	// GetDisk returns a disk by ID, or an error wrapping ErrNotFound.
	GetDisk(ctx context.Context, id string) (*Disk, error)
	// FindDiskByName returns the disk created for a CSI volume name, or an
	// error wrapping ErrNotFound. More than one match is an error that
	// wraps none of the sentinels (codes.Internal).
	FindDiskByName(ctx context.Context, name string) (*Disk, error)
	// ListDisks returns up to maxEntries disks (0 = no limit) starting at
	// token ("" = from the beginning) and the token of the next page (""
	// = no more). An invalid token wraps ErrInvalidArgument.
	ListDisks(ctx context.Context, maxEntries int, token string) (disks []*Disk, next string, err error)
	// AttachDisk attaches a disk to a node, waits until the attachment is
	// complete and returns the publish context the node plugin's
	// DeviceFinder needs (e.g. PublishContextDevicePath). Attaching an
	// already attached disk to the same node succeeds with the same
	// context. A missing disk or node wraps ErrNotFound; a full node wraps
	// ErrQuota; a disk attached elsewhere wraps ErrFailedPrecondition.
	AttachDisk(ctx context.Context, diskID, nodeID string) (publishContext map[string]string, err error)
	// DetachDisk detaches a disk from a node and waits until it is
	// detached. A disk that is not attached to the node succeeds; a
	// missing disk or node wraps ErrNotFound (success for the driver).
	DetachDisk(ctx context.Context, diskID, nodeID string) error
	// ExpandDisk grows a disk to at least newSizeBytes (already rounded)
	// and returns the actual size. A disk that is already large enough
	// succeeds without change.
	ExpandDisk(ctx context.Context, id string, newSizeBytes int64) (actualBytes int64, err error)
	// NodeExists reports whether a node (an instance ID) exists.
	NodeExists(ctx context.Context, nodeID string) (bool, error)
}

// Snapshot is a point-in-time copy of a disk.
type Snapshot struct {
	ID             string
	Name           string
	SourceVolumeID string
	SizeBytes      int64
	CreatedAt      time.Time
	ReadyToUse     bool
}

// Snapshots is implemented by backends of clouds with disk snapshots. The
// driver discovers it by type assertion on its Disks value and only then
// advertises the snapshot capabilities (and only if the Profile enables
// them).
type Snapshots interface {
	// CreateSnapshot snapshots a disk. A missing disk wraps ErrNotFound.
	CreateSnapshot(ctx context.Context, name, sourceVolumeID string, params Parameters) (*Snapshot, error)
	// DeleteSnapshot deletes a snapshot; a missing one wraps ErrNotFound
	// (success for the driver); one in use wraps ErrFailedPrecondition.
	DeleteSnapshot(ctx context.Context, id string) error
	// GetSnapshot returns a snapshot or an error wrapping ErrNotFound.
	GetSnapshot(ctx context.Context, id string) (*Snapshot, error)
	// FindSnapshotByName returns the snapshot created for a CSI snapshot
	// name or an error wrapping ErrNotFound.
	FindSnapshotByName(ctx context.Context, name string) (*Snapshot, error)
	// ListSnapshots pages through snapshots, optionally only those of one
	// source disk; paging as in Disks.ListDisks.
	ListSnapshots(ctx context.Context, sourceVolumeID string, maxEntries int, token string) (snaps []*Snapshot, next string, err error)
}

// CapacityInfo answers GetCapacity. Zero fields are not reported.
type CapacityInfo struct {
	AvailableBytes         int64
	MaximumVolumeSizeBytes int64
	MinimumVolumeSizeBytes int64
}

// Capacity is implemented by backends that can report free capacity. The
// driver discovers it by type assertion on its Disks value.
type Capacity interface {
	// GetCapacity reports the capacity available for disks with params
	// in zone ("" = anywhere).
	GetCapacity(ctx context.Context, zone string, params Parameters) (CapacityInfo, error)
}

// CreateResumer is implemented by backends whose CreateDisk has steps after
// the cloud's create call (NIFCLOUD: create on a host instance, then
// detach; Cinder: wait until available). When CreateVolume finds a disk by
// name — a retry after a lost answer, a timeout or a controller crash — the
// driver lets the backend finish those steps before answering, so a disk
// is never reported while still attached to its creation host or still
// creating. A retried CreateVolume only happens before the PV exists, so no
// node can have been given the disk yet.
type CreateResumer interface {
	ResumeCreate(ctx context.Context, disk *Disk) (*Disk, error)
}
