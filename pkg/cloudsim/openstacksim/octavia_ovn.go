package openstacksim

import (
	"net/http"
	"slices"
)

// The OVN provider implements a subset of Octavia: listeners and pools
// of TCP, UDP and SCTP, the SOURCE_IP_PORT algorithm, TCP and UDP-CONNECT
// health monitors, and none of flavors, availability zones, listener
// timeouts or allowed_cidrs. Octavia's API answers a request the
// provider cannot carry out with 501 "Provider 'ovn' does not support a
// requested option: ...", and changes nothing.

const providerOVN = "ovn"

func ovnRefusal(detail string) (int, string) {
	return http.StatusNotImplemented, "Provider 'ovn' does not support a requested option: OVN provider does not support " + detail
}

func ovnLoadBalancer(in lbRequest) (int, string) {
	switch {
	case in.FlavorID != "":
		return ovnRefusal("flavors")
	case in.AZ != "":
		return ovnRefusal("availability zones")
	}
	for _, l := range in.Listeners {
		if c, m := ovnListener(l); c != 0 {
			return c, m
		}
		if l.DefaultPool != nil {
			if c, m := ovnPool(*l.DefaultPool); c != 0 {
				return c, m
			}
		}
	}
	for _, p := range in.Pools {
		if c, m := ovnPool(p); c != 0 {
			return c, m
		}
	}
	return 0, ""
}

func ovnListener(l listenerRequest) (int, string) {
	switch {
	case !slices.Contains([]string{"TCP", "UDP", "SCTP"}, l.Protocol):
		return ovnRefusal("the " + l.Protocol + " protocol")
	case len(l.AllowedCIDRs) > 0:
		return ovnRefusal("allowed_cidrs")
	case l.TimeoutClientData != nil || l.TimeoutMemberConnect != nil || l.TimeoutMemberData != nil || l.TimeoutTCPInspect != nil:
		return ovnRefusal("listener timeouts")
	case len(l.InsertHeaders) > 0:
		return ovnRefusal("insert_headers")
	}
	return 0, ""
}

func ovnPool(p poolRequest) (int, string) {
	if c, m := ovnAlgorithm(p.LBMethod); c != 0 {
		return c, m
	}
	if !slices.Contains([]string{"TCP", "UDP", "SCTP"}, p.Protocol) {
		return ovnRefusal("the " + p.Protocol + " pool protocol")
	}
	if p.HealthMonitor != nil {
		return ovnMonitor(p.HealthMonitor.Type)
	}
	return 0, ""
}

func ovnAlgorithm(m string) (int, string) {
	if m != "" && m != "SOURCE_IP_PORT" {
		return ovnRefusal(m + " algorithm")
	}
	return 0, ""
}

func ovnMonitor(typ string) (int, string) {
	if typ != "TCP" && typ != "UDP-CONNECT" {
		return ovnRefusal(typ + " health monitor type. Supported types: TCP, UDP-CONNECT")
	}
	return 0, ""
}

func derefOr[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
