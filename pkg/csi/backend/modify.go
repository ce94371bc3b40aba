package backend

import "context"

// MutableParameterParser is implemented by profiles of clouds whose disks
// can be changed after creation (a VolumeAttributesClass's parameters,
// CSI mutable_parameters). Profiles that do not implement it make the
// driver refuse mutable parameters.
type MutableParameterParser interface {
	// ParseMutableParameters validates mutable parameters; the result has
	// the canonical keys of ParseParameters, so that CreateVolume can let
	// them override the StorageClass parameters as the CSI specification
	// asks. Errors wrap ErrInvalidArgument and name the offending key.
	ParseMutableParameters(params map[string]string) (Parameters, error)
}

// ModifyUnsupportedReasoner is optionally implemented by profiles that do
// not implement MutableParameterParser, to tell users why their cloud
// cannot change disks (ControllerModifyVolume's Unimplemented message).
type ModifyUnsupportedReasoner interface {
	ModifyUnsupportedReason() string
}

// Modifier is implemented by backends that can change a disk in place.
// The driver discovers it by type assertion on its Disks value and
// advertises MODIFY_VOLUME only when the profile also implements
// MutableParameterParser.
type Modifier interface {
	// ModifyDisk applies params (from ParseMutableParameters) to a disk
	// and returns once the change is complete. A disk that already has
	// the requested attributes succeeds without change. A missing disk
	// wraps ErrNotFound; a value the cloud does not know wraps
	// ErrInvalidArgument and names the parameter; a disk in a state that
	// forbids the change wraps ErrFailedPrecondition.
	ModifyDisk(ctx context.Context, id string, params Parameters) error
}
