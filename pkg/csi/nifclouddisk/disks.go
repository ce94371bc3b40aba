// Package nifclouddisk implements the CSI controller backend
// (backend.Disks) for NIFCLOUD additional storage over the nifcloud.API
// client, following the reference additional-storage CSI driver:
//
//   - the CSI volume name is stored in the disk's Description (at most 40
//     characters; longer or unusual names are shortened deterministically,
//     see Description), and the disk ID is derived from the name too, so a
//     repeated CreateVolume can never make a second disk;
//   - NIFCLOUD creates a disk attached to a server, so CreateDisk picks an
//     instance in the target zone, waits, detaches and waits again, and
//     removes the disk if anything fails on the way;
//   - AttachDisk reports the SCSI slot ("SCSI (0:N)") as publish context,
//     which pkg/csi/device's NIFCLOUD finder maps to /dev/disk/by-path;
//   - ExpandDisk calls ExtendVolumeSize (+100 GB per call) until the
//     target is reached, never beyond it.
package nifclouddisk

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// Defaults of Options.
const (
	DefaultTimeout          = 5 * time.Minute
	DefaultInstanceCacheTTL = 10 * time.Minute
	DefaultCleanupTimeout   = 5 * time.Minute
	// DefaultBatchInterval is the shortest spacing of the shared
	// DescribeVolumes calls of concurrent waits (see volumeWatcher).
	DefaultBatchInterval = 200 * time.Millisecond
	// DefaultHostPause is how long an instance that refused to host a
	// disk (full, stopping, gone) is tried only after all others.
	DefaultHostPause = 10 * time.Second
)

// DefaultPoll paces waits for NIFCLOUD state transitions, which take
// seconds to tens of seconds.
func DefaultPoll() backoff.Policy {
	return backoff.Policy{Initial: time.Second, Max: 10 * time.Second, Factor: 1.5, Jitter: 0.1}
}

// Options configure a Disks backend.
type Options struct {
	// Zone is the zone of disks created without one ("" = the zone of the
	// first preferred instance, else of any usable instance).
	Zone string
	// PreferredInstances are tried first to host a disk while it is
	// created (usually the controller's own instance), so that other
	// tenants' servers see the temporary attachment as rarely as possible.
	PreferredInstances []string
	// Poll paces the looks of one wait (default DefaultPoll()); concurrent
	// waits share their DescribeVolumes calls and look more often.
	Poll backoff.Policy
	// BatchInterval is the shortest spacing of the shared DescribeVolumes
	// calls (default DefaultBatchInterval).
	BatchInterval time.Duration
	// HostPause is how long an instance that refused to host a disk is
	// tried last (default DefaultHostPause).
	HostPause time.Duration
	// Timeout bounds each wait for a transition (default 5 min); the
	// request's context may end it earlier.
	Timeout time.Duration
	// InstanceCacheTTL is how long the instance list used to pick a host
	// for CreateVolume is reused (default 10 min).
	InstanceCacheTTL time.Duration
	// CleanupTimeout bounds the removal of a half-created disk, which runs
	// even when the request's context has ended (default 5 min).
	CleanupTimeout time.Duration
	// CreationWindow is how long after a disk's creation time an
	// attachment still counts as the creation's own (default
	// DefaultCreationWindow); later ones are nodes' publishes.
	CreationWindow time.Duration
	// SweepInterval paces the sweeper of half-created disks (default
	// DefaultSweepInterval); SweepGrace is the age a disk must reach
	// before the sweeper touches it (default DefaultSweepGrace).
	SweepInterval, SweepGrace time.Duration
}

// Disks is the NIFCLOUD backend.Disks. It is safe for concurrent use.
type Disks struct {
	api     nifcloud.API
	opts    Options
	watcher *volumeWatcher
	hosts   *hostTracker

	mu        sync.Mutex // guards the instance cache
	instances []nifcloud.Instance
	listedAt  time.Time
}

var _ backend.Disks = (*Disks)(nil)

