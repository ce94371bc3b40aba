package octavia

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// fuzzKeys are the annotations the fuzzer picks by index.
func fuzzKeys() []string {
	return []string{
		AnnFloatingNetworkID, AnnFloatingSubnet, AnnFloatingSubnetID, AnnSubnetID, AnnMemberSubnetID,
		AnnNetworkID, AnnPortID, AnnKeepFloatingIP, AnnLBMethod, AnnProxyProtocol, AnnXForwardedFor,
		AnnTimeoutClientData, AnnTimeoutMemberConnect, AnnTimeoutMemberData, AnnTimeoutTCPInspect,
		AnnEnableHealthMonitor, AnnHMDelay, AnnHMTimeout, AnnHMMaxRetries, AnnHMMaxRetriesDown,
		AnnConnectionLimit, AnnLoadBalancerID, AnnHostname, AnnInternal, AnnSourceRanges,
	}
}

// fuzzOctaviaService builds a Service: annotation lines "i=value" (i
// indexes fuzzKeys) or "key=value"; nPorts ports of proto; families and
// ranges comma-separated; policy selects the IP family policy.
func fuzzOctaviaService(annotations string, nPorts uint8, proto, families, ranges, lbIP string, policy uint8) *v1.Service {
	keys := fuzzKeys()
	a := map[string]string{}
	for _, line := range strings.Split(annotations, "\n") {
		k, v, _ := strings.Cut(line, "=")
		if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < len(keys) {
			k = keys[i]
		}
		a[k] = v
	}
	svc := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Namespace: "default", UID: "uid-fuzz", Annotations: a},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, LoadBalancerIP: lbIP}}
	for i := range int(nPorts % 6) {
		svc.Spec.Ports = append(svc.Spec.Ports, v1.ServicePort{Name: fmt.Sprintf("p%d", i), Protocol: v1.Protocol(proto),
			Port: int32(80 + i), NodePort: int32(30000 + i)})
	}
	if families != "" {
		for _, f := range strings.Split(families, ",") {
			svc.Spec.IPFamilies = append(svc.Spec.IPFamilies, v1.IPFamily(f))
		}
	}
	if ranges != "" {
		svc.Spec.LoadBalancerSourceRanges = strings.Split(ranges, ",")
	}
	if p := []v1.IPFamilyPolicy{"", v1.IPFamilyPolicySingleStack, v1.IPFamilyPolicyPreferDualStack, v1.IPFamilyPolicyRequireDualStack}[policy%4]; p != "" {
		svc.Spec.IPFamilyPolicy = &p
	}
	return svc
}

// FuzzOctaviaAnnotations feeds arbitrary annotations and Service specs to
// parseService and parseDualStack: they never panic; an error names an
// annotation or a spec field; an accepted Service yields values within
// Octavia's limits.
func FuzzOctaviaAnnotations(f *testing.F) {
	f.Add("", uint8(1), "TCP", "", "", "", uint8(0))
	f.Add("8=LEAST_CONNECTIONS\n9=v2\n11=1000\n16=10\n17=5\n18=3\n19=3\n20=100", uint8(2), "TCP", "IPv4", "10.0.0.0/8", "", uint8(1))
	f.Add("10=true\n9=true", uint8(1), "UDP", "IPv4,IPv6", "10.0.0.0/8,2001:db8::/32", "2001:db8::1", uint8(3))
	f.Add("16=2\n17=3\n7=yes\n24=bogus", uint8(3), "SCTP", "IPv6", "", "10.0.0.1", uint8(2))
	f.Add("23=true\n15=false\n14=31536000000", uint8(0), "ICMP", "IPv4,IPv4", "0.0.0.0/0", "x", uint8(3))
	l := &LoadBalancer{cfg: config.LoadBalancer{}}
	f.Fuzz(func(t *testing.T, annotations string, nPorts uint8, proto, families, ranges, lbIP string, policy uint8) {
		svc := fuzzOctaviaService(annotations, nPorts, proto, families, ranges, lbIP, policy)
		sc, err := l.parseService(svc)
		if err == nil {
			checkOctaviaLimits(t, svc, sc)
			var ds dualStack
			if ds, err = parseDualStack(svc, sc); err == nil && ds.secondary != nil {
				checkOctaviaLimits(t, svc, ds.secondary)
				if ds.secondary.family == sc.family {
					t.Fatalf("secondary load balancer of the same family %s", sc.family)
				}
			}
		}
		if err != nil {
			checkOctaviaError(t, err)
		}
	})
}

// checkOctaviaError requires the message to name an annotation or a spec
// field.
func checkOctaviaError(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, "spec.") || strings.Contains(msg, "has no ports") {
		return
	}
	for _, k := range fuzzKeys() {
		if strings.Contains(msg, k) {
			return
		}
	}
	t.Fatalf("error %q names neither an annotation nor a spec field", msg)
}

// checkOctaviaLimits checks an accepted configuration against the limits
// documented in annotations.go.
func checkOctaviaLimits(t *testing.T, svc *v1.Service, sc *svcConfig) {
	t.Helper()
	inRange := func(what string, v, lo, hi int) {
		if v < lo || v > hi {
			t.Fatalf("%s = %d outside %d..%d", what, v, lo, hi)
		}
	}
	for name, v := range map[string]int{"timeout-client-data": sc.timeouts.clientData, "timeout-member-connect": sc.timeouts.memberConnect,
		"timeout-member-data": sc.timeouts.memberData, "timeout-tcp-inspect": sc.timeouts.tcpInspect} {
		inRange(name, v, 0, maxTimeoutMS)
	}
	inRange("health-monitor-delay", sc.hmDelay, 1, 86400)
	inRange("health-monitor-timeout", sc.hmTimeout, 1, sc.hmDelay)
	inRange("health-monitor-max-retries", sc.hmRetries, 1, 10)
	inRange("health-monitor-max-retries-down", sc.hmRetriesDown, 1, 10)
	inRange("connection-limit", sc.connLimit, -1, 1<<31-1)
	switch {
	case !slices.Contains(lbMethods, sc.lbMethod):
		t.Fatalf("lb-method %q", sc.lbMethod)
	case !slices.Contains([]string{"", "PROXY", "PROXYV2"}, sc.proxy):
		t.Fatalf("proxy protocol %q", sc.proxy)
	case sc.proxy != "" && sc.xff:
		t.Fatalf("proxy protocol %q together with x-forwarded-for", sc.proxy)
	case len(svc.Spec.Ports) == 0:
		t.Fatalf("a Service without ports was accepted")
	case len(sc.sourceRanges) == 0:
		t.Fatalf("no allowed CIDRs: the listener would be closed or open by accident")
	}
	for _, p := range svc.Spec.Ports {
		if !slices.Contains([]v1.Protocol{"", v1.ProtocolTCP, v1.ProtocolUDP, v1.ProtocolSCTP}, p.Protocol) {
			t.Fatalf("protocol %q accepted", p.Protocol)
		}
	}
	for _, r := range sc.sourceRanges {
		p, err := netip.ParsePrefix(r)
		if err != nil || p.Addr().Is4() != (sc.family != v1.IPv6Protocol) {
			t.Fatalf("allowed CIDR %q is not a %s prefix", r, sc.family)
		}
	}
	if sc.loadBalancerIP != "" {
		if _, err := netip.ParseAddr(sc.loadBalancerIP); err != nil {
			t.Fatalf("loadBalancerIP %q accepted", sc.loadBalancerIP)
		}
	}
}
