package nifclouddisk

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// ExpandDisk implements backend.Disks. ExtendVolumeSize has no size
// parameter and grows a disk by 100 GB, so it is called once per missing
// step, waiting for each step to finish. The size is read again before
// every call, so a step of an earlier, interrupted expansion is never
// repeated and the disk never grows past the target.
func (d *Disks) ExpandDisk(ctx context.Context, id string, newSizeBytes int64) (int64, error) {
	if err := validateVolumeID(id); err != nil {
		return 0, err
	}
	target, err := sizeGB(newSizeBytes)
	if err != nil {
		return 0, err
	}
	logger := klog.FromContext(ctx).WithValues("volumeID", id, "targetGB", target)
	ctx = klog.NewContext(ctx, logger)
	var last *nifcloud.Volume // the last look of the previous step
	for {
		v, err := d.waitSettled(ctx, id, last)
		if err != nil {
			return 0, err
		}
		if v.Size >= target {
			logger.V(2).Info("Disk is large enough", "sizeGB", v.Size)
			return int64(v.Size) * profile.GiB, nil
		}
		before := v.Size
		_, err = d.api.ExtendVolumeSize(ctx, &nifcloud.ExtendVolumeSizeInput{VolumeID: id, NiftyReboot: nifcloud.NiftyRebootFalse})
		switch {
		case isProcessing(err) || nifcloud.IsRetryable(err):
			// Busy, or maybe extended after all: look at the size again.
			logger.V(2).Info("ExtendVolumeSize refused; waiting and looking again", "err", err)
			if err := backoff.Sleep(ctx, d.opts.Poll.Delay(1)); err != nil {
				return 0, err
			}
			last = nil
			continue
		case err != nil:
			return 0, mapError(err, "extending volume %s from %d GB", id, before)
		}
		logger.V(2).Info("ExtendVolumeSize sent", "fromGB", before)
		last, err = d.waitVolume(ctx, id, fmt.Sprintf("extended beyond %d GB", before), func(_ context.Context, v *nifcloud.Volume) (bool, error) {
			if v == nil {
				return false, fmt.Errorf("volume %s: %w", id, backend.ErrNotFound)
			}
			return v.Size > before && settled(v), nil
		})
		if err != nil {
			return 0, err
		}
	}
}

// DeleteDisk implements backend.Disks. A missing disk wraps
// backend.ErrNotFound; an attached one is refused. A disk whose ID kumo
// did not derive is someone else's: it counts as missing and is left alone.
func (d *Disks) DeleteDisk(ctx context.Context, id string) error {
	if err := validateVolumeID(id); err != nil {
		return err
	}
	if !isKumoID(id) {
		return fmt.Errorf("volume %s was not created by kumo; not deleting it: %w", id, backend.ErrNotFound)
	}
	logger := klog.FromContext(ctx).WithValues("volumeID", id)
	ctx = klog.NewContext(ctx, logger)
	return d.deleteAndWait(ctx, id, true)
}

// deleteAndWait deletes a detached volume, retrying while it is busy, and
// waits until it is gone. With strict, the first look (a shared one, like
// all looks of waits) refuses a missing or attached volume; otherwise a
// missing volume counts as deleted.
func (d *Disks) deleteAndWait(ctx context.Context, id string, strict bool) error {
	logger := klog.FromContext(ctx)
	deleted, looked := false, false
	_, err := d.waitVolume(ctx, id, "deleted", func(ctx context.Context, v *nifcloud.Volume) (bool, error) {
		if first := !looked; first && strict {
			looked = true
			if v == nil {
				return false, fmt.Errorf("volume %s: %w", id, backend.ErrNotFound)
			}
			if att := activeAttachments(v); len(att) > 0 {
				return false, fmt.Errorf("volume %s is attached to instance %s (%s): %w", id, att[0].InstanceID, att[0].Status, backend.ErrFailedPrecondition)
			}
		}
		if v == nil {
			return true, nil
		}
		if deleted {
			return false, nil
		}
		_, err := d.api.DeleteVolume(ctx, id)
		switch {
		case err == nil:
			deleted = true
			logger.V(2).Info("DeleteVolume sent")
			return false, nil
		case isProcessing(err):
			return false, nil
		case nifcloud.IsRetryable(err):
			logger.V(2).Info("DeleteVolume failed transiently; retrying", "err", err)
			return false, nil
		case nifcloud.IsNotFound(err):
			return true, nil
		}
		return false, mapError(err, "deleting volume %s", id)
	})
	if err != nil && !strict && errors.Is(err, backend.ErrNotFound) {
		return nil
	}
	return err
}
