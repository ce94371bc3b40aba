package cinderdisk

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/backups"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/pagination"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// CreateSnapshot implements backend.Snapshots and waits until the
// snapshot is available. Parameters: "force-create" snapshots in-use
// volumes; "type=backup" makes a Cinder backup instead (backups.go), whose
// ID is then the snapshot ID.
func (b *Backend) CreateSnapshot(ctx context.Context, name, sourceVolumeID string, params backend.Parameters) (*backend.Snapshot, error) {
	if err := checkIDs("source_volume_id", sourceVolumeID); err != nil {
		return nil, err
	}
	switch t := params.Get(profile.CinderSnapshotParamType); t {
	case "", profile.CinderSnapshotTypeSnapshot:
	case profile.CinderSnapshotTypeBackup:
		return b.createBackup(ctx, name, sourceVolumeID, params)
	default:
		return nil, fmt.Errorf("snapshot parameter %q: unknown type %q (want %q or %q): %w",
			profile.CinderSnapshotParamType, t, profile.CinderSnapshotTypeSnapshot, profile.CinderSnapshotTypeBackup, backend.ErrInvalidArgument)
	}
	s, err := b.createCinderSnapshot(ctx, name, sourceVolumeID, params, b.snapshotMetadata(params))
	if err != nil {
		return nil, err
	}
	return snapshotOf(s), nil
}

// snapshotMetadata is the metadata of created snapshots and backups: the
// sidecar's (VolumeSnapshot name/namespace, content name) and the cluster
// ID, as cinder-csi records them.
func (b *Backend) snapshotMetadata(params backend.Parameters) map[string]string {
	md := maps.Clone(params.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	if b.opts.ClusterID != "" {
		md[MetadataCluster] = b.opts.ClusterID
	}
	return md
}

// createCinderSnapshot creates a Cinder snapshot and waits until it is
// available; one that fails for good is deleted again.
func (b *Backend) createCinderSnapshot(ctx context.Context, name, sourceVolumeID string, params backend.Parameters, md map[string]string) (*snapshots.Snapshot, error) {
	force, _ := strconv.ParseBool(params.Get(profile.CinderSnapshotParamForceCreate))
	s, err := snapshots.Create(ctx, b.block, snapshots.CreateOpts{
		VolumeID: sourceVolumeID, Name: name, Description: Description, Force: force, Metadata: md,
	}).Extract()
	if err != nil {
		if httpStatus(err) == http.StatusBadRequest {
			return nil, fmt.Errorf("snapshotting volume %s (in-use volumes need the %q parameter): %w: %w",
				sourceVolumeID, profile.CinderSnapshotParamForceCreate, backend.ErrFailedPrecondition, err)
		}
		return nil, apiError(err, "snapshotting volume %s", sourceVolumeID)
	}
	klog.FromContext(ctx).V(2).Info("Cinder snapshot created, waiting for it to become available", "snapshotID", s.ID, "name", name, "volumeID", sourceVolumeID)
	ready, err := b.waitSnapshotAvailable(ctx, s.ID)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, backend.ErrUnavailable) {
			b.cleanupSnapshot(ctx, s.ID)
		}
		return nil, err
	}
	return ready, nil
}

// waitSnapshotAvailable waits until a snapshot is available; status error
// fails the wait.
func (b *Backend) waitSnapshotAvailable(ctx context.Context, id string) (*snapshots.Snapshot, error) {
	return b.waitSnapshot(ctx, id, "snapshot "+id+" to become available", func(s *snapshots.Snapshot) (bool, error) {
		switch {
		case s == nil:
			return false, nil
		case s.Status == "error":
			return false, fmt.Errorf("snapshot %s went to status error: %w", s.ID, errInErrorState)
		}
		return s.Status == "available", nil
	})
}

// cleanupSnapshot deletes a snapshot that failed, even after cancellation.
func (b *Backend) cleanupSnapshot(ctx context.Context, id string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.WaitTimeout)
	defer cancel()
	if err := snapshots.Delete(cctx, b.block, id).ExtractErr(); err != nil && !isNotFound(err) {
		klog.FromContext(ctx).Error(err, "Could not delete a failed snapshot; it is left behind", "snapshotID", id)
	}
}

// DeleteSnapshot implements backend.Snapshots and waits until the
// snapshot is gone (Cinder refuses to delete a volume with snapshots). As
// cinder-csi-plugin does, the ID is tried as a backup first, then as a
// snapshot.
func (b *Backend) DeleteSnapshot(ctx context.Context, id string) error {
	if err := checkIDs("snapshot_id", id); err != nil {
		return err
	}
	if err := b.deleteBackup(ctx, id); !errors.Is(err, backend.ErrNotFound) {
		return err
	}
	return b.deleteCinderSnapshot(ctx, id)
}

