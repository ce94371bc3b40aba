package cinderdisk

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/backups"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// backupTokenPrefix starts the list tokens of the backups part of
// ListSnapshots; other tokens are snapshot markers.
const backupTokenPrefix = "backup:"

// ListSnapshots implements backend.Snapshots: the Cinder snapshots (not
// the intermediate ones of backups), then the backups, both without those
// being deleted. Pages never mix the two: the token of the last snapshot
// page is "backup:" when backups follow, a backups page's "backup:<id>".
func (b *Backend) ListSnapshots(ctx context.Context, sourceVolumeID string, maxEntries int, token string) ([]*backend.Snapshot, string, error) {
	if err := checkIDs("source_volume_id", sourceVolumeID); err != nil {
		return nil, "", err
	}
	if marker, ok := strings.CutPrefix(token, backupTokenPrefix); ok {
		return b.listBackups(ctx, sourceVolumeID, maxEntries, marker)
	}
	out, next, err := b.listCinderSnapshots(ctx, sourceVolumeID, maxEntries, token)
	if err != nil || next != "" {
		return out, next, err
	}
	if maxEntries > 0 {
		// Hand the backups to the next call, if there are any.
		some, _, err := b.listBackups(ctx, sourceVolumeID, 1, "")
		if err != nil || len(some) == 0 {
			return out, "", err
		}
		return out, backupTokenPrefix, nil
	}
	more, _, err := b.listBackups(ctx, sourceVolumeID, 0, "")
	return append(out, more...), "", err
}

// listBackups is one page of backups (all when maxEntries <= 0). A cloud
// without the backups API has none.
func (b *Backend) listBackups(ctx context.Context, sourceVolumeID string, maxEntries int, marker string) ([]*backend.Snapshot, string, error) {
	var out []*backend.Snapshot
	next := ""
	pager := backups.ListDetail(b.blockBackup, backupNameQuery{VolumeID: sourceVolumeID, Limit: maxEntries, Marker: marker})
	err := pager.EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		list, err := backups.ExtractBackups(page)
		if err != nil {
			return false, err
		}
		for i := range list {
			if list[i].Status != backupDeleting {
				out = append(out, snapshotOfBackup(&list[i]))
			}
		}
		if maxEntries <= 0 {
			return true, nil
		}
		if u, _ := page.NextPageURL(); u != "" && len(list) > 0 {
			next = backupTokenPrefix + list[len(list)-1].ID
		}
		return false, nil
	})
	switch {
	case err == nil:
		return out, next, nil
	case marker != "" && (httpStatus(err) == http.StatusBadRequest || isNotFound(err)):
		// Cinder looks the marker up like any backup: a 404 naming it.
		return nil, "", fmt.Errorf("unknown marker %q: %w", backupTokenPrefix+marker, backend.ErrInvalidArgument)
	case isNotFound(err):
		return nil, "", nil
	}
	return nil, "", apiError(err, "listing backups")
}
