package octavia

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestEnsureCreatesFullyPopulatedTreeWithFloatingIP(t *testing.T) {
	e := newEnv(t, "")
	svc := service("web", 80, 443)
	st := e.ensure(svc)

	s := e.state()
	if s.lb == nil || s.lb.Name != "kube_service_kumo_default_web" || s.lb.ProvisioningStatus != "ACTIVE" {
		t.Fatalf("load balancer: %+v", s.lb)
	}
	if len(s.lb.Tags) != 1 || s.lb.Tags[0] != s.lb.Name {
		t.Errorf("LB tags = %v, want [%s]", s.lb.Tags, s.lb.Name)
	}
	if len(s.listeners) != 2 || s.listeners[0].ProtocolPort != 80 || s.listeners[1].ProtocolPort != 443 {
		t.Fatalf("listeners: %+v", s.listeners)
	}
	for i, l := range s.listeners {
		p := s.poolOf(l)
		if p == nil {
			t.Fatalf("listener %d has no pool", l.ProtocolPort)
		}
		if p.LBMethod != "ROUND_ROBIN" || p.Protocol != "TCP" {
			t.Errorf("pool %s: %s/%s", p.Name, p.Protocol, p.LBMethod)
		}
		if want := []string{"0.0.0.0/0"}; len(l.AllowedCIDRs) != 1 || l.AllowedCIDRs[0] != want[0] {
			t.Errorf("listener %d allowed_cidrs = %v", l.ProtocolPort, l.AllowedCIDRs)
		}
		ms := s.members[p.ID]
		if len(ms) != 2 {
			t.Fatalf("pool %s has %d members, want 2", p.Name, len(ms))
		}
		for _, m := range ms {
			if m.ProtocolPort != int(svc.Spec.Ports[i].NodePort) || !strings.HasPrefix(m.Address, "10.0.0.1") {
				t.Errorf("member %+v, want NodePort %d", m, svc.Spec.Ports[i].NodePort)
			}
			if m.SubnetID != s.lb.VipSubnetID {
				t.Errorf("member subnet %q, want VIP subnet %q", m.SubnetID, s.lb.VipSubnetID)
			}
		}
	}
	if len(s.fips) != 1 || s.fips[0].PortID != s.lb.VipPortID || !strings.HasPrefix(s.fips[0].Description, "Floating IP for Kubernetes external service default/web") {
		t.Fatalf("floating IPs: %+v", s.fips)
	}
	if len(st.Ingress) != 1 || st.Ingress[0].IP != s.fips[0].FloatingIPAddress || *st.Ingress[0].IPMode != v1.LoadBalancerIPModeVIP {
		t.Fatalf("status %+v, want FIP %s", st, s.fips[0].FloatingIPAddress)
	}
	// Exactly one Octavia write (the fully-populated create) and one FIP.
	w := e.writes()
	if w["octavia.loadbalancer_create"] != 1 || w["neutron.floatingip_create"] != 1 || len(w) != 2 {
		t.Errorf("writes on create = %v", w)
	}
	t.Logf("create: calls=%v", e.sim.Controls().Counts())

	// A second Ensure is a no-op: no writes, bounded reads.
	e.reset()
	st2 := e.ensure(svc)
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("no-op Ensure wrote: %v", w)
	}
	gets := e.total(func(string) bool { return true })
	// LB by name + listeners + pools + 2×(members + no monitor) + FIPs.
	if gets > 6 {
		t.Errorf("no-op Ensure made %d calls (%v), want <= 6", gets, e.sim.Controls().Counts())
	}
	t.Logf("no-op Ensure: %d GETs", gets)
	if st2.Ingress[0].IP != st.Ingress[0].IP {
		t.Errorf("status changed: %v -> %v", st.Ingress, st2.Ingress)
	}
	got, exists, err := e.lb.GetLoadBalancer(e.ctx, testCluster, svc)
	if err != nil || !exists || got.Ingress[0].IP != st.Ingress[0].IP {
		t.Fatalf("GetLoadBalancer = %v, %v, %v", got, exists, err)
	}
	if name := e.lb.GetLoadBalancerName(e.ctx, testCluster, svc); name != s.lb.Name {
		t.Errorf("GetLoadBalancerName = %q", name)
	}
}
