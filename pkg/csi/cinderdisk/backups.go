package cinderdisk

// Snapshots of "type: backup" follow cinder-csi-plugin: snapshot the
// volume, wait for the snapshot, back the snapshot up (snapshot_id,
// microversion 3.51 for the availability zone and metadata), wait for the
// backup, bounded by backup-max-duration-seconds-per-gb × size, and delete
// the snapshot. The intermediate snapshot has the backup's name and carries
// MetadataBackupSnapshot, so each step finds what an earlier, interrupted
// attempt left and resumes instead of starting over.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/backups"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// DefaultBackupSecondsPerGB is cinder-csi-plugin's default of
// backup-max-duration-seconds-per-gb.
const DefaultBackupSecondsPerGB = 20

// Cinder backup states (API reference).
const (
	backupAvailable = "available"
	backupError     = "error"
	backupDeleting  = "deleting"
)

// backupSecondsPerGB reads backup-max-duration-seconds-per-gb.
func backupSecondsPerGB(params backend.Parameters) (int, error) {
	v := params.Get(profile.CinderSnapshotParamBackupMaxDurationPGB)
	if v == "" {
		return DefaultBackupSecondsPerGB, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("snapshot parameter %q: %q is not a positive integer: %w",
			profile.CinderSnapshotParamBackupMaxDurationPGB, v, backend.ErrInvalidArgument)
	}
	return n, nil
}

// createBackup makes (or resumes making) the backup called name of
// volumeID. A backup that fails is deleted with its snapshot; one that
// takes longer than allowed is left to finish (ErrUnavailable: the CO
// retries, and the retry waits for it).
func (b *Backend) createBackup(ctx context.Context, name, volumeID string, params backend.Parameters) (*backend.Snapshot, error) {
	perGB, err := backupSecondsPerGB(params)
	if err != nil {
		return nil, err
	}
	logger := klog.FromContext(ctx)
	bk, err := b.findBackup(ctx, name)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, fmt.Errorf("this cloud has no Cinder backups API (listing backups: %v): %w", err, backend.ErrFailedPrecondition)
	}
	if err != nil {
		return nil, err
	}
	if bk != nil && bk.VolumeID != volumeID {
		return nil, fmt.Errorf("backup %q (%s) exists for source volume %s, not %s: %w", name, bk.ID, bk.VolumeID, volumeID, backend.ErrAlreadyExists)
	}
	if bk != nil && bk.Status == backupError {
		// A failed earlier attempt: start again.
		logger.Info("Deleting a failed backup before making it again", "backupID", bk.ID, "name", name, "failReason", bk.FailReason)
		if err := b.deleteBackup(ctx, bk.ID); err != nil && !errors.Is(err, backend.ErrNotFound) {
			return nil, err
		}
		bk = nil
	}
	snap, err := b.backupSnapshot(ctx, name, volumeID, params, bk == nil)
	if err != nil {
		return nil, err
	}
	if bk == nil {
		if bk, err = b.startBackup(ctx, name, volumeID, snap, params); err != nil {
			b.cleanupSnapshot(ctx, snap.ID)
			return nil, err
		}
	}
	logger.V(2).Info("Cinder backup requested, waiting for it to become available", "backupID", bk.ID, "name", name, "volumeID", volumeID)
	size := bk.Size
	if size == 0 && snap != nil {
		size = snap.Size // the create answer has no size
	}
	ready, err := b.waitBackup(ctx, bk.ID, time.Duration(max(size, 1)*perGB)*time.Second)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, backend.ErrUnavailable) {
			b.cleanupBackup(ctx, bk.ID)
			if snap != nil {
				b.cleanupSnapshot(ctx, snap.ID)
			}
		}
		return nil, err
	}
	if err := b.dropBackupSnapshots(ctx, name); err != nil {
		return nil, fmt.Errorf("backup %s is available, but its intermediate snapshot is left (a retry deletes it): %w", ready.ID, err)
	}
	return snapshotOfBackup(ready), nil
}