// New returns a backend over api.
func New(api nifcloud.API, opts Options) (*Disks, error) {
	if api == nil {
		return nil, fmt.Errorf("nifclouddisk: an API client is required")
	}
	if opts.Poll.Initial <= 0 {
		opts.Poll = DefaultPoll()
	}
	opts.Poll.Steps = 0 // Timeout bounds the waits
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.InstanceCacheTTL <= 0 {
		opts.InstanceCacheTTL = DefaultInstanceCacheTTL
	}
	if opts.CleanupTimeout <= 0 {
		opts.CleanupTimeout = DefaultCleanupTimeout
	}
	if opts.BatchInterval <= 0 {
		opts.BatchInterval = DefaultBatchInterval
	}
	if opts.HostPause <= 0 {
		opts.HostPause = DefaultHostPause
	}
	if opts.CreationWindow <= 0 {
		opts.CreationWindow = DefaultCreationWindow
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.SweepGrace <= 0 {
		opts.SweepGrace = DefaultSweepGrace
	}
	opts.PreferredInstances = slices.DeleteFunc(slices.Clone(opts.PreferredInstances), func(s string) bool { return strings.TrimSpace(s) == "" })
	return &Disks{api: api, opts: opts,
		watcher: newVolumeWatcher(api, opts.Poll, opts.BatchInterval),
		hosts:   newHostTracker(opts.HostPause),
	}, nil
}

// GetDisk implements backend.Disks. The look is shared with concurrent
// waits and looks.
func (d *Disks) GetDisk(ctx context.Context, id string) (*backend.Disk, error) {
	if err := validateVolumeID(id); err != nil {
		return nil, err
	}
	o, err := d.watcher.look(ctx, id)
	switch {
	case err != nil:
		return nil, fmt.Errorf("describing volume %s: %w", id, err)
	case o.err != nil:
		return nil, o.err
	case o.v == nil:
		return nil, fmt.Errorf("volume %s: %w", id, backend.ErrNotFound)
	}
	return toDisk(o.v), nil
}

// FindDiskByName implements backend.Disks: the disk with ID
// VolumeIDFor(name). A disk of another ID is never kumo's, whatever its
// Description says.
func (d *Disks) FindDiskByName(ctx context.Context, name string) (*backend.Disk, error) {
	id := VolumeIDFor(name)
	o, err := d.watcher.look(ctx, id)
	switch {
	case err != nil:
		return nil, fmt.Errorf("describing volume %s: %w", id, err)
	case o.err != nil:
		return nil, o.err
	}
	var vols []nifcloud.Volume
	if o.v != nil {
		vols = []nifcloud.Volume{*o.v}
	}
	v, err := volumeNamed(vols, name)
	if err != nil {
		return nil, err
	}
	return toDisk(v), nil
}

// listVolumes lists all volumes of the account. Concurrent listings and
// looks share one call.
func (d *Disks) listVolumes(ctx context.Context) ([]nifcloud.Volume, error) {
	o, err := d.watcher.look(ctx, "")
	switch {
	case err != nil:
		return nil, fmt.Errorf("listing volumes: %w", err)
	case o.err != nil:
		return nil, o.err
	}
	// Callers sort or point into the list: give each its own copy.
	return slices.Clone(o.all), nil
}

// volumeNamed returns the volume of vols with ID VolumeIDFor(name). One
// whose Description is not Description(name) is a foreign disk holding the
// ID, which kumo must not adopt.
func volumeNamed(vols []nifcloud.Volume, name string) (*nifcloud.Volume, error) {
	id, desc := VolumeIDFor(name), Description(name)
	for i := range vols {
		if vols[i].VolumeID != id {
			continue
		}
		if vols[i].Description != desc {
			return nil, fmt.Errorf("disk %s exists with description %q, not %q: %w", id, vols[i].Description, desc, errForeignDisk)
		}
		return &vols[i], nil
	}
	return nil, fmt.Errorf("no volume %s (name %q): %w", id, name, backend.ErrNotFound)
}

// listTokenPrefix marks ListDisks tokens: "after:<last volume ID>". Paging
// by position in the ID order survives deletions between pages.
const listTokenPrefix = "after:"

// ListDisks implements backend.Disks: all volumes ordered by ID.
func (d *Disks) ListDisks(ctx context.Context, maxEntries int, token string) ([]*backend.Disk, string, error) {
	after := ""
	if token != "" {
		var ok bool
		if after, ok = strings.CutPrefix(token, listTokenPrefix); !ok || after == "" {
			return nil, "", fmt.Errorf("list token %q was not issued by this driver: %w", token, backend.ErrInvalidArgument)
		}
	}
	vols, err := d.listVolumes(ctx)
	if err != nil {
		return nil, "", err
	}
	slices.SortFunc(vols, func(a, b nifcloud.Volume) int { return strings.Compare(a.VolumeID, b.VolumeID) })
	var disks []*backend.Disk
	for i := range vols {
		if after != "" && vols[i].VolumeID <= after {
			continue
		}
		if maxEntries > 0 && len(disks) == maxEntries {
			return disks, listTokenPrefix + disks[len(disks)-1].ID, nil
		}
		disks = append(disks, toDisk(&vols[i]))
	}
	return disks, "", nil
}

// NodeExists implements backend.Disks: nodeID is an instance ID.
func (d *Disks) NodeExists(ctx context.Context, nodeID string) (bool, error) {
	if nodeID == "" {
		return false, nil
	}
	if d.cachedInstance(nodeID) {
		return true, nil // a vanished instance fails the attach itself
	}
	out, err := d.api.DescribeInstances(ctx, &nifcloud.DescribeInstancesInput{InstanceIDs: []string{nodeID}})
	if nifcloud.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, mapError(err, "describing instance %s", nodeID)
	}
	for _, in := range out.Instances() {
		if in.InstanceID == nodeID {
			return true, nil
		}
	}
	return false, nil
}