// deleteCinderSnapshot deletes a Cinder snapshot and waits until it is gone.
func (b *Backend) deleteCinderSnapshot(ctx context.Context, id string) error {
	err := snapshots.Delete(ctx, b.block, id).ExtractErr()
	if err != nil && httpStatus(err) == http.StatusBadRequest {
		s, gerr := snapshots.Get(ctx, b.block, id).Extract()
		switch {
		case gerr != nil:
			return apiError(err, "deleting snapshot %s", id)
		case s.Status != "deleting":
			return fmt.Errorf("cinder refuses to delete snapshot %s in status %q: %w: %w", id, s.Status, backend.ErrFailedPrecondition, err)
		}
		err = nil
	}
	if err != nil {
		return apiError(err, "deleting snapshot %s", id)
	}
	_, err = b.waitSnapshot(ctx, id, "snapshot "+id+" to be deleted", func(s *snapshots.Snapshot) (bool, error) {
		if s != nil && s.Status == "error_deleting" {
			return false, fmt.Errorf("deleting snapshot %s failed (status %q): %w", id, s.Status, errInErrorState)
		}
		return s == nil, nil
	})
	return err
}

// GetSnapshot implements backend.Snapshots: a snapshot, else a backup.
func (b *Backend) GetSnapshot(ctx context.Context, id string) (*backend.Snapshot, error) {
	if err := checkIDs("snapshot_id", id); err != nil {
		return nil, err
	}
	s, err := snapshots.Get(ctx, b.block, id).Extract()
	if isNotFound(err) {
		if bk, berr := backups.Get(ctx, b.blockBackup, id).Extract(); berr == nil {
			return snapshotOfBackup(bk), nil
		}
	}
	if err != nil {
		return nil, apiError(err, "getting snapshot %s", id)
	}
	return snapshotOf(s), nil
}

// FindSnapshotByName implements backend.Snapshots. A backup of that name
// counts once it is available and its intermediate snapshot is gone;
// before, ErrNotFound lets CreateSnapshot resume its creation.
func (b *Backend) FindSnapshotByName(ctx context.Context, name string) (*backend.Snapshot, error) {
	list, err := b.snapshotsNamed(ctx, name)
	if err != nil {
		return nil, err
	}
	var found []snapshots.Snapshot
	intermediate := false
	for _, s := range list {
		if s.Metadata[MetadataBackupSnapshot] != "" {
			intermediate = true
			continue
		}
		found = append(found, s)
	}
	bk, err := b.findBackup(ctx, name)
	switch {
	case errors.Is(err, backend.ErrNotFound): // no backups API: no backups
	case err != nil:
		return nil, err
	case bk != nil && bk.Status == backupAvailable && !intermediate:
		return snapshotOfBackup(bk), nil
	case bk != nil:
		return nil, fmt.Errorf("backup %q (%s) is still being made (status %q): %w", name, bk.ID, bk.Status, backend.ErrNotFound)
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no snapshot named %q: %w", name, backend.ErrNotFound)
	case 1:
		return snapshotOf(&found[0]), nil
	}
	return nil, fmt.Errorf("%d snapshots are named %q; delete the extra ones", len(found), name)
}

// snapshotsNamed lists the snapshots called name that are not being
// deleted.
func (b *Backend) snapshotsNamed(ctx context.Context, name string) ([]snapshots.Snapshot, error) {
	pages, err := snapshots.List(b.block, snapshots.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, apiError(err, "listing snapshots named %q", name)
	}
	list, err := snapshots.ExtractSnapshots(pages)
	if err != nil {
		return nil, fmt.Errorf("decoding snapshots named %q: %w", name, err)
	}
	var out []snapshots.Snapshot
	for _, s := range list {
		if s.Name == name && s.Status != "deleting" {
			out = append(out, s)
		}
	}
	return out, nil
}

// listCinderSnapshots is one page of snapshots (all when maxEntries <= 0)
// without the intermediate snapshots of backups; paging as in ListDisks.
func (b *Backend) listCinderSnapshots(ctx context.Context, sourceVolumeID string, maxEntries int, token string) ([]*backend.Snapshot, string, error) {
	var out []*backend.Snapshot
	next := ""
	pager := snapshots.List(b.block, snapshots.ListOpts{VolumeID: sourceVolumeID, Limit: maxEntries, Marker: token})
	err := pager.EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		list, err := snapshots.ExtractSnapshots(page)
		if err != nil {
			return false, err
		}
		for i := range list {
			if list[i].Status != "deleting" && list[i].Metadata[MetadataBackupSnapshot] == "" {
				out = append(out, snapshotOf(&list[i]))
			}
		}
		if maxEntries <= 0 {
			return true, nil
		}
		if u, _ := page.NextPageURL(); u != "" && len(list) > 0 {
			next = list[len(list)-1].ID
		}
		return false, nil
	})
	if err != nil {
		if token != "" && unknownMarker(err) {
			return nil, "", fmt.Errorf("unknown marker %q: %w", token, backend.ErrInvalidArgument)
		}
		return nil, "", apiError(err, "listing snapshots")
	}
	return out, next, nil
}
