package nifclouddisk

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// AttachDisk implements backend.Disks: it attaches the disk to the
// instance nodeID, waits for the attachment and reports the SCSI slot as
// publish context devicePath ("SCSI (0:N)").
func (d *Disks) AttachDisk(ctx context.Context, diskID, nodeID string) (map[string]string, error) {
	if err := validateVolumeID(diskID); err != nil {
		return nil, err
	}
	logger := klog.FromContext(ctx).WithValues("volumeID", diskID, "instanceID", nodeID)
	ctx = klog.NewContext(ctx, logger)
	sent := false
	v, err := d.waitVolume(ctx, diskID, "attached to "+nodeID, func(ctx context.Context, v *nifcloud.Volume) (bool, error) {
		if v == nil {
			return false, fmt.Errorf("volume %s: %w", diskID, backend.ErrNotFound)
		}
		if a := attachmentTo(v, nodeID); a != nil {
			return a.Status == nifcloud.AttachmentAttached && settled(v), nil
		}
		for _, a := range activeAttachments(v) {
			if a.Status != nifcloud.AttachmentDetaching {
				return false, fmt.Errorf("volume %s is attached to instance %s (%s): %w", diskID, a.InstanceID, a.Status, backend.ErrFailedPrecondition)
			}
		}
		if sent || !settled(v) {
			return false, nil // our attach is not visible yet, or a detach elsewhere is finishing
		}
		_, err := d.api.AttachVolume(ctx, &nifcloud.AttachVolumeInput{VolumeID: diskID, InstanceID: nodeID})
		switch {
		case err == nil:
			sent = true
			logger.V(2).Info("AttachVolume sent")
			return false, nil
		case nifcloud.IsCode(err, nifcloud.CodeVolumeAlreadyAttached), isProcessing(err):
			return false, nil // the next look tells to whom
		case nifcloud.IsRetryable(err):
			// The next look shows whether the call took effect.
			logger.V(2).Info("AttachVolume failed transiently; retrying", "err", err)
			return false, nil
		case nifcloud.IsCode(err, nifcloud.CodeInstanceNotFound):
			return false, fmt.Errorf("instance %s: %w", nodeID, backend.ErrNotFound)
		}
		return false, mapError(err, "attaching volume %s to instance %s", diskID, nodeID)
	})
	if err != nil {
		return nil, err
	}
	dev, err := d.deviceName(ctx, v, nodeID)
	if err != nil {
		return nil, err
	}
	logger.V(2).Info("Volume attached", "device", dev)
	return map[string]string{backend.PublishContextDevicePath: dev}, nil
}

// deviceName is the "SCSI (0:N)" slot of the volume on the instance: from
// the attachment, or else (as the reference driver does) from the
// instance's block device mapping, matched by volume unique ID.
func (d *Disks) deviceName(ctx context.Context, v *nifcloud.Volume, instanceID string) (string, error) {
	if a := attachmentTo(v, instanceID); a != nil && scsiDevice.MatchString(a.Device) {
		return a.Device, nil
	}
	out, err := d.api.DescribeInstanceAttribute(ctx, &nifcloud.DescribeInstanceAttributeInput{
		InstanceID: instanceID, Attribute: nifcloud.AttributeBlockDeviceMapping,
	})
	if err != nil {
		return "", mapError(err, "reading the block devices of instance %s", instanceID)
	}
	for _, m := range out.BlockDeviceMappings {
		if (m.EBS.VolumeUniqueID == v.VolumeUniqueID && v.VolumeUniqueID != "") || m.EBS.VolumeID == v.VolumeID {
			if scsiDevice.MatchString(m.DeviceName) {
				return m.DeviceName, nil
			}
			return "", fmt.Errorf("volume %s on instance %s has device %q, not of the form \"SCSI (0:N)\"", v.VolumeID, instanceID, m.DeviceName)
		}
	}
	return "", fmt.Errorf("volume %s is not in the block device mapping of instance %s: %w", v.VolumeID, instanceID, backend.ErrUnavailable)
}

// DetachDisk implements backend.Disks.
func (d *Disks) DetachDisk(ctx context.Context, diskID, nodeID string) error {
	if err := validateVolumeID(diskID); err != nil {
		return err
	}
	logger := klog.FromContext(ctx).WithValues("volumeID", diskID, "instanceID", nodeID)
	ctx = klog.NewContext(ctx, logger)
	_, err := d.detachAndWait(ctx, diskID, nodeID, nil)
	return err
}

// detachAndWait detaches the volume from instanceID (if attached there)
// and waits until it is gone from the instance; start is as for
// waitVolumeFrom. A missing volume or instance wraps backend.ErrNotFound.
func (d *Disks) detachAndWait(ctx context.Context, diskID, instanceID string, start *nifcloud.Volume) (*nifcloud.Volume, error) {
	logger := klog.FromContext(ctx)
	sent := false
	return d.waitVolumeFrom(ctx, diskID, "detached from "+instanceID, start, func(ctx context.Context, v *nifcloud.Volume) (bool, error) {
		if v == nil {
			return false, fmt.Errorf("volume %s: %w", diskID, backend.ErrNotFound)
		}
		a := attachmentTo(v, instanceID)
		if a == nil {
			return true, nil
		}
		if sent || a.Status != nifcloud.AttachmentAttached || !settled(v) {
			return false, nil // attaching, extending or our detach in progress
		}
		_, err := d.api.DetachVolume(ctx, &nifcloud.DetachVolumeInput{VolumeID: diskID, InstanceID: instanceID})
		switch {
		case err == nil:
			sent = true
			logger.V(2).Info("DetachVolume sent")
			return false, nil
		case nifcloud.IsCode(err, nifcloud.CodeVolumeAlreadyDetached), isProcessing(err):
			return false, nil
		case nifcloud.IsRetryable(err):
			logger.V(2).Info("DetachVolume failed transiently; retrying", "err", err)
			return false, nil
		}
		return false, mapError(err, "detaching volume %s from instance %s", diskID, instanceID)
	})
}
