// Package cinderdisk is the OpenStack backend of kumo's CSI driver: it
// implements backend.Disks and backend.Snapshots on Cinder v3 volumes and
// snapshots, attached through Nova's os-volume_attachments, following
// cinder-csi-plugin's behaviour (find by name, cluster metadata, "type" and
// "availability" parameters) except that it waits for every state change to
// finish: a "creating" volume cannot be attached, and a snapshot or volume
// that is still "deleting" blocks the deletion of its source. Concurrent
// waits for volume states share one watcher that lists the volumes once
// per tick for all of them (watcher.go).
//
// Capacity is the project's gigabytes quota from Cinder's limits API
// (capacity.go): Cinder has no per-zone free-space API usable by a project
// (only scheduler stats, admin-only). ModifyDisk retypes volumes
// (retype.go).
package cinderdisk

import (
	"errors"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/openstack/client"
)

// Metadata keys written on created volumes and snapshots.
const (
	// MetadataCluster holds Options.ClusterID, as cinder-csi-plugin does.
	MetadataCluster = "cinder.csi.openstack.org/cluster"
	// Description is set on created volumes and snapshots.
	Description = "Created by kumo Cinder CSI driver"
	// MetadataBackupSnapshot marks the snapshot a "type: backup" snapshot
	// is taken from (it has the backup's name and is deleted once the
	// backup is available), so lookups by name do not mistake it for a
	// snapshot of its own.
	MetadataBackupSnapshot = "kumo-project.io/backup-snapshot"
)

// Microversions: 3.42 lets Cinder extend in-use volumes, 3.47 create a
// volume from a backup (backup_id is ignored before), 3.51 take the
// availability_zone (and, since 3.43, the metadata) of a backup.
const (
	extendInUseMicroversion = "3.42"
	restoreMicroversion     = "3.47"
	backupMicroversion      = "3.51"
)

// DefaultWaitTimeout bounds one wait for a state change when the request
// context has no earlier deadline.
const DefaultWaitTimeout = 5 * time.Minute

// DefaultPoll paces the polls of snapshot and attachment states and, when
// set in Options, bounds the volume watcher's tick.
var DefaultPoll = backoff.Policy{Initial: 500 * time.Millisecond, Max: 5 * time.Second, Factor: 1.5, Jitter: 0.1}

// Options configure a Backend.
type Options struct {
	// ClusterID is recorded under MetadataCluster on created volumes and
	// snapshots ("" = not recorded).
	ClusterID string
	// Poll paces snapshot state polls (default DefaultPoll; Steps is
	// ignored, the wait timeout bounds the polls).
	Poll backoff.Policy
	// WatchInterval is the tick of the shared watcher of volume states
	// (default: DefaultWatchInterval, or Poll.Initial when that is shorter).
	WatchInterval time.Duration
	// WaitTimeout bounds one wait (default DefaultWaitTimeout).
	WaitTimeout time.Duration
	// MaxAttachmentsPerNode refuses (ErrQuota) attaching beyond this many
	// volumes to one server, the node-volume-attach-limit the node plugin
	// reports (0 = leave the limit to Nova). It costs one attachment list
	// per attach.
	MaxAttachmentsPerNode int
	// VolumeTypeTTL is how long the project's volume types, listed to
	// check the "type" parameter, are cached (default DefaultVolumeTypeTTL).
	VolumeTypeTTL time.Duration
	// CapacityTTL is how long the project's limits, which GetCapacity
	// reports, are cached (default DefaultCapacityTTL).
	CapacityTTL time.Duration
}

// Backend implements backend.Disks, Snapshots, Capacity and Modifier on
// Cinder + Nova.
// It is safe for concurrent use: gophercloud service clients are, and its
// only state, the volume watcher and the type and limits caches, is guarded by
// mutexes.
type Backend struct {
	compute *gophercloud.ServiceClient
	block   *gophercloud.ServiceClient
	// blockExtend sends microversion 3.42 (extend of in-use volumes).
	blockExtend *gophercloud.ServiceClient
	// blockBackup (3.51) makes and reads backups; blockRestore (3.47)
	// creates volumes from them.
	blockBackup, blockRestore *gophercloud.ServiceClient
	opts                      Options
	// watcher serves all waits for volume states with shared polls.
	watcher *volumeWatcher
	// types checks the "type" parameter before a create.
	types *volumeTypes
	// limits caches the quota GetCapacity reports.
	limits *limitsCache
	// attachLocks guards the attach-limit check per server.
	attachLocks nodeLocks
}

var (
	_ backend.Disks     = (*Backend)(nil)
	_ backend.Snapshots = (*Backend)(nil)
)

// New returns a backend using the compute (Nova) and block-storage
// (Cinder v3) clients of c.
func New(c *client.Clients, opts Options) (*Backend, error) {
	if c == nil || c.Compute == nil || c.BlockStorage == nil {
		return nil, errors.New("cinderdisk: compute and block-storage clients are required")
	}
	return NewFromServiceClients(c.Compute, c.BlockStorage, opts)
}

// NewFromServiceClients is New with explicit service clients.
func NewFromServiceClients(compute, block *gophercloud.ServiceClient, opts Options) (*Backend, error) {
	if compute == nil || block == nil {
		return nil, errors.New("cinderdisk: compute and block-storage clients are required")
	}
	if opts.WatchInterval <= 0 {
		opts.WatchInterval = DefaultWatchInterval
		if opts.Poll.Initial > 0 {
			opts.WatchInterval = min(opts.WatchInterval, opts.Poll.Initial)
		}
	}
	if opts.Poll.Initial <= 0 {
		opts.Poll = DefaultPoll
	}
	opts.Poll.Steps = 0
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = DefaultWaitTimeout
	}
	if opts.VolumeTypeTTL <= 0 {
		opts.VolumeTypeTTL = DefaultVolumeTypeTTL
	}
	if opts.CapacityTTL <= 0 {
		opts.CapacityTTL = DefaultCapacityTTL
	}
	return &Backend{
		compute:      compute,
		block:        block,
		blockExtend:  client.WithMicroversion(block, extendInUseMicroversion),
		blockBackup:  client.WithMicroversion(block, backupMicroversion),
		blockRestore: client.WithMicroversion(block, restoreMicroversion),
		opts:         opts,
		watcher:      newVolumeWatcher(block, opts.WatchInterval),
		types:        newVolumeTypes(block, opts.VolumeTypeTTL),
		limits:       newLimitsCache(block, opts.CapacityTTL),
	}, nil
}
