package cinderdisk

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/pagination"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// CreateDisk implements backend.Disks. It creates the volume and waits
// until it is available; a volume that fails to become available is
// deleted again so that nothing leaks. The driver looks the name up first
// (under its in-flight lock), so no second lookup is made here.
func (b *Backend) CreateDisk(ctx context.Context, req backend.CreateRequest) (*backend.Disk, error) {
	if err := checkIDs("volume_content_source volume_id", req.SourceVolumeID, "volume_content_source snapshot_id", req.SourceSnapshotID); err != nil {
		return nil, err
	}
	logger := klog.FromContext(ctx)
	opts := b.createOpts(req)
	// An unknown type is refused before anything is created.
	if err := b.types.check(ctx, opts.VolumeType); err != nil {
		return nil, err
	}
	v, err := volumes.Create(ctx, b.block, opts, nil).Extract()
	if err != nil && req.SourceSnapshotID != "" && isNotFound(err) && !isVolumeTypeNotFound(err) {
		// Not a snapshot: a backup ID is restored from the backup.
		v, err = b.restoreBackup(ctx, opts, err)
	}
	if err != nil {
		return nil, b.createError(ctx, err, req)
	}
	logger.V(2).Info("Cinder volume created, waiting for it to become available", "volumeID", v.ID, "name", req.Name, "sizeGiB", opts.Size, "zone", opts.AvailabilityZone, "type", opts.VolumeType)
	ready, err := b.waitAvailable(ctx, v.ID)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, backend.ErrUnavailable) {
			// Failed for good: do not leave a broken volume behind.
			b.cleanupVolume(ctx, v.ID)
		}
		return nil, err
	}
	return diskOf(ready), nil
}

// createError maps a failed create: a 404 for the volume type names the
// "type" parameter, a 400 for a zone Cinder lacks says where the zone came
// from and which zones Cinder has, a 400 for a snapshot source is
// explained by the snapshot's state, a 400 for a clone or restore into
// another zone than its source's is InvalidArgument.
func (b *Backend) createError(ctx context.Context, err error, req backend.CreateRequest) error {
	if t := req.Parameters.Get(profile.CinderParamType); t != "" && isVolumeTypeNotFound(err) {
		// Deleted since the check, or the check could not list the types.
		b.types.invalidate()
		return b.types.unknownError(t, err)
	}
	if zone := b.createOpts(req).AvailabilityZone; zone != "" && isUnknownZone(err) {
		return b.unknownZoneError(ctx, err, req, zone)
	}
	if isSameAZRefusal(err) {
		return fmt.Errorf("creating volume %q in availability zone %q from snapshot %q / volume %q, which is in another zone: %w: %w",
			req.Name, b.createOpts(req).AvailabilityZone, req.SourceSnapshotID, req.SourceVolumeID, backend.ErrInvalidArgument, err)
	}
	if httpStatus(err) == http.StatusBadRequest && req.SourceSnapshotID != "" {
		s, gerr := snapshots.Get(ctx, b.block, req.SourceSnapshotID).Extract()
		if gerr == nil && s.Status != "available" {
			return fmt.Errorf("source snapshot %s is %q, not available: %w", s.ID, s.Status, backend.ErrUnavailable)
		}
	}
	if httpStatus(err) == http.StatusBadRequest && (req.SourceVolumeID != "" || req.SourceSnapshotID != "") {
		return fmt.Errorf("creating volume %q from snapshot %q / volume %q: %w: %w", req.Name, req.SourceSnapshotID, req.SourceVolumeID, backend.ErrFailedPrecondition, err)
	}
	if httpStatus(err) == http.StatusBadRequest {
		return fmt.Errorf("creating volume %q (check the StorageClass parameters type/availability): %w: %w", req.Name, backend.ErrInvalidArgument, err)
	}
	return apiError(err, "creating volume %q", req.Name)
}

// cleanupVolume deletes a volume that failed to become usable, without
// the request's cancellation (it must happen even then).
func (b *Backend) cleanupVolume(ctx context.Context, id string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.WaitTimeout)
	defer cancel()
	err := volumes.Delete(cctx, b.block, id, nil).ExtractErr()
	if err != nil && !isNotFound(err) {
		klog.FromContext(ctx).Error(err, "Could not delete a volume that failed to become available; it is left behind", "volumeID", id)
		return
	}
	klog.FromContext(ctx).Info("Deleted a volume that failed to become available", "volumeID", id)
}

