package backend

import "fmt"

// VolumeIDValidator is optionally implemented by a Disks or DeviceFinder
// whose cloud has a fixed volume ID form. The driver calls it before any
// other use of a volume_id, so that a malformed ID (e.g. "x/../<id>")
// never reaches a URL or a device path. The error should wrap
// ErrInvalidArgument.
type VolumeIDValidator interface {
	ValidateVolumeID(id string) error
}

// SnapshotIDValidator is the snapshot_id counterpart of VolumeIDValidator.
type SnapshotIDValidator interface {
	ValidateSnapshotID(id string) error
}

// NodeIDValidator is the node_id counterpart of VolumeIDValidator.
type NodeIDValidator interface {
	ValidateNodeID(id string) error
}

// MaxPathSafeIDLen is the usual length limit of PathSafeID: Cinder and
// Nova IDs are 36-character UUIDs, so 64 leaves room without allowing
// arbitrarily long names.
const MaxPathSafeIDLen = 64

// IDChars reports whether id is 1 to maxLen characters of [A-Za-z0-9_-].
// Such an ID cannot contain a path separator, a dot or a percent escape,
// so it names nothing but itself in a URL path or a file name.
func IDChars(id string, maxLen int) bool {
	if id == "" || len(id) > maxLen {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// PathSafeID is IDChars without a leading '-' (which a command line could
// read as an option): the form of an ID that may be put into a URL path
// ("x/../<id>" or "%2e%2e" would address another object) or joined into a
// device path ("x/../../../dev/loop0" would name an arbitrary device).
func PathSafeID(id string, maxLen int) bool {
	return IDChars(id, maxLen) && id[0] != '-'
}

// CheckPathSafeID returns nil when PathSafeID(id, maxLen), else an error
// wrapping ErrInvalidArgument that names the CSI field and what the ID
// should have been: `<field> "<id>" is not a valid <kind>`, e.g.
// CheckPathSafeID("volume_id", id, "Cinder volume ID", MaxPathSafeIDLen).
func CheckPathSafeID(field, id, kind string, maxLen int) error {
	if PathSafeID(id, maxLen) {
		return nil
	}
	return fmt.Errorf("%s %q is not a valid %s: %w", field, id, kind, ErrInvalidArgument)
}
