package nifclouddisk

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// maxHostAttempts bounds how many instances one CreateDisk tries as host.
// Hosts are ranked by known load, so a refusal is rare and a few more
// tries reach an instance with room.
const maxHostAttempts = 8

// CreateDisk implements backend.Disks. NIFCLOUD creates a disk attached to
// a server: the disk is created on an instance of the zone, detached as
// soon as it is attached, and returned once available. If anything fails
// after the disk exists, it is detached and deleted again.
func (d *Disks) CreateDisk(ctx context.Context, req backend.CreateRequest) (*backend.Disk, error) {
	desc := Description(req.Name)
	logger := klog.FromContext(ctx).WithValues("name", req.Name, "description", desc)
	ctx = klog.NewContext(ctx, logger)
	if req.SourceSnapshotID != "" || req.SourceVolumeID != "" {
		return nil, fmt.Errorf("NIFCLOUD cannot create disks from snapshots or other disks: %w", backend.ErrInvalidArgument)
	}
	size, err := sizeGB(req.SizeBytes)
	if err != nil {
		return nil, err
	}
	diskType, err := diskTypeCode(req.Parameters.Get("type"))
	if err != nil {
		return nil, err
	}
	acct, err := accountingCode(req.Parameters.Get("accountingtype"))
	if err != nil {
		return nil, err
	}
	// One listing serves both idempotency and the hosts' known load.
	vols, err := d.listVolumes(ctx)
	if err != nil {
		return nil, err
	}
	if existing, err := volumeNamed(vols, req.Name); err == nil {
		logger.V(2).Info("Disk already exists", "volumeID", existing.VolumeID)
		return toDisk(existing), nil
	} else if !errors.Is(err, backend.ErrNotFound) {
		return nil, err
	}

	zone := req.Zone
	if zone == "" {
		zone = req.Parameters.Zone
	}
	hosts, zone, err := d.hostCandidates(ctx, zone)
	if err != nil {
		return nil, zoneOrigin(err, req)
	}
	in := &nifcloud.CreateVolumeInput{
		Size: size, DiskType: diskType, AccountingType: acct,
		Description: desc, VolumeID: VolumeIDFor(req.Name),
	}
	id, host, err := d.createOnHost(ctx, in, hosts, attachedPerInstance(vols))
	if err != nil {
		return nil, err
	}
	// The disk holds a slot of its host until it is detached again.
	defer d.hosts.release(host)
	logger = logger.WithValues("volumeID", id)
	ctx = klog.NewContext(ctx, logger)
	v, err := d.finishCreate(ctx, id, desc, host)
	if errors.Is(err, errForeignDisk) || (err != nil && host == "") {
		// Only a disk this call created is ours to remove; a resumed one
		// may have been published meanwhile.
		return nil, err
	}
	if err != nil {
		logger.Error(err, "Disk creation failed; removing the disk")
		if cerr := d.removeDisk(ctx, id, host); cerr != nil {
			logger.Error(cerr, "Removing the half-created disk failed; it will be found by name on the next attempt")
			return nil, fmt.Errorf("%w (removing the half-created disk %s also failed: %v)", err, id, cerr)
		}
		return nil, err
	}
	logger.V(2).Info("Disk created", "zone", zone, "sizeGB", v.Size, "diskType", diskType)
	return toDisk(v), nil
}

