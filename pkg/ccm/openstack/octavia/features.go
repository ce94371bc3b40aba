package octavia

import (
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// providerFeatures is what the Octavia provider of [LoadBalancer]
// lb-provider implements. Amphora (and the others OCCM knows) do all of
// it; OVN does TCP/UDP/SCTP listeners with the SOURCE_IP_PORT algorithm
// and TCP/UDP-CONNECT monitors only, and Octavia answers 501 to anything
// else, so those Services must not ask for it.
type providerFeatures struct {
	name string
	// method is the only algorithm the provider has ("" any).
	method                                        string
	allowedCIDRs, timeouts, httpMonitors, proxies bool
	tls                                           bool
	flavors, zones                                bool
	// tags and udpHTTPMonitors depend on the API version only
	// (features_version.go), as does api, the version they were cut to.
	tags, udpHTTPMonitors bool
	api                   apiVersion
}

func featuresOf(provider string) providerFeatures {
	if strings.EqualFold(strings.TrimSpace(provider), "ovn") {
		return providerFeatures{name: "ovn", method: "SOURCE_IP_PORT", tags: true, api: apiVersion{unknown: true}}
	}
	return providerFeatures{name: provider, allowedCIDRs: true, timeouts: true, httpMonitors: true, proxies: true, tls: true,
		flavors: true, zones: true, tags: true, udpHTTPMonitors: true, api: apiVersion{unknown: true}}
}

// fitProvider adapts a parsed Service to f, the provider's features cut
// to the Octavia API version: what the Service explicitly asks for and
// the cloud cannot do is an error naming the annotation; defaults it
// cannot do are dropped; what is lost silently otherwise (source ranges,
// timeouts, flavor, zone) is noted for a Warning event.
func fitProvider(svc *v1.Service, sc *svcConfig, f providerFeatures) error {
	p := featuresOf(f.name) // what the provider alone has, to name who lacks a feature
	if f.method != "" && sc.lbMethod != f.method {
		if sc.annotated[AnnLBMethod] {
			return &annotationError{key: AnnLBMethod, value: sc.lbMethod, allowed: f.method + " (the " + f.name + " provider has no other algorithm)"}
		}
		sc.lbMethod = f.method
	}
	if !f.proxies {
		switch {
		case sc.proxy != "":
			return &annotationError{key: AnnProxyProtocol, value: svc.Annotations[AnnProxyProtocol], allowed: `"false" (the ` + f.name + ` provider has no PROXY protocol)`}
		case sc.xff:
			return &annotationError{key: AnnXForwardedFor, value: svc.Annotations[AnnXForwardedFor], allowed: `"false" (the ` + f.name + ` provider has no HTTP listeners)`}
		}
	}
	if !f.tls && sc.tlsRef != "" {
		if sc.annotated[AnnDefaultTLSContainerRef] {
			return &annotationError{key: AnnDefaultTLSContainerRef, value: sc.tlsRef, allowed: "none (the " + f.name + " provider does not terminate TLS)"}
		}
		sc.unsupported, sc.tlsRef = append(sc.unsupported, "[LoadBalancer] default-tls-container-ref: "+f.lacking("TLS termination", false, 0)), ""
	}
	if !f.timeouts {
		sc.noTimeouts = true
		for _, k := range []string{AnnTimeoutClientData, AnnTimeoutMemberConnect, AnnTimeoutMemberData, AnnTimeoutTCPInspect} {
			if sc.annotated[k] {
				sc.unsupported = append(sc.unsupported, k+": "+f.lacking("listener timeouts", p.timeouts, minorTimeouts))
			}
		}
	}
	if !f.allowedCIDRs {
		sc.noACL = true
		if !slices.Equal(sc.sourceRanges, []string{"0.0.0.0/0"}) && !slices.Equal(sc.sourceRanges, []string{"::/0"}) {
			sc.unsupported = append(sc.unsupported, "spec.loadBalancerSourceRanges (restrict access with security groups instead): "+
				f.lacking("listener allowed_cidrs", p.allowedCIDRs, minorAllowedCIDRs))
		}
	}
	if !f.httpMonitors {
		sc.tcpMonitorOnly = true
	}
	if !f.udpHTTPMonitors && f.httpMonitors {
		sc.noUDPHTTPMonitor = true
		if sc.monitor && sc.localHealthPort > 0 && hasProtocol(svc, v1.ProtocolUDP) {
			sc.unsupported = append(sc.unsupported, "the externalTrafficPolicy Local health check of UDP ports (a UDP-CONNECT monitor of the NodePort is used): "+
				f.lacking("HTTP monitors on UDP pools", true, minorUDPHTTPMonitors))
		}
	}
	if !f.flavors && sc.flavorID != "" {
		sc.unsupported, sc.flavorID = append(sc.unsupported, AnnFlavorID+" / [LoadBalancer] flavor-id: "+f.lacking("flavors", p.flavors, minorFlavors)), ""
	}
	if !f.zones && sc.availabilityZone != "" {
		sc.unsupported, sc.availabilityZone = append(sc.unsupported, AnnAvailabilityZone+" / [LoadBalancer] availability-zone: "+f.lacking("availability zones", p.zones, minorZones)), ""
	}
	if !f.tags {
		sc.noTags = f.lacking("tags", true, minorTags)
	}
	return fitValues(svc, sc, f)
}

func hasProtocol(svc *v1.Service, proto v1.Protocol) bool {
	for _, p := range svc.Spec.Ports {
		if p.Protocol == proto {
			return true
		}
	}
	return false
}
