package octavia

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	v1 "k8s.io/api/core/v1"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

func TestServiceOptionsReachTheTree(t *testing.T) {
	e := newEnv(t, "create-monitor = false")
	svc := service("opts", 80)
	svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
	svc.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	svc.Spec.HealthCheckNodePort = 32000
	svc.Spec.LoadBalancerSourceRanges = []string{"192.0.2.0/24", "198.51.100.7/32"}
	svc.Annotations[AnnEnableHealthMonitor] = "true"
	svc.Annotations[AnnHMDelay] = "7"
	svc.Annotations[AnnConnectionLimit] = "1000"
	svc.Annotations[AnnTimeoutClientData] = "60000"
	svc.Annotations[AnnProxyProtocol] = "v2"
	st := e.ensure(svc)

	s := e.state()
	l := s.listeners[0]
	p := s.poolOf(l)
	hm := s.monitors[p.ID]
	switch {
	case !sameSet(l.AllowedCIDRs, []string{"192.0.2.0/24", "198.51.100.7/32"}):
		t.Errorf("allowed_cidrs = %v", l.AllowedCIDRs)
	case l.ConnLimit != 1000 || l.TimeoutClientData != 60000:
		t.Errorf("listener limit/timeout = %d/%d", l.ConnLimit, l.TimeoutClientData)
	case p.Protocol != "PROXYV2" || p.SessionPersistence == nil || p.SessionPersistence.Type != "SOURCE_IP":
		t.Errorf("pool %+v", p)
	case hm == nil || hm.Type != "HTTP" || hm.URLPath != "/healthz" || hm.Delay != 7:
		t.Errorf("monitor %+v", hm)
	}
	for _, m := range s.members[p.ID] {
		if m.MonitorPort == nil || *m.MonitorPort != 32000 {
			t.Errorf("member %s monitor_port = %v, want healthCheckNodePort", m.Name, m.MonitorPort)
		}
	}
	if *st.Ingress[0].IPMode != v1.LoadBalancerIPModeProxy {
		t.Errorf("ipMode = %v, want Proxy with the PROXY protocol", *st.Ingress[0].IPMode)
	}
	e.reset()
	e.ensure(svc)
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("no-op Ensure with monitor wrote %v", w)
	}

	// Switching to X-Forwarded-For replaces the TCP listener by an HTTP one;
	// disabling the monitor and affinity is done in place.
	// externalTrafficPolicy Local keeps the monitor unless it is turned off.
	delete(svc.Annotations, AnnProxyProtocol)
	svc.Annotations[AnnEnableHealthMonitor] = "false"
	svc.Annotations[AnnXForwardedFor] = "true"
	svc.Spec.SessionAffinity = v1.ServiceAffinityNone
	e.ensure(svc)
	s = e.state()
	l, p = s.listeners[0], s.poolOf(s.listeners[0])
	if len(s.listeners) != 1 || l.Protocol != "HTTP" || l.InsertHeaders["X-Forwarded-For"] != "true" || p.Protocol != "HTTP" ||
		p.SessionPersistence != nil || len(s.monitors) != 0 || len(s.members[p.ID]) != 2 {
		t.Fatalf("after x-forwarded-for: listener %+v pool %+v monitors %d", l, p, len(s.monitors))
	}
	if ev := e.event(); !strings.HasPrefix(ev, "Warning "+reasonNoMonitor) || !strings.Contains(ev, AnnEnableHealthMonitor) {
		t.Errorf("event %q: turning the monitor off with externalTrafficPolicy Local must be a %s Warning", ev, reasonNoMonitor)
	}
}

func TestInternalLoadBalancerAndHostname(t *testing.T) {
	e := newEnv(t, "")
	svc := service("int", 80)
	e.ensure(svc)
	if len(e.state().fips) != 1 {
		t.Fatal("external Service must get a FIP")
	}
	// Turning internal releases the FIP we created; status is the VIP.
	svc.Annotations[AnnInternal] = "true"
	svc.Annotations[AnnHostname] = "lb.example.com"
	st := e.ensure(svc)
	s := e.state()
	if len(s.fips) != 0 {
		t.Fatalf("internal Service kept FIPs: %+v", s.fips)
	}
	if st.Ingress[0].Hostname != "lb.example.com" || st.Ingress[0].IP != "" {
		t.Errorf("status %+v", st.Ingress)
	}
	delete(svc.Annotations, AnnHostname)
	st = e.ensure(svc)
	if st.Ingress[0].IP != s.lb.VipAddress {
		t.Errorf("internal status %v, want VIP %s", st.Ingress, s.lb.VipAddress)
	}
}

