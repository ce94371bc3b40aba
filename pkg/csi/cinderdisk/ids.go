package cinderdisk

import (
	"fmt"
	"sync"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// validID reports whether s can safely be put into a URL path: Cinder and
// Nova IDs are UUIDs, so only [A-Za-z0-9_-] (no leading '-') is allowed.
// Anything looser ("x/../<uuid>", "%2e%2e") could address another object.
// Well-formed but unknown IDs still reach the cloud and answer NotFound, as
// csi-sanity expects.
func validID(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// checkIDs refuses IDs that are not UUIDs before they reach a URL path
// ("x/../<uuid>" would otherwise address another object). Pairs are
// field name, value; empty values are skipped (optional fields).
func checkIDs(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if v := pairs[i+1]; v != "" && !validID(v) {
			return fmt.Errorf("%s %q is not a valid ID: %w", pairs[i], v, backend.ErrInvalidArgument)
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