// backupSnapshot returns the intermediate snapshot of the backup called
// name: the one an earlier attempt made, or a new one. create says whether
// it must exist (and be available) because the backup is still to be made;
// otherwise nil is fine.
func (b *Backend) backupSnapshot(ctx context.Context, name, volumeID string, params backend.Parameters, create bool) (*snapshots.Snapshot, error) {
	list, err := b.snapshotsNamed(ctx, name)
	if err != nil {
		return nil, err
	}
	for i := range list {
		s := &list[i]
		if s.Metadata[MetadataBackupSnapshot] == "" || s.VolumeID != volumeID {
			continue
		}
		switch {
		case !create:
			return s, nil
		case s.Status == "error":
			b.cleanupSnapshot(ctx, s.ID)
			continue
		}
		return b.waitSnapshotAvailable(ctx, s.ID)
	}
	if !create {
		return nil, nil
	}
	md := b.snapshotMetadata(params)
	md[MetadataBackupSnapshot] = "true"
	return b.createCinderSnapshot(ctx, name, volumeID, params, md)
}

// startBackup asks Cinder for the backup of snap.
func (b *Backend) startBackup(ctx context.Context, name, volumeID string, snap *snapshots.Snapshot, params backend.Parameters) (*backups.Backup, error) {
	az := params.Get(profile.CinderParamAvailability)
	bk, err := backups.Create(ctx, b.blockBackup, backups.CreateOpts{
		VolumeID: volumeID, SnapshotID: snap.ID, Name: name, Description: Description,
		Metadata: b.snapshotMetadata(params), AvailabilityZone: az,
	}).Extract()
	if err == nil {
		return bk, nil
	}
	if transient(err) {
		// The answer may be lost after Cinder took the request: adopt what
		// it made rather than leave it behind.
		if found, ferr := b.findBackup(ctx, name); ferr == nil && found != nil && found.VolumeID == volumeID {
			return found, nil
		}
	}
	switch {
	case httpStatus(err) == http.StatusServiceUnavailable && errorBodyContains(err, "cinder-backup"):
		return nil, fmt.Errorf("backups are not enabled in this cloud: no cinder-backup service (availability zone %q): %w: %w", az, backend.ErrFailedPrecondition, err)
	case isNotFound(err) && !errorBodyContains(err, "Volume ") && !errorBodyContains(err, "Snapshot "):
		return nil, fmt.Errorf("backups are not enabled in this cloud (no Cinder backups API): %w: %w", backend.ErrFailedPrecondition, err)
	case httpStatus(err) == http.StatusBadRequest:
		return nil, fmt.Errorf("backing up snapshot %s of volume %s: %w: %w", snap.ID, volumeID, backend.ErrFailedPrecondition, err)
	}
	return nil, apiError(err, "backing up snapshot %s of volume %s", snap.ID, volumeID)
}

// waitBackup polls a backup until it is available; status error fails
// (with Cinder's fail_reason), so does its disappearance.
func (b *Backend) waitBackup(ctx context.Context, id string, timeout time.Duration) (*backups.Backup, error) {
	var ready *backups.Backup
	err := b.pollFor(ctx, timeout, "backup "+id+" to become available", func(ctx context.Context) (bool, error) {
		bk, err := backups.Get(ctx, b.blockBackup, id).Extract()
		switch {
		case isNotFound(err):
			return false, apiError(err, "backup %s disappeared while being made", id)
		case err != nil:
			return false, err
		case bk.Status == backupError:
			return false, fmt.Errorf("backup %s went to status error (%s): %w", id, bk.FailReason, errInErrorState)
		}
		ready = bk
		return bk.Status == backupAvailable, nil
	})
	return ready, err
}

// dropBackupSnapshots deletes the intermediate snapshots called name and
// waits until they are gone (they keep their volume from being deleted).
func (b *Backend) dropBackupSnapshots(ctx context.Context, name string) error {
	list, err := b.snapshotsNamed(ctx, name)
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.Metadata[MetadataBackupSnapshot] == "" {
			continue
		}
		if err := b.deleteCinderSnapshot(ctx, s.ID); err != nil && !errors.Is(err, backend.ErrNotFound) {
			return err
		}
	}
	return nil
}