func TestAdoptionByLoadBalancerID(t *testing.T) {
	e := newEnv(t, "")
	_, guest, _ := e.shareOne()
	s := e.state()
	if len(s.listeners) != 2 || s.listeners[1].ProtocolPort != 8080 || s.listeners[1].Name != "listener_0_kube_service_kumo_default_guest" {
		t.Fatalf("guest listener missing: %+v", s.listeners)
	}
	// The guest's delete removes only its own children; the owner's stay.
	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, guest); err != nil {
		t.Fatal(err)
	}
	s = e.state()
	if s.lb == nil || len(s.listeners) != 1 || s.listeners[0].ProtocolPort != 80 || len(s.pools) != 1 || len(s.fips) != 1 || s.fips[0].PortID != s.lb.VipPortID {
		t.Fatalf("after guest delete: lb=%v listeners=%+v fips=%d", s.lb, s.listeners, len(s.fips))
	}
}

func TestNeverWritesWhilePendingAndRespectsContext(t *testing.T) {
	e := newEnv(t, "")
	svc := service("busy", 80)
	e.ensure(svc)
	s := e.state()
	// Someone else's update leaves the LB PENDING_UPDATE for a while.
	e.sim.Controls().SetLatency(simcore.LatencyConfig{Transitions: map[string]time.Duration{"octavia.update": 150 * time.Millisecond}})
	limit := 5
	if _, err := listeners.Update(e.ctx, e.cl.LoadBalancer, s.listeners[0].ID, listeners.UpdateOpts{ConnLimit: &limit}).Extract(); err != nil {
		t.Fatal(err)
	}
	// A short deadline ends the wait instead of hanging.
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Millisecond)
	_, err := e.lb.EnsureLoadBalancer(ctx, testCluster, svc, e.nodes)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ensure on a PENDING LB with a short deadline: %v", err)
	}
	if w := e.writes(); w["octavia.listener_update"] != 1 {
		t.Fatalf("wrote while PENDING_UPDATE: %v", w)
	}
	// With time, the change is reverted once the LB is ACTIVE again.
	e.ensure(svc)
	if got := e.state().listeners[0].ConnLimit; got != -1 {
		t.Fatalf("connection_limit = %d after Ensure", got)
	}
}

func TestCloudErrorsLeaveNothingBehindAndRecover(t *testing.T) {
	e := newEnv(t, "")
	svc := service("flaky", 80)
	faults := func(action string) {
		e.sim.Controls().SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{action}})
	}
	faults("octavia.loadbalancer_create")
	if _, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, svc, e.nodes); err == nil {
		t.Fatal("Ensure succeeded although the create failed")
	}
	if s := e.state(); s.lb != nil || len(s.fips) != 0 {
		t.Fatalf("failed create left lb=%v fips=%d", s.lb, len(s.fips))
	}
	// The floating IP fails: the named LB is found and completed next time.
	faults("neutron.floatingip_create")
	if _, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, svc, e.nodes); err == nil {
		t.Fatal("Ensure succeeded although the FIP create failed")
	}
	e.sim.Controls().SetFaults(simcore.FaultConfig{})
	e.reset()
	st := e.ensure(svc)
	s := e.state()
	if w := e.writes(); len(w) != 1 || w["neutron.floatingip_create"] != 1 || len(s.fips) != 1 || st.Ingress[0].IP != s.fips[0].FloatingIPAddress {
		t.Fatalf("recovery writes=%v fips=%+v status=%v", w, s.fips, st.Ingress)
	}
	if len(e.sim.Snapshot().LoadBalancers) != 1 {
		t.Fatal("retry created a second load balancer")
	}
}
