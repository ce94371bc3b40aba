package backend

import "errors"

// Sentinel errors. Backends wrap them with %w, adding context:
//
//	return nil, fmt.Errorf("volume %s: %w", id, backend.ErrNotFound)
//
// The driver maps them to gRPC codes (see driver.StatusFromError); the
// mapping of each is given below. Errors that wrap none of them become
// codes.Internal. context.Canceled and context.DeadlineExceeded map to
// codes.Canceled and codes.DeadlineExceeded.
var (
	// ErrNotFound: the disk, snapshot, node or device does not exist
	// (codes.NotFound; success for idempotent deletes and detaches).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: an object with the same name but incompatible
	// properties exists (codes.AlreadyExists).
	ErrAlreadyExists = errors.New("already exists")
	// ErrQuota: a cloud quota or a per-node attachment limit is exhausted
	// (codes.ResourceExhausted).
	ErrQuota = errors.New("quota exceeded")
	// ErrZoneExhausted: the zone the requested topology chose cannot hold
	// the disk (codes.ResourceExhausted, the CSI code for "unable to
	// provision in accessible_topology", on which the external-provisioner
	// reschedules a WaitForFirstConsumer claim to another node).
	ErrZoneExhausted = errors.New("cannot be provisioned in the requested topology")
	// ErrInvalidArgument: the request is invalid for this cloud, for
	// example an unknown parameter or an invalid list token
	// (codes.InvalidArgument; codes.Aborted for list tokens).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrFailedPrecondition: the object is in a state that forbids the
	// operation, e.g. deleting an attached disk (codes.FailedPrecondition).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrUnavailable: the cloud or the object is temporarily unavailable,
	// e.g. a snapshot that is not ready yet; retrying later may succeed
	// (codes.Unavailable).
	ErrUnavailable = errors.New("unavailable")
	// ErrOutOfRange: a requested size cannot be satisfied within the
	// given limit or the cloud's bounds (codes.OutOfRange).
	ErrOutOfRange = errors.New("out of range")
)
