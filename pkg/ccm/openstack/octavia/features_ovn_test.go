package octavia

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	v1 "k8s.io/api/core/v1"
)

// TestOVNProviderGetsOnlyWhatItSupports: the simulator answers like
// Octavia with the OVN provider (501 for ROUND_ROBIN, HTTP monitors,
// allowed_cidrs, timeouts), so a Service works there only if the
// controller leaves those out.
func TestOVNProviderGetsOnlyWhatItSupports(t *testing.T) {
	e := newEnv(t, "lb-provider = ovn\nflavor-id = small")
	_, subs := e.netIDs()
	// What an unadapted client would send is refused.
	_, err := loadbalancers.Create(e.ctx, e.cl.LoadBalancer, loadbalancers.CreateOpts{Name: "raw", Provider: "ovn", VipSubnetID: subs["private-subnet"],
		Listeners: []listeners.CreateOpts{{Name: "l", Protocol: "TCP", ProtocolPort: 80,
			DefaultPool: &pools.CreateOpts{Name: "p", Protocol: "TCP", LBMethod: pools.LBMethodRoundRobin}}}}).Extract()
	if !isStatus(err, http.StatusNotImplemented) || !strings.Contains(err.Error(), "ROUND_ROBIN") {
		t.Fatalf("raw ovn create with ROUND_ROBIN: %v", err)
	}

	svc := service("ovn", 80)
	svc.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	svc.Spec.HealthCheckNodePort = 32200
	svc.Spec.LoadBalancerSourceRanges = []string{"192.0.2.0/24"}
	svc.Annotations[AnnTimeoutClientData] = "60000"
	e.reset()
	e.ensure(svc)
	s := e.state()
	l := s.listeners[0]
	p := s.poolOf(l)
	hm := s.monitors[p.ID]
	switch {
	case s.lb.Provider != "ovn" || s.lb.FlavorID != "":
		t.Errorf("load balancer provider %q flavor %q", s.lb.Provider, s.lb.FlavorID)
	case p.LBMethod != "SOURCE_IP_PORT":
		t.Errorf("pool algorithm %s", p.LBMethod)
	case len(l.AllowedCIDRs) != 0:
		t.Errorf("allowed_cidrs %v sent to ovn", l.AllowedCIDRs)
	case hm == nil || hm.Type != "TCP":
		t.Errorf("monitor %+v, want TCP", hm)
	}
	for _, m := range s.members[p.ID] {
		if m.MonitorPort != nil {
			t.Errorf("member %s monitor_port %v: the TCP check must hit the NodePort", m.Name, *m.MonitorPort)
		}
	}
	var warned []string
	for ev := e.event(); ev != ""; ev = e.event() {
		warned = append(warned, ev)
	}
	all := strings.Join(warned, "\n")
	for _, want := range []string{"loadBalancerSourceRanges", AnnTimeoutClientData, "flavor-id"} {
		if !strings.Contains(all, want) {
			t.Errorf("no %s Warning naming %s in %q", reasonUnsupported, want, all)
		}
	}
	e.reset()
	e.ensure(svc)
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("no-op sync on ovn wrote %v", w)
	}

	// Asking explicitly for what ovn lacks is refused by name, unwritten.
	for ann, v := range map[string]string{AnnLBMethod: "ROUND_ROBIN", AnnProxyProtocol: "true", AnnXForwardedFor: "true"} {
		bad := service("bad", 80)
		bad.Annotations[ann] = v
		e.reset()
		if _, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, bad, e.nodes); err == nil || !strings.Contains(err.Error(), ann) || !strings.Contains(err.Error(), "ovn") {
			t.Errorf("%s=%s on ovn: %v", ann, v, err)
		}
		if w := e.writes(); len(w) != 0 {
			t.Errorf("%s=%s on ovn wrote %v", ann, v, w)
		}
	}
}
