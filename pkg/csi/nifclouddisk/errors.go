package nifclouddisk

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// mapError wraps an API error with context and the backend sentinel its
// NIFCLOUD code corresponds to, so the driver answers with the right gRPC
// code. Errors without a matching sentinel (authentication failures,
// unknown codes) stay codes.Internal.
func mapError(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf(format, args...)
	if s := sentinelOf(err); s != nil {
		return fmt.Errorf("%s: %w: %w", msg, s, err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

func sentinelOf(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil // the driver maps these itself
	}
	e, ok := nifcloud.AsAPIError(err)
	if !ok {
		if nifcloud.IsRetryable(err) {
			return backend.ErrUnavailable // network failure after the client's retries
		}
		return nil
	}
	code := e.Code
	switch {
	case nifcloud.IsNotFound(err):
		return backend.ErrNotFound
	case e.Throttling():
		return backend.ErrUnavailable
	case strings.Contains(code, "VolumeLimitExceeded") || strings.Contains(code, "Quota"):
		return backend.ErrQuota
	case strings.Contains(code, "SizeLimitExceeded") || code == "Client.InvalidParameterValue.Size":
		return backend.ErrOutOfRange
	case nifcloud.IsDuplicate(err):
		return backend.ErrAlreadyExists
	case strings.HasPrefix(code, "Client.Inoperable.") || strings.HasPrefix(code, "Server.Inoperable."):
		return backend.ErrFailedPrecondition
	case strings.HasPrefix(code, "Client.InvalidParameter"):
		return backend.ErrInvalidArgument
	case e.Retryable():
		return backend.ErrUnavailable
	}
	return nil
}

// isProcessing reports a volume busy with another transition; waiting and
// retrying succeeds.
func isProcessing(err error) bool {
	e, ok := nifcloud.AsAPIError(err)
	return ok && strings.HasSuffix(e.Code, ".Processing")
}

// isHostProblem reports a CreateVolume failure caused by the chosen host
// instance (gone, in a bad state, full), worth trying another one.
func isHostProblem(err error) bool {
	e, ok := nifcloud.AsAPIError(err)
	if !ok {
		return false
	}
	return e.Code == nifcloud.CodeInstanceNotFound ||
		strings.HasPrefix(e.Code, "Client.Inoperable.Instance.")
}
