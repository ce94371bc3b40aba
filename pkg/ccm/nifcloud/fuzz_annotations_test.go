package nifcloud

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fuzzAnnotationKeys are the keys the fuzzer picks by index, so that
// mutations hit real annotations rather than random names.
func fuzzAnnotationKeys() []string {
	return []string{
		AnnotationLBType, AnnotationNetworkVolume, AnnotationAccountingType, AnnotationPolicyType,
		AnnotationBalancingType, AnnotationHealthCheckProtocol, AnnotationHealthCheckInterval,
		AnnotationHealthCheckUnhealthy, AnnotationNIC1NetworkID, AnnotationNIC1IPAddress,
		AnnotationNIC1SystemIPAddresses, AnnotationNIC2NetworkID, AnnotationNIC2IPAddress,
		AnnotationNIC2SystemIPAddresses, AnnotationVIPNetwork, annotationLegacySourceRanges,
	}
}

// fuzzService builds a Service from fuzz input: annotations are lines
// "i=value" (i indexes fuzzAnnotationKeys) or "key=value"; ports are
// nPorts ports of proto; ranges is comma-separated.
func fuzzService(annotations string, nPorts uint8, proto, ranges, lbIP string) *v1.Service {
	keys := fuzzAnnotationKeys()
	a := map[string]string{}
	for _, line := range strings.Split(annotations, "\n") {
		k, v, _ := strings.Cut(line, "=")
		if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < len(keys) {
			k = keys[i]
		}
		a[k] = v
	}
	svc := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Namespace: "default", UID: "0123456789abcdef", Annotations: a},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, LoadBalancerIP: lbIP}}
	for i := range int(nPorts % 8) {
		svc.Spec.Ports = append(svc.Spec.Ports, v1.ServicePort{Name: fmt.Sprintf("p%d", i), Protocol: v1.Protocol(proto),
			Port: int32(80 + i%5), NodePort: int32(30000 + i)})
	}
	if ranges != "" {
		svc.Spec.LoadBalancerSourceRanges = strings.Split(ranges, ",")
	}
	return svc
}

// FuzzNIFCLOUDAnnotations feeds arbitrary annotations and Service specs to
// parseService: it never panics; every error names a known annotation or
// spec field; an accepted Service yields values within the documented
// limits.
func FuzzNIFCLOUDAnnotations(f *testing.F) {
	f.Add("", uint8(1), "TCP", "", "")
	f.Add("0=elb\n1=500\n8=net-abc\n9=10.0.0.1\n10=10.0.0.2,10.0.0.3\n14=1", uint8(2), "TCP", "", "")
	f.Add("0=lb\n1=2000\n2=1\n3=ats\n4=2\n5=icmp\n6=300\n7=10", uint8(3), "", "10.0.0.0/8,192.0.2.1/32", "")
	f.Add("1=15\n6=x\n15=bogus", uint8(4), "UDP", "0.0.0.0/0", "203.0.113.1")
	f.Add("0=elb\n11=net-COMMON_PRIVATE\n14=2", uint8(1), "TCP", "2001:db8::/32", "")
	f.Fuzz(func(t *testing.T, annotations string, nPorts uint8, proto, ranges, lbIP string) {
		svc := fuzzService(annotations, nPorts, proto, ranges, lbIP)
		spec, err := parseService(svc)
		if err != nil {
			checkNamedErrors(t, err)
			return
		}
		checkSpecLimits(t, svc, spec)
	})
}

// checkNamedErrors requires every joined error to be an AnnotationError
// naming a known annotation or a spec field, in its message too.
func checkNamedErrors(t *testing.T, err error) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var ae *AnnotationError
		if !errors.As(e, &ae) {
			t.Fatalf("error %q is not an AnnotationError", e)
		}
		if !slices.Contains(fuzzAnnotationKeys(), ae.Annotation) && !strings.HasPrefix(ae.Annotation, "spec.") {
			t.Fatalf("error %q names %q, neither an annotation nor a spec field", e, ae.Annotation)
		}
		if !strings.Contains(e.Error(), ae.Annotation) || ae.Allowed == "" {
			t.Fatalf("error %q does not say which field is wrong and what is allowed", e)
		}
	}
}

