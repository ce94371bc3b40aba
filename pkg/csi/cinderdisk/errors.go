package cinderdisk

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// httpStatus returns the HTTP status of a gophercloud error (0 if none).
func httpStatus(err error) int {
	var ue gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ue) {
		return ue.Actual
	}
	var uep *gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &uep) && uep != nil {
		return uep.Actual
	}
	return 0
}

// apiError wraps an OpenStack API error with what was being done and the
// sentinel matching its HTTP status: 404 → ErrNotFound, 413 →
// ErrQuota, 409 → ErrFailedPrecondition, 429/503 (after the transport's
// retries) → ErrUnavailable. Other errors (other 4xx, 5xx, transport
// errors) wrap no sentinel and become codes.Internal.
func apiError(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	var sentinel error
	switch httpStatus(err) {
	case http.StatusNotFound:
		sentinel = backend.ErrNotFound
	case http.StatusRequestEntityTooLarge:
		sentinel = backend.ErrQuota
	case http.StatusConflict:
		sentinel = backend.ErrFailedPrecondition
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		sentinel = backend.ErrUnavailable
	}
	if sentinel == nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w: %w", what, sentinel, err)
}

// answerSays reports an error answer with the HTTP status whose body
// contains msg: how Cinder's refusals of one status are told apart.
func answerSays(err error, status int, msg string) bool {
	if httpStatus(err) != status {
		return false
	}
	var ue gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ue) {
		return bytes.Contains(ue.Body, []byte(msg))
	}
	var uep *gophercloud.ErrUnexpectedResponseCode
	return errors.As(err, &uep) && uep != nil && bytes.Contains(uep.Body, []byte(msg))
}

// unknownMarker reports Cinder's answer to a list marker it does not
// know: a 404 for the marker's object (Cinder looks it up like any
// other), or the 400 older releases and proxies give.
func unknownMarker(err error) bool {
	s := httpStatus(err)
	return s == http.StatusNotFound || s == http.StatusBadRequest
}

// isNotFound reports a 404 answer.
func isNotFound(err error) bool { return httpStatus(err) == http.StatusNotFound }

// transient reports errors worth polling through: throttling and server
// errors that outlived the transport's retries, and transport failures.
func transient(err error) bool {
	if errors.Is(err, errInErrorState) {
		return false
	}
	s := httpStatus(err)
	return s == 0 || s == http.StatusTooManyRequests || s >= 500
}

// errInErrorState marks a snapshot or backup Cinder put in status error:
// waiting longer cannot help, so the wait ends at once (and the caller
// cleans up).
var errInErrorState = errors.New("in status error")
