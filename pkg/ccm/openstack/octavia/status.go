package octavia

import (
	v1 "k8s.io/api/core/v1"
)

// status is the Service's ingress: the hostname annotation wins, else the
// floating IP, else the VIP. With the PROXY protocol, traffic must pass
// the load balancer (ipMode Proxy) for the client address to arrive.
func (l *LoadBalancer) status(sc *svcConfig, vip, fip string) *v1.LoadBalancerStatus {
	if sc.hostname != "" {
		return &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{Hostname: sc.hostname}}}
	}
	ip := vip
	if fip != "" {
		ip = fip
	}
	if sc.proxy != "" && l.cfg.EnableIngressHostname {
		return &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{Hostname: ip + "." + orDefault(l.cfg.IngressHostnameSuffix, "nip.io")}}}
	}
	mode := v1.LoadBalancerIPModeVIP
	if sc.proxy != "" {
		mode = v1.LoadBalancerIPModeProxy
	}
	return &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{IP: ip, IPMode: &mode}}}
}