// checkSpecLimits checks an accepted spec against the documented limits.
func checkSpecLimits(t *testing.T, svc *v1.Service, s *lbSpec) {
	t.Helper()
	elb := s.Type == LBTypeElastic
	nv, maxNV := s.NetworkVolume, 2000
	if elb {
		maxNV = 500
	}
	switch {
	case s.Type != LBTypeL4 && !elb:
		t.Fatalf("type %q", s.Type)
	case nv != 0 && nv != 10 && nv != 20 && nv != 30 && nv != 40 && (nv < 100 || nv > maxNV || nv%100 != 0):
		t.Fatalf("network volume %d (elb=%t)", nv, elb)
	case !slices.Contains([]string{"", "1", "2"}, s.AccountingType):
		t.Fatalf("accounting type %q", s.AccountingType)
	case !slices.Contains([]string{"", "standard", "ats"}, s.PolicyType) || (elb && s.PolicyType != ""):
		t.Fatalf("policy type %q (elb=%t)", s.PolicyType, elb)
	case s.BalancingType != 1 && s.BalancingType != 2:
		t.Fatalf("balancing type %d", s.BalancingType)
	case s.HealthCheck.Protocol != "TCP" && s.HealthCheck.Protocol != "ICMP":
		t.Fatalf("health check protocol %q", s.HealthCheck.Protocol)
	case s.HealthCheck.Interval < 5 || s.HealthCheck.Interval > 300:
		t.Fatalf("health check interval %d", s.HealthCheck.Interval)
	case s.HealthCheck.UnhealthyThreshold < 1 || s.HealthCheck.UnhealthyThreshold > 10:
		t.Fatalf("unhealthy threshold %d", s.HealthCheck.UnhealthyThreshold)
	case svc.Spec.LoadBalancerIP != "":
		t.Fatalf("loadBalancerIP %q accepted", svc.Spec.LoadBalancerIP)
	case len(s.Ports) == 0 || (!elb && len(s.Ports) > maxL4Ports):
		t.Fatalf("%d ports (elb=%t)", len(s.Ports), elb)
	}
	seen := map[int]bool{}
	for _, p := range s.Ports {
		if seen[p.Port] || p.InstancePort == 0 {
			t.Fatalf("port %+v repeated or without node port", p)
		}
		seen[p.Port] = true
	}
	for _, p := range svc.Spec.Ports {
		if p.Protocol != "" && p.Protocol != v1.ProtocolTCP {
			t.Fatalf("protocol %q accepted", p.Protocol)
		}
	}
	for _, f := range s.Filters {
		ip, n, err := net.ParseCIDR(f)
		if err != nil {
			ip = net.ParseIP(f)
		}
		if ip.To4() == nil || (n != nil && n.IP.To4() == nil) {
			t.Fatalf("filter %q is not an IPv4 address or CIDR", f)
		}
	}
	if elb && len(s.Filters) > 0 {
		t.Fatalf("elb with source filters %v", s.Filters)
	}
	if elb != (len(s.NICs) > 0) || (elb && (s.VIPNetwork < 1 || s.VIPNetwork > len(s.NICs))) || len(s.NICs) > 2 {
		t.Fatalf("elb=%t with NICs %+v and VIP network %d", elb, s.NICs, s.VIPNetwork)
	}
	for _, nic := range s.NICs {
		if privateLANPattern.MatchString(nic.NetworkID) && (net.ParseIP(nic.IPAddress).To4() == nil || len(nic.SystemIPAddresses) != 2) {
			t.Fatalf("private LAN NIC %+v without its addresses", nic)
		}
	}
}
