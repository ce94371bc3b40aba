package nifclouddisk

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// maxHostAttempts bounds how many instances CreateDisk tries as host.
const maxHostAttempts = 3

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
	if existing, err := d.FindDiskByName(ctx, req.Name); err == nil {
		logger.V(2).Info("Disk already exists", "volumeID", existing.ID)
		return existing, nil
	} else if !errors.Is(err, backend.ErrNotFound) {
		return nil, err
	}

	zone := req.Zone
	if zone == "" {
		zone = req.Parameters.Zone
	}
	hosts, zone, err := d.hostCandidates(ctx, zone)
	if err != nil {
		return nil, err
	}
	in := &nifcloud.CreateVolumeInput{
		Size: size, DiskType: diskType, AccountingType: acct,
		Description: desc, VolumeID: VolumeIDFor(req.Name),
	}
	id, err := d.createOnHost(ctx, in, hosts)
	if err != nil {
		return nil, err
	}
	logger = logger.WithValues("volumeID", id)
	ctx = klog.NewContext(ctx, logger)
	v, err := d.finishCreate(ctx, id, desc)
	if errors.Is(err, errForeignDisk) {
		return nil, err
	}
	if err != nil {
		logger.Error(err, "Disk creation failed; removing the disk")
		if cerr := d.removeDisk(ctx, id); cerr != nil {
			logger.Error(cerr, "Removing the half-created disk failed; it will be found by name on the next attempt")
			return nil, fmt.Errorf("%w (removing the half-created disk %s also failed: %v)", err, id, cerr)
		}
		return nil, err
	}
	logger.V(2).Info("Disk created", "zone", zone, "sizeGB", v.Size, "diskType", diskType)
	return toDisk(v), nil
}

// createOnHost sends CreateVolume on the first host that accepts it. A
// duplicate VolumeId means an earlier attempt already created the disk
// (e.g. its answer was lost), which is then finished instead.
func (d *Disks) createOnHost(ctx context.Context, in *nifcloud.CreateVolumeInput, hosts []string) (string, error) {
	logger := klog.FromContext(ctx)
	var lastErr error
	for i, host := range hosts {
		if i == maxHostAttempts {
			break
		}
		in.InstanceID = host
		out, err := d.api.CreateVolume(ctx, in)
		switch {
		case err == nil:
			logger.V(2).Info("CreateVolume sent", "volumeID", out.VolumeID, "hostInstanceID", host)
			return out.VolumeID, nil
		case nifcloud.IsDuplicate(err):
			logger.V(2).Info("Disk ID already taken, resuming an earlier creation", "volumeID", in.VolumeID)
			return in.VolumeID, nil
		case isHostProblem(err):
			logger.V(2).Info("Host instance cannot take the disk, trying another", "hostInstanceID", host, "err", err)
			d.forgetInstances()
			lastErr = err
			continue
		}
		return "", mapError(err, "creating disk %q on instance %s", in.Description, host)
	}
	return "", mapError(lastErr, "no instance of %v could host disk %q", hosts[:min(len(hosts), maxHostAttempts)], in.Description)
}

// finishCreate waits for the new disk to be attached to its host, detaches
// it and waits until it is available.
func (d *Disks) finishCreate(ctx context.Context, id, desc string) (*nifcloud.Volume, error) {
	v, err := d.waitSettled(ctx, id)
	if err != nil {
		return nil, err
	}
	if v.Description != desc {
		// The deterministic ID is taken by a disk that is not ours.
		return nil, fmt.Errorf("disk %s exists with description %q, not %q: %w", id, v.Description, desc, errForeignDisk)
	}
	for _, a := range activeAttachments(v) {
		if v, err = d.detachAndWait(ctx, id, a.InstanceID); err != nil {
			return nil, err
		}
	}
	return d.waitVolume(ctx, id, "available", func(_ context.Context, v *nifcloud.Volume) (bool, error) {
		if v == nil {
			return false, fmt.Errorf("volume %s vanished while being created: %w", id, backend.ErrUnavailable)
		}
		return v.Status == nifcloud.VolumeStatusAvailable && len(activeAttachments(v)) == 0, nil
	})
}

// errForeignDisk marks a disk that must not be removed by the cleanup.
var errForeignDisk = fmt.Errorf("disk ID collision: %w", backend.ErrAlreadyExists)

// removeDisk detaches a half-created disk from wherever it is and deletes
// it. It runs on a context of its own: the request's may have ended.
func (d *Disks) removeDisk(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.CleanupTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, waitTimeoutKey{}, d.opts.CleanupTimeout)
	v, err := d.waitSettled(ctx, id)
	if errors.Is(err, backend.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, a := range activeAttachments(v) {
		if _, err := d.detachAndWait(ctx, id, a.InstanceID); err != nil {
			return err
		}
	}
	err = d.deleteAndWait(ctx, id)
	if errors.Is(err, backend.ErrNotFound) {
		return nil
	}
	return err
}
