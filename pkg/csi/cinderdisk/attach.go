package cinderdisk

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// publishContext carries Nova's device name as a hint; the node finds the
// disk by its serial (pkg/csi/device.Cinder), as Nova's name is often wrong.
func publishContext(device string) map[string]string {
	if device == "" {
		return nil
	}
	return map[string]string{backend.PublishContextDevicePath: device}
}

// AttachDisk implements backend.Disks: it attaches through Nova
// os-volume_attachments and waits until Cinder reports the volume in-use
// on the server.
func (b *Backend) AttachDisk(ctx context.Context, diskID, nodeID string) (map[string]string, error) {
	if err := checkIDs("volume_id", diskID, "node_id", nodeID); err != nil {
		return nil, err
	}
	logger := klog.FromContext(ctx).WithValues("volumeID", diskID, "nodeID", nodeID)
	// A volume still being created, detached or extended cannot be
	// attached yet: wait for it to settle first.
	v, err := b.waitSettled(ctx, diskID)
	if err != nil {
		return nil, err
	}
	if a, ok := attachment(v, nodeID); ok && v.Status == volInUse {
		logger.V(2).Info("Volume already attached", "device", a.Device)
		return publishContext(a.Device), nil
	}
	if others := otherNodes(v, nodeID); len(others) > 0 && !v.Multiattach {
		return nil, fmt.Errorf("volume %s is attached to %v: %w", diskID, others, backend.ErrFailedPrecondition)
	}
	if v.Status != volAvailable {
		return nil, fmt.Errorf("volume %s is %q; only available volumes can be attached: %w", diskID, v.Status, backend.ErrFailedPrecondition)
	}
	// Held until the attachment shows, so the next count includes it.
	unlock := b.attachLocks.lock(nodeID)
	defer unlock()
	if err := b.checkAttachLimit(ctx, nodeID); err != nil {
		return nil, err
	}
	_, err = volumeattach.Create(ctx, b.compute, nodeID, volumeattach.CreateOpts{VolumeID: diskID}).Extract()
	switch {
	case err == nil:
	case httpStatus(err) == http.StatusConflict:
		// Attached concurrently (e.g. a retried request): wait for it.
		logger.V(2).Info("Nova reports the volume already attached", "err", err)
	case httpStatus(err) == http.StatusForbidden:
		return nil, fmt.Errorf("attaching volume %s to server %s (attach limit?): %w: %w", diskID, nodeID, backend.ErrQuota, err)
	case httpStatus(err) == http.StatusBadRequest:
		return nil, fmt.Errorf("attaching volume %s to server %s: %w: %w", diskID, nodeID, backend.ErrFailedPrecondition, err)
	default:
		return nil, apiError(err, "attaching volume %s to server %s", diskID, nodeID)
	}
	var device string
	_, err = b.waitVolume(ctx, diskID, "volume "+diskID+" to be attached to "+nodeID, false, func(v *volumes.Volume) (bool, error) {
		if v == nil {
			return false, nil
		}
		a, ok := attachment(v, nodeID)
		switch {
		case volumeStatus(v.Status) == backend.StatusError:
			return false, fmt.Errorf("attaching volume %s to %s failed (status %q)", diskID, nodeID, v.Status)
		case v.Status == volAvailable && !ok:
			return false, fmt.Errorf("attaching volume %s to %s failed: the volume is available again without attachment", diskID, nodeID)
		case ok && v.Status == volInUse:
			device = a.Device
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	logger.V(2).Info("Volume attached", "device", device)
	return publishContext(device), nil
}

// DetachDisk implements backend.Disks: it detaches through Nova and waits
// until Cinder no longer lists the attachment.
func (b *Backend) DetachDisk(ctx context.Context, diskID, nodeID string) error {
	if err := checkIDs("volume_id", diskID, "node_id", nodeID); err != nil {
		return err
	}
	logger := klog.FromContext(ctx).WithValues("volumeID", diskID, "nodeID", nodeID)
	v, err := b.waitSettled(ctx, diskID)
	if err != nil {
		return err
	}
	if _, ok := attachment(v, nodeID); !ok {
		logger.V(2).Info("Volume not attached to the node")
		return nil
	}
	err = volumeattach.Delete(ctx, b.compute, nodeID, diskID).ExtractErr()
	if err != nil {
		if httpStatus(err) == http.StatusBadRequest {
			return fmt.Errorf("detaching volume %s from server %s: %w: %w", diskID, nodeID, backend.ErrFailedPrecondition, err)
		}
		return apiError(err, "detaching volume %s from server %s", diskID, nodeID)
	}
	_, err = b.waitVolume(ctx, diskID, "volume "+diskID+" to be detached from "+nodeID, false, func(v *volumes.Volume) (bool, error) {
		if v == nil {
			return true, nil
		}
		if volumeStatus(v.Status) == backend.StatusError {
			return false, fmt.Errorf("detaching volume %s from %s failed (status %q)", diskID, nodeID, v.Status)
		}
		_, still := attachment(v, nodeID)
		return !still && v.Status != volDetaching, nil
	})
	if err != nil {
		return err
	}
	logger.V(2).Info("Volume detached")
	return nil
}

// checkAttachLimit enforces Options.MaxAttachmentsPerNode. Nova's own
// limit (max_disk_devices_to_attach, 403) is mapped to ErrQuota as well.
func (b *Backend) checkAttachLimit(ctx context.Context, nodeID string) error {
	limit := b.opts.MaxAttachmentsPerNode
	if limit <= 0 {
		return nil
	}
	pages, err := volumeattach.List(b.compute, nodeID).AllPages(ctx)
	if err != nil {
		return apiError(err, "listing the volume attachments of server %s", nodeID)
	}
	atts, err := volumeattach.ExtractVolumeAttachments(pages)
	if err != nil {
		return fmt.Errorf("decoding the volume attachments of server %s: %w", nodeID, err)
	}
	if len(atts) >= limit {
		return fmt.Errorf("server %s already has %d volumes attached, the limit is %d: %w", nodeID, len(atts), limit, backend.ErrQuota)
	}
	return nil
}

// otherNodes are the servers other than node the volume is attached to.
func otherNodes(v *volumes.Volume, node string) []string {
	var out []string
	for _, a := range v.Attachments {
		if a.ServerID != node && a.ServerID != "" {
			out = append(out, a.ServerID)
		}
	}
	return out
}

// NodeExists implements backend.Disks: the node ID is a Nova server ID.
func (b *Backend) NodeExists(ctx context.Context, nodeID string) (bool, error) {
	if err := checkIDs("node_id", nodeID); err != nil {
		return false, err
	}
	_, err := servers.Get(ctx, b.compute, nodeID).Extract()
	switch {
	case err == nil:
		return true, nil
	case isNotFound(err):
		return false, nil
	}
	return false, apiError(err, "getting server %s", nodeID)
}
