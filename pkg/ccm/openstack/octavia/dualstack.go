package octavia

import (
	"fmt"
	"net/netip"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// A dual-stack Service gets one load balancer per IP family: Octavia
// gives a load balancer a single VIP. The primary (spec.ipFamilies[0])
// keeps OCCM's name, so Services created by OCCM or before dual-stack
// support are untouched; the secondary is named after it with the family
// as suffix (kube_service_..._ipv6).

// dualStack is the parsed dual-stack part of a Service.
type dualStack struct {
	// secondary is the configuration of the second family's load
	// balancer; nil for a single-stack Service.
	secondary *svcConfig
	// require is ipFamilyPolicy RequireDualStack: without a subnet of the
	// second family nothing is done, where PreferDualStack serves the
	// primary family only.
	require bool
}

// parseDualStack validates spec.ipFamilies and spec.ipFamilyPolicy and
// derives the second family's configuration from sc. It adjusts sc: a
// spec.loadBalancerIP of the other family does not apply to it.
func parseDualStack(svc *v1.Service, sc *svcConfig) (dualStack, error) {
	fams := svc.Spec.IPFamilies
	var ds dualStack
	if p := svc.Spec.IPFamilyPolicy; p != nil && *p == v1.IPFamilyPolicyRequireDualStack {
		ds.require = true
	}
	for _, f := range fams {
		if f != v1.IPv4Protocol && f != v1.IPv6Protocol {
			return ds, &annotationError{key: "spec.ipFamilies", value: string(f), allowed: "IPv4, IPv6"}
		}
	}
	switch {
	case len(fams) > 2 || (len(fams) == 2 && fams[0] == fams[1]):
		return ds, &annotationError{key: "spec.ipFamilies", value: joinFamilies(fams), allowed: "one family, or IPv4 and IPv6"}
	case len(fams) < 2 && ds.require:
		return ds, &annotationError{key: "spec.ipFamilyPolicy", value: string(v1.IPFamilyPolicyRequireDualStack),
			allowed: "SingleStack or PreferDualStack while spec.ipFamilies has one family"}
	case len(fams) < 2:
		return ds, nil
	}
	sec := *sc
	sec.family = fams[1]
	// cloud.conf and annotation placement (subnet, network, port, member
	// subnet, adopted load balancer) name the primary family's objects.
	sec.subnetID, sec.networkID, sec.portID, sec.memberSubnetID, sec.lbID = "", "", "", "", ""
	if sc.loadBalancerIP != "" {
		if familyOf(sc.loadBalancerIP) == sec.family {
			sc.loadBalancerIP = ""
		} else {
			sec.loadBalancerIP = ""
		}
	}
	var err error
	if sec.sourceRanges, err = sourceRanges(svc, sec.family); err != nil {
		return ds, err
	}
	ds.secondary = &sec
	return ds, nil
}

// secondaryName is the load balancer name of the Service's second family:
// the primary name (shortened so the result fits 255 characters) plus
// "_ipv4" or "_ipv6". Kubernetes names have no "_", so it cannot collide
// with another Service's primary name.
func secondaryName(primary string, fam v1.IPFamily) string {
	suffix := "_" + strings.ToLower(string(fam))
	if len(primary)+len(suffix) > maxNameLen {
		primary = primary[:maxNameLen-len(suffix)]
	}
	return primary + suffix
}

// primaryFamily is spec.ipFamilies[0], IPv4 when unset.
func primaryFamily(svc *v1.Service) v1.IPFamily {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies[0]
	}
	return v1.IPv4Protocol
}

func otherFamily(f v1.IPFamily) v1.IPFamily {
	if f == v1.IPv6Protocol {
		return v1.IPv4Protocol
	}
	return v1.IPv6Protocol
}

// familyOf is the family of an address ("" if it is none).
func familyOf(addr string) v1.IPFamily {
	ip, err := netip.ParseAddr(addr)
	switch {
	case err != nil:
		return ""
	case ip.Unmap().Is4():
		return v1.IPv4Protocol
	}
	return v1.IPv6Protocol
}

// mayHaveSecondary says whether a single-stack Service may still own a
// load balancer of the other family: its status lists an address of that
// family (it was dual-stack) or only hostnames (we cannot tell). This
// spares the extra lookup on every sync of the common single-stack case.
func mayHaveSecondary(svc *v1.Service, primary v1.IPFamily) bool {
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.IP == "" && in.Hostname != "" {
			return true
		}
		if in.IP != "" && familyOf(in.IP) != primary {
			return true
		}
	}
	return false
}

// mergeStatus appends the ingress points of b not already in a (the
// hostname annotation yields the same entry for both families).
func mergeStatus(a, b *v1.LoadBalancerStatus) *v1.LoadBalancerStatus {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	out := &v1.LoadBalancerStatus{Ingress: append([]v1.LoadBalancerIngress(nil), a.Ingress...)}
	for _, in := range b.Ingress {
		dup := false
		for _, have := range out.Ingress {
			if have.IP == in.IP && have.Hostname == in.Hostname {
				dup = true
			}
		}
		if !dup {
			out.Ingress = append(out.Ingress, in)
		}
	}
	return out
}

func joinFamilies(fams []v1.IPFamily) string {
	s := make([]string, len(fams))
	for i, f := range fams {
		s[i] = string(f)
	}
	return strings.Join(s, ",")
}

// errNoSecondarySubnet explains why a RequireDualStack Service is not served.
func errNoSecondarySubnet(fam v1.IPFamily, netID string) error {
	return fmt.Errorf("ipFamilyPolicy RequireDualStack: network %s has no %s subnet for the second load balancer", netID, fam)
}