// DeleteDisk implements backend.Disks and waits until the volume is gone,
// so that its source snapshot or volume can be deleted right after.
func (b *Backend) DeleteDisk(ctx context.Context, id string) error {
	if err := checkIDs("volume_id", id); err != nil {
		return err
	}
	err := volumes.Delete(ctx, b.block, id, nil).ExtractErr()
	if err != nil && httpStatus(err) == http.StatusBadRequest {
		// Cinder refuses: explain why, or wait if it is already deleting.
		v, gerr := volumes.Get(ctx, b.block, id).Extract()
		switch {
		case isNotFound(gerr):
			return apiError(gerr, "volume %s", id)
		case gerr != nil:
			return apiError(err, "deleting volume %s", id)
		case v.Status == volDeleting:
			err = nil
		case len(v.Attachments) > 0:
			return fmt.Errorf("volume %s is attached to %v: %w", id, diskOf(v).AttachedNodes, backend.ErrFailedPrecondition)
		default:
			return fmt.Errorf("cinder refuses to delete volume %s in status %q (does it have snapshots?): %w: %w", id, v.Status, backend.ErrFailedPrecondition, err)
		}
	}
	if err != nil {
		return apiError(err, "deleting volume %s", id)
	}
	return b.waitDeleted(ctx, id)
}

// GetDisk implements backend.Disks.
func (b *Backend) GetDisk(ctx context.Context, id string) (*backend.Disk, error) {
	if err := checkIDs("volume_id", id); err != nil {
		return nil, err
	}
	v, err := volumes.Get(ctx, b.block, id).Extract()
	if err != nil {
		return nil, apiError(err, "getting volume %s", id)
	}
	return diskOf(v), nil
}

// FindDiskByName implements backend.Disks with Cinder's name filter.
// Volumes being deleted do not count: they cannot be used any more.
func (b *Backend) FindDiskByName(ctx context.Context, name string) (*backend.Disk, error) {
	pages, err := volumes.List(b.block, volumes.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, apiError(err, "listing volumes named %q", name)
	}
	vols, err := volumes.ExtractVolumes(pages)
	if err != nil {
		return nil, fmt.Errorf("decoding volumes named %q: %w", name, err)
	}
	var found []volumes.Volume
	for _, v := range vols {
		if v.Name == name && v.Status != volDeleting {
			found = append(found, v)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no volume named %q: %w", name, backend.ErrNotFound)
	case 1:
		return diskOf(&found[0]), nil
	}
	ids := make([]string, len(found))
	for i, v := range found {
		ids[i] = v.ID
	}
	return nil, fmt.Errorf("%d volumes are named %q (%v); delete the extra ones", len(found), name, ids)
}

// ListDisks implements backend.Disks. The token is the ID of the last
// volume of the previous page (Cinder's marker).
func (b *Backend) ListDisks(ctx context.Context, maxEntries int, token string) ([]*backend.Disk, string, error) {
	var out []*backend.Disk
	next := ""
	pager := volumes.List(b.block, volumes.ListOpts{Limit: maxEntries, Marker: token})
	err := pager.EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		vols, err := volumes.ExtractVolumes(page)
		if err != nil {
			return false, err
		}
		for i := range vols {
			if vols[i].Status != volDeleting {
				out = append(out, diskOf(&vols[i]))
			}
		}
		if maxEntries <= 0 {
			return true, nil
		}
		if u, _ := page.NextPageURL(); u != "" && len(vols) > 0 {
			next = vols[len(vols)-1].ID
		}
		return false, nil // one page per call
	})
	if err != nil {
		if token != "" && unknownMarker(err) {
			return nil, "", fmt.Errorf("unknown marker %q: %w", token, backend.ErrInvalidArgument)
		}
		return nil, "", apiError(err, "listing volumes")
	}
	return out, next, nil
}

// ExpandDisk implements backend.Disks (os-extend, microversion 3.42 for
// attached volumes) and waits until the new size is in place.
func (b *Backend) ExpandDisk(ctx context.Context, id string, newSizeBytes int64) (int64, error) {
	if err := checkIDs("volume_id", id); err != nil {
		return 0, err
	}
	v, err := b.waitSettled(ctx, id)
	if err != nil {
		return 0, err
	}
	want := sizeGiB(newSizeBytes)
	if v.Size >= want {
		return int64(v.Size) * gib, nil
	}
	status := v.Status
	if status != volAvailable && status != volInUse {
		return 0, fmt.Errorf("volume %s is %q; only available or in-use volumes can be extended: %w", id, status, backend.ErrFailedPrecondition)
	}
	err = volumes.ExtendSize(ctx, b.blockExtend, id, volumes.ExtendSizeOpts{NewSize: want}).ExtractErr()
	if err != nil {
		if httpStatus(err) == http.StatusBadRequest {
			return 0, fmt.Errorf("extending volume %s to %d GiB: %w: %w", id, want, backend.ErrFailedPrecondition, err)
		}
		return 0, apiError(err, "extending volume %s to %d GiB", id, want)
	}
	klog.FromContext(ctx).V(2).Info("Cinder volume extend requested", "volumeID", id, "fromGiB", v.Size, "toGiB", want)
	v, err = b.waitVolume(ctx, id, fmt.Sprintf("volume %s to reach %d GiB", id, want), false, func(v *volumes.Volume) (bool, error) {
		switch {
		case v == nil:
			return false, nil
		case volumeStatus(v.Status) == backend.StatusError:
			return false, fmt.Errorf("extending volume %s failed (status %q)", id, v.Status)
		}
		return v.Status == status && v.Size >= want, nil
	})
	if err != nil {
		return 0, err
	}
	return int64(v.Size) * gib, nil
}