// InstanceZone returns the zone of an instance; it serves as
// metadata.ZoneLookup for the node plugin.
func (d *Disks) InstanceZone(ctx context.Context, instanceID string) (string, error) {
	return InstanceZone(ctx, d.api, instanceID)
}

// InstanceZone returns the zone of an instance via DescribeInstances.
func InstanceZone(ctx context.Context, api nifcloud.API, instanceID string) (string, error) {
	out, err := api.DescribeInstances(ctx, &nifcloud.DescribeInstancesInput{InstanceIDs: []string{instanceID}})
	if err != nil {
		return "", mapError(err, "describing instance %s", instanceID)
	}
	for _, in := range out.Instances() {
		if in.InstanceID == instanceID {
			return in.Placement.AvailabilityZone, nil
		}
	}
	return "", fmt.Errorf("instance %s: %w", instanceID, backend.ErrNotFound)
}

// toDisk converts a NIFCLOUD volume (Size in GB, treated as GiB like the
// profile does).
func toDisk(v *nifcloud.Volume) *backend.Disk {
	disk := &backend.Disk{
		ID:        v.VolumeID,
		Name:      v.Description,
		SizeBytes: int64(v.Size) * profile.GiB,
		Zone:      v.AvailabilityZone,
		Status:    diskStatus(v),
	}
	for _, a := range v.Attachments {
		if a.Status != nifcloud.AttachmentDetached && a.InstanceID != "" {
			disk.AttachedNodes = append(disk.AttachedNodes, a.InstanceID)
		}
	}
	return disk
}

func diskStatus(v *nifcloud.Volume) backend.DiskStatus {
	switch v.Status {
	case "creating":
		return backend.StatusCreating
	case nifcloud.VolumeStatusAvailable:
		return backend.StatusAvailable
	case nifcloud.VolumeStatusInUse:
		for _, a := range v.Attachments {
			switch a.Status {
			case nifcloud.AttachmentAttaching:
				return backend.StatusAttaching
			case nifcloud.AttachmentDetaching:
				return backend.StatusDetaching
			}
		}
		return backend.StatusInUse
	case "deleting":
		return backend.StatusDeleting
	case "error":
		return backend.StatusError
	}
	return backend.StatusUnknown
}
