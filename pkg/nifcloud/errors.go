package nifcloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Error code prefixes and codes the callers branch on. See nifcloud-facts.md
// for the codes observed in the reference implementations.
const (
	// CodePrefixNotFound starts every "resource does not exist" code, e.g.
	// Client.InvalidParameterNotFound.Instance.
	CodePrefixNotFound = "Client.InvalidParameterNotFound."
	// CodePrefixDuplicate starts every "already exists" code, e.g.
	// Client.InvalidParameterDuplicate.LoadBalancer.
	CodePrefixDuplicate = "Client.InvalidParameterDuplicate."

	CodeInstanceNotFound            = "Client.InvalidParameterNotFound.Instance"
	CodeVolumeNotFound              = "Client.InvalidParameterNotFound.Volume"
	CodeLoadBalancerNotFound        = "Client.InvalidParameterNotFound.LoadBalancer"
	CodeLoadBalancerPortNotFound    = "Client.InvalidParameterNotFound.LoadBalancerPort"
	CodeElasticLoadBalancerNotFound = "Client.InvalidParameterNotFound.ElasticLoadBalancer"
	CodeSecurityGroupNotFound       = "Client.InvalidParameterNotFound.SecurityGroup"
	CodeSecurityGroupRuleNotFound   = "Client.InvalidParameterNotFound.SecurityGroupIngress"
	// CodeNetworkIDNotFound: a private LAN network id does not exist (in
	// the public API's naming; not observed in the reference repositories).
	CodeNetworkIDNotFound = "Client.InvalidParameterNotFound.NetworkId"

	CodeLoadBalancerDuplicate        = "Client.InvalidParameterDuplicate.LoadBalancer"
	CodeElasticLoadBalancerDuplicate = "Client.InvalidParameterDuplicate.ElasticLoadBalancer"
	CodeIPAddressDuplicate           = "Client.InvalidParameterDuplicate.IpAddress"
	CodeLoadBalancerPortExists       = "Client.Inoperable.LoadBalancerPort.AlreadyExists"

	CodeVolumeAlreadyAttached = "Server.Inoperable.Volume.AlreadyAttached"
	CodeVolumeAlreadyDetached = "Client.Inoperable.Volume.DetachedFromInstance"
	CodeSecurityGroupInUse    = "Client.Inoperable.SecurityGroup.InUse"
	CodeLBHavingInstances     = "Client.Inoperable.LoadBalancer.HavingRegisteredInstance"
	CodeELBHavingInstances    = "Client.Inoperable.ElasticLoadBalancer.HavingRegisteredInstance"
	CodeServerThrottling      = "Server.Throttling"
	// Codes chosen by the simulator (pkg/cloudsim/nifcloudsim) in the
	// NIFCLOUD naming scheme; not observed in the reference repositories.
	CodeRequestLimitExceeded   = "Server.RequestLimitExceeded"
	CodeSignatureDoesNotMatch  = "Client.SignatureDoesNotMatch"
	codeSubstringThrottling    = "Throttling"
	codeSubstringRequestLimit  = "RequestLimitExceeded"
	codePrefixClient           = "Client."
	codePrefixServerInoperable = "Server.Inoperable."
)

// APIError is an error answered by the computing API: a non-2xx response
// (or an error envelope) with, when the body could be parsed, the NIFCLOUD
// error code and message.
type APIError struct {
	// Code is the NIFCLOUD error code (Errors/Error/Code), "" if the body
	// could not be parsed.
	Code string
	// Message is the NIFCLOUD message, or a short excerpt of an unparseable
	// body.
	Message string
	// RequestID is the RequestID of the error envelope (or x-amz-request-id
	// style header when the body had none).
	RequestID string
	// HTTPStatus is the HTTP status code of the response.
	HTTPStatus int
	// Action is the computing action that failed.
	Action string
	// RetryAfter is the server's Retry-After hint, 0 if none.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("nifcloud: ")
	if e.Action != "" {
		b.WriteString(e.Action)
		b.WriteString(": ")
	}
	if e.Code != "" {
		b.WriteString(e.Code)
	} else {
		b.WriteString("unparseable error response")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	fmt.Fprintf(&b, " (HTTP %d", e.HTTPStatus)
	if e.RequestID != "" {
		b.WriteString(", request id ")
		b.WriteString(e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// MetricCode is the error label used for metrics: the code, or http_<status>.
func (e *APIError) MetricCode() string {
	if e.Code != "" {
		return e.Code
	}
	return fmt.Sprintf("http_%d", e.HTTPStatus)
}

// Throttling reports whether the error is a throttling answer: HTTP 429 or
// 503, or a code containing "Throttling" or "RequestLimitExceeded".
func (e *APIError) Throttling() bool {
	return e.HTTPStatus == http.StatusTooManyRequests || e.HTTPStatus == http.StatusServiceUnavailable ||
		strings.Contains(e.Code, codeSubstringThrottling) || strings.Contains(e.Code, codeSubstringRequestLimit)
}

// Retryable reports whether repeating the same request may succeed:
// throttling and server errors are retryable; Client.* codes (whatever the
// HTTP status, the reference tests answer them with 500) and
// Server.Inoperable.* state conflicts are not.
func (e *APIError) Retryable() bool {
	if e.Throttling() {
		return true
	}
	if strings.HasPrefix(e.Code, codePrefixClient) || strings.HasPrefix(e.Code, codePrefixServerInoperable) {
		return false
	}
	return e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusRequestTimeout
}

// AsAPIError returns the *APIError in err's chain, if any.
func AsAPIError(err error) (*APIError, bool) {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr, true
	}
	return nil, false
}

// IsCode reports whether err is an APIError with exactly this code.
func IsCode(err error, code string) bool {
	e, ok := AsAPIError(err)
	return ok && e.Code == code
}

// IsNotFound reports whether err says a resource does not exist
// (Client.InvalidParameterNotFound.*). Authentication failures are excluded
// even when spelled in that family (an unknown access key, HTTP 401/403):
// callers treat NotFound as "already gone" and must not do so when the
// credentials are wrong.
func IsNotFound(err error) bool {
	e, ok := AsAPIError(err)
	return ok && strings.HasPrefix(e.Code, CodePrefixNotFound) && !e.authFailure()
}

// authFailure reports an authentication error.
func (e *APIError) authFailure() bool {
	return e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden ||
		strings.HasSuffix(e.Code, ".AccessKeyId")
}

// IsDuplicate reports whether err is a Client.InvalidParameterDuplicate.*
// error or a "...AlreadyExists" inoperable error.
func IsDuplicate(err error) bool {
	e, ok := AsAPIError(err)
	return ok && (strings.HasPrefix(e.Code, CodePrefixDuplicate) || strings.HasSuffix(e.Code, ".AlreadyExists"))
}

// IsThrottling reports whether err is a throttling answer.
func IsThrottling(err error) bool {
	e, ok := AsAPIError(err)
	return ok && e.Throttling()
}

// IsRetryable reports whether err is worth retrying: retryable API errors and
// transport failures (network errors, per-attempt timeouts). Context
// cancellation of the caller is not retryable.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if e, ok := AsAPIError(err); ok {
		return e.Retryable()
	}
	var te *transportError
	return errors.As(err, &te)
}

// transportError wraps a failure to get any HTTP response (connection
// refused, reset, per-attempt timeout). It is retryable.
type transportError struct {
	action string
	err    error
}

func (e *transportError) Error() string {
	return "nifcloud: " + e.action + ": " + e.err.Error()
}

func (e *transportError) Unwrap() error { return e.err }

func (e *transportError) metricCode() string {
	if errors.Is(e.err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "network"
}
