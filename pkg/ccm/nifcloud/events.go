package nifcloud

import (
	v1 "k8s.io/api/core/v1"
)

// Event reasons the provider records on Services (besides those the
// service controller records, e.g. SyncLoadBalancerFailed).
const (
	ReasonInvalidAnnotation = "InvalidAnnotation"
	// ReasonUnsupportedChange: a setting changed that NIFCLOUD cannot
	// change in place (policy type, elastic LB network interfaces).
	ReasonUnsupportedChange = "UnsupportedChange"
)

// warn records a Warning event on svc when a recorder is set.
func (p *Provider) warn(svc *v1.Service, reason, format string, args ...any) {
	p.recMu.RLock()
	r := p.recorder
	p.recMu.RUnlock()
	if r == nil || svc == nil {
		return
	}
	r.Eventf(svc, v1.EventTypeWarning, reason, format, args...)
}
