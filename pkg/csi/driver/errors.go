package driver

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// CodeFromError maps an error to the gRPC code the CSI specification
// expects: a gRPC status keeps its code, context errors become Canceled /
// DeadlineExceeded, backend sentinels map as documented in package backend
// and anything else is Internal.
func CodeFromError(err error) codes.Code {
	switch {
	case err == nil:
		return codes.OK
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, backend.ErrNotFound):
		return codes.NotFound
	case errors.Is(err, backend.ErrAlreadyExists):
		return codes.AlreadyExists
	case errors.Is(err, backend.ErrQuota), errors.Is(err, backend.ErrZoneExhausted):
		return codes.ResourceExhausted
	case errors.Is(err, backend.ErrInvalidArgument):
		return codes.InvalidArgument
	case errors.Is(err, backend.ErrFailedPrecondition):
		return codes.FailedPrecondition
	case errors.Is(err, backend.ErrUnavailable):
		return codes.Unavailable
	case errors.Is(err, backend.ErrOutOfRange):
		return codes.OutOfRange
	}
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	return codes.Internal
}

// StatusFromError returns err as a gRPC status error with the code of
// CodeFromError, prefixing the message with what (the failed operation).
// A nil err returns nil.
func StatusFromError(err error, what string) error {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok {
		return s.Err()
	}
	if what != "" {
		return status.Error(CodeFromError(err), what+": "+err.Error())
	}
	return status.Error(CodeFromError(err), err.Error())
}
