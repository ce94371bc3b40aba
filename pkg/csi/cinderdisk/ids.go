package cinderdisk

import (
	"sync"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// checkIDs refuses IDs that are not UUIDs before they reach a URL path:
// Cinder and Nova IDs are UUIDs, so only backend.PathSafeID forms are
// allowed; anything looser ("x/../<uuid>", "%2e%2e") could address another
// object. Well-formed but unknown IDs still reach the cloud and answer
// NotFound, as csi-sanity expects. Pairs are field name, value; empty
// values are skipped (optional fields).
func checkIDs(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if v := pairs[i+1]; v != "" {
			if err := backend.CheckPathSafeID(pairs[i], v, "ID", backend.MaxPathSafeIDLen); err != nil {
				return err
			}
		}
	}
	return nil
}

// ValidateVolumeID implements backend.VolumeIDValidator.
func (b *Backend) ValidateVolumeID(id string) error { return checkIDs("volume_id", id) }

// ValidateSnapshotID implements backend.SnapshotIDValidator.
func (b *Backend) ValidateSnapshotID(id string) error { return checkIDs("snapshot_id", id) }

// ValidateNodeID implements backend.NodeIDValidator.
func (b *Backend) ValidateNodeID(id string) error { return checkIDs("node_id", id) }

// nodeLocks serialises the count-then-attach of one server so that
// concurrent attaches cannot all pass the limit check.
type nodeLocks struct {
	mu    sync.Mutex
	locks map[string]*nodeLock
}

type nodeLock struct {
	mu   sync.Mutex
	refs int
}

func (l *nodeLocks) lock(key string) (unlock func()) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*nodeLock{}
	}
	e := l.locks[key]
	if e == nil {
		e = &nodeLock{}
		l.locks[key] = e
	}
	e.refs++
	l.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.locks, key)
		}
		l.mu.Unlock()
	}
}
