package octavia

import (
	"errors"

	v1 "k8s.io/api/core/v1"
)

// Event reasons.
const (
	reasonInvalidAnnotation = "LoadBalancerInvalidAnnotation"
	reasonForcedInternal    = "LoadBalancerForcedInternal"
	reasonDualStack         = "LoadBalancerDualStackUnavailable"
	reasonMissingReference  = "LoadBalancerReferenceInvalid"
	reasonShareRefused      = "LoadBalancerShareRefused"
	reasonNoMembers         = "LoadBalancerNoMembers"
	reasonNoMonitor         = "LoadBalancerNoHealthMonitor"
	reasonImmutable         = "LoadBalancerImmutableField"
	reasonErrored           = "LoadBalancerInError"
	reasonUnsupported       = "LoadBalancerUnsupportedByProvider"
)

// warn records a Warning event on the Service when a recorder is set.
func (l *LoadBalancer) warn(svc *v1.Service, reason, format string, args ...any) {
	if l.events != nil {
		l.events.Eventf(svc, v1.EventTypeWarning, reason, format, args...)
	}
}

// reportInvalid turns a configuration error into a Warning event naming the
// annotation and what it accepts.
func (l *LoadBalancer) reportInvalid(svc *v1.Service, err error) {
	var ae *annotationError
	if errors.As(err, &ae) {
		l.warn(svc, reasonInvalidAnnotation, "Invalid value %q for %s: allowed values are %s", ae.value, ae.key, ae.allowed)
		return
	}
	l.warn(svc, reasonInvalidAnnotation, "%v", err)
}