// deleteBackup deletes a backup and waits until it is gone; a missing one
// (or a cloud without the backups API) wraps ErrNotFound.
func (b *Backend) deleteBackup(ctx context.Context, id string) error {
	err := backups.Delete(ctx, b.blockBackup, id).ExtractErr()
	if err != nil && httpStatus(err) == http.StatusBadRequest {
		bk, gerr := backups.Get(ctx, b.blockBackup, id).Extract()
		switch {
		case gerr != nil:
			return apiError(err, "deleting backup %s", id)
		case bk.Status != backupDeleting:
			return fmt.Errorf("cinder refuses to delete backup %s in status %q: %w: %w", id, bk.Status, backend.ErrFailedPrecondition, err)
		}
		err = nil
	}
	if err != nil {
		return apiError(err, "deleting backup %s", id)
	}
	return b.poll(ctx, "backup "+id+" to be deleted", func(ctx context.Context) (bool, error) {
		bk, err := backups.Get(ctx, b.blockBackup, id).Extract()
		switch {
		case isNotFound(err):
			return true, nil
		case err != nil:
			return false, err
		case bk.Status == "error_deleting":
			return false, fmt.Errorf("deleting backup %s failed (status %q): %w", id, bk.Status, errInErrorState)
		}
		return false, nil
	})
}

// cleanupBackup deletes a failed backup, even after cancellation.
func (b *Backend) cleanupBackup(ctx context.Context, id string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.WaitTimeout)
	defer cancel()
	if err := b.deleteBackup(cctx, id); err != nil && !errors.Is(err, backend.ErrNotFound) {
		klog.FromContext(ctx).Error(err, "Could not delete a failed backup; it is left behind", "backupID", id)
	}
}

// backupNameQuery is the detailed backup list with the filters Cinder
// takes on it (gophercloud's ListDetailOpts has none).
type backupNameQuery struct {
	Name     string `q:"name"`
	VolumeID string `q:"volume_id"`
	Limit    int    `q:"limit"`
	Marker   string `q:"marker"`
}

// ToBackupListDetailQuery implements backups.ListDetailOptsBuilder.
func (o backupNameQuery) ToBackupListDetailQuery() (string, error) {
	q, err := gophercloud.BuildQueryString(o)
	if err != nil {
		return "", err
	}
	return q.String(), nil
}

// findBackup returns the backup called name (nil if none), ignoring ones
// being deleted; more than one is an error. A 404 (no backups API) wraps
// ErrNotFound.
func (b *Backend) findBackup(ctx context.Context, name string) (*backups.Backup, error) {
	pages, err := backups.ListDetail(b.blockBackup, backupNameQuery{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, apiError(err, "listing backups named %q", name)
	}
	list, err := backups.ExtractBackups(pages)
	if err != nil {
		return nil, fmt.Errorf("decoding backups named %q: %w", name, err)
	}
	var found []backups.Backup
	for _, bk := range list {
		if bk.Name == name && bk.Status != backupDeleting {
			found = append(found, bk)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	}
	return nil, fmt.Errorf("%d backups are named %q; delete the extra ones", len(found), name)
}

// snapshotOfBackup converts a Cinder backup; its ID is the snapshot ID.
func snapshotOfBackup(bk *backups.Backup) *backend.Snapshot {
	return &backend.Snapshot{
		ID:             bk.ID,
		Name:           bk.Name,
		SourceVolumeID: bk.VolumeID,
		SizeBytes:      int64(bk.Size) * gib,
		CreatedAt:      bk.CreatedAt,
		ReadyToUse:     bk.Status == backupAvailable,
	}
}

// errorBodyContains reports whether an API error's body contains s.
func errorBodyContains(err error, s string) bool {
	var ue gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ue) {
		return bytes.Contains(ue.Body, []byte(s))
	}
	var uep *gophercloud.ErrUnexpectedResponseCode
	return errors.As(err, &uep) && uep != nil && bytes.Contains(uep.Body, []byte(s))
}

// restoreBackup creates the volume of opts from the backup whose ID was
// given as its snapshot (microversion 3.47); snapErr is the snapshot's 404,
// returned when there is no such backup either.
func (b *Backend) restoreBackup(ctx context.Context, opts volumes.CreateOpts, snapErr error) (*volumes.Volume, error) {
	id := opts.SnapshotID
	bk, err := backups.Get(ctx, b.blockBackup, id).Extract()
	if err != nil {
		return nil, snapErr
	}
	if bk.Status != backupAvailable {
		return nil, fmt.Errorf("source backup %s is %q, not available: %w", id, bk.Status, backend.ErrUnavailable)
	}
	opts.SnapshotID, opts.BackupID = "", id
	klog.FromContext(ctx).V(2).Info("Restoring a volume from a Cinder backup", "backupID", id, "name", opts.Name)
	return volumes.Create(ctx, b.blockRestore, opts, nil).Extract()
}