// createOnHost sends CreateVolume on the best host that accepts it (see
// hostTracker.reserve) and returns the disk ID and the host, whose
// reservation the caller releases. A duplicate VolumeId means an earlier
// attempt already created the disk (e.g. its answer was lost), which is
// then finished instead.
func (d *Disks) createOnHost(ctx context.Context, in *nifcloud.CreateVolumeInput, hosts []string, attached map[string]int) (string, string, error) {
	logger := klog.FromContext(ctx)
	var lastErr error
	tried := map[string]bool{}
	var order []string
	for range min(len(hosts), maxHostAttempts) {
		host := d.hosts.reserve(hosts, attached, d.preference, tried)
		tried[host] = true
		order = append(order, host)
		in.InstanceID = host
		out, err := d.api.CreateVolume(ctx, in)
		switch {
		case err == nil:
			logger.V(2).Info("CreateVolume sent", "volumeID", out.VolumeID, "hostInstanceID", host)
			return out.VolumeID, host, nil
		case nifcloud.IsDuplicate(err):
			d.hosts.release(host)
			logger.V(2).Info("Disk ID already taken, resuming an earlier creation", "volumeID", in.VolumeID)
			return in.VolumeID, "", nil
		case isHostProblem(err):
			d.hosts.release(host)
			d.hosts.refused(host)
			if nifcloud.IsCode(err, nifcloud.CodeInstanceNotFound) {
				d.forgetInstances()
			}
			logger.V(2).Info("Host instance cannot take the disk, trying another", "hostInstanceID", host, "err", err)
			lastErr = err
			continue
		}
		d.hosts.release(host)
		return "", "", mapError(err, "creating disk %q on instance %s", in.Description, host)
	}
	return "", "", mapError(lastErr, "no instance of %v could host disk %q", order, in.Description)
}

// finishCreate waits for the new disk to be attached to its host, detaches
// it from there and waits until that is done. host is the creation host
// when this process sent the CreateVolume, else "": then only attachments
// dating from the creation are detached (see creationAttachments). An
// attachment to any other instance is a node's publish and stays.
func (d *Disks) finishCreate(ctx context.Context, id, desc, host string) (*nifcloud.Volume, error) {
	v, err := d.waitSettled(ctx, id, nil)
	if err != nil {
		return nil, err
	}
	if v.Description != desc {
		// The deterministic ID is taken by a disk that is not ours.
		return nil, fmt.Errorf("disk %s exists with description %q, not %q: %w", id, v.Description, desc, errForeignDisk)
	}
	// Each wait starts from the last look of the one before.
	for _, a := range d.hostAttachments(v, host) {
		if v, err = d.detachAndWait(ctx, id, a.InstanceID, v); err != nil {
			return nil, err
		}
	}
	return d.waitVolumeFrom(ctx, id, "detached from its creation host", v, func(_ context.Context, v *nifcloud.Volume) (bool, error) {
		if v == nil {
			return false, fmt.Errorf("volume %s vanished while being created: %w", id, backend.ErrUnavailable)
		}
		return settled(v) && len(d.hostAttachments(v, host)) == 0, nil
	})
}

// hostAttachments are the attachments of v to its creation host: to host
// when known, else those dating from the creation.
func (d *Disks) hostAttachments(v *nifcloud.Volume, host string) []nifcloud.VolumeAttachment {
	if host == "" {
		return creationAttachments(v, d.opts.CreationWindow)
	}
	if a := attachmentTo(v, host); a != nil {
		return []nifcloud.VolumeAttachment{*a}
	}
	return nil
}

// errForeignDisk marks a disk that must not be removed by the cleanup.
var errForeignDisk = fmt.Errorf("disk ID collision: %w", backend.ErrAlreadyExists)

// removeDisk detaches a half-created disk from its creation host and
// deletes it. It runs on a context of its own: the request's may have ended.
func (d *Disks) removeDisk(ctx context.Context, id, host string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.CleanupTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, waitTimeoutKey{}, d.opts.CleanupTimeout)
	v, err := d.waitSettled(ctx, id, nil)
	if errors.Is(err, backend.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, a := range d.hostAttachments(v, host) {
		if v, err = d.detachAndWait(ctx, id, a.InstanceID, v); err != nil {
			return err
		}
	}
	if att := activeAttachments(v); len(att) > 0 {
		return fmt.Errorf("volume %s is attached to instance %s, not its creation host; not deleting it: %w", id, att[0].InstanceID, backend.ErrFailedPrecondition)
	}
	err = d.deleteAndWait(ctx, id, false)
	if errors.Is(err, backend.ErrNotFound) {
		return nil
	}
	return err
}
