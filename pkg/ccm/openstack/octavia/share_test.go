package octavia

import (
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// shareOne ensures Service "owner" (port 80) and Service "guest" (8080)
// on the owner's load balancer by load-balancer-id.
func (e *env) shareOne() (owner, guest *v1.Service, lbID string) {
	e.t.Helper()
	owner = service("owner", 80)
	e.ensure(owner)
	lbID = e.state().lb.ID
	guest = service("guest", 8080)
	guest.Annotations[AnnLoadBalancerID] = lbID
	e.ensure(guest)
	return owner, guest, lbID
}

// TestSharedLoadBalancerGoesWithItsLastService is the defect users hit:
// deleting the Service that created a shared load balancer used to
// cascade-delete it under the other Services.
func TestSharedLoadBalancerGoesWithItsLastService(t *testing.T) {
	e := newEnv(t, "")
	owner := service("owner", 80)
	e.ensure(owner)
	s := e.state()
	lbID, fip := s.lb.ID, s.fips[0].FloatingIPAddress

	guest := service("guest", 8080)
	guest.Annotations[AnnLoadBalancerID] = lbID
	if st := e.ensure(guest); st.Ingress[0].IP != fip {
		t.Fatalf("guest ingress %v, want the shared floating IP %s", st.Ingress, fip)
	}
	s = e.state()
	if !slices.Contains(s.lb.Tags, lbName(testCluster, owner)) || !slices.Contains(s.lb.Tags, lbName(testCluster, guest)) {
		t.Fatalf("tags %v must record both Services", s.lb.Tags)
	}

	// The owner's next sync keeps the guest's listener: no write at all.
	e.reset()
	if err := e.lb.UpdateLoadBalancer(e.ctx, testCluster, owner, e.nodes); err != nil {
		t.Fatal(err)
	}
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("owner sync on a shared load balancer wrote %v", w)
	}

	// The owner goes first: only its listener and tag go.
	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, owner); err != nil {
		t.Fatal(err)
	}
	s = e.state()
	if s.lb == nil || len(s.listeners) != 1 || s.listeners[0].ProtocolPort != 8080 || len(s.fips) != 1 || s.fips[0].PortID != s.lb.VipPortID {
		t.Fatalf("after the owner's delete: lb=%v listeners=%+v fips=%+v", s.lb, s.listeners, s.fips)
	}
	if slices.Contains(s.lb.Tags, lbName(testCluster, owner)) {
		t.Errorf("owner tag still on the load balancer: %v", s.lb.Tags)
	}
	if st, ok, err := e.lb.GetLoadBalancer(e.ctx, testCluster, guest); err != nil || !ok || st.Ingress[0].IP != fip {
		t.Fatalf("guest status after the owner left: %v %v %v", st, ok, err)
	}

	// The last Service takes the load balancer and the floating IP with it.
	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, guest); err != nil {
		t.Fatal(err)
	}
	st := e.sim.Snapshot()
	if len(st.LoadBalancers) != 0 || len(st.FloatingIPs) != 0 || len(st.Listeners) != 0 || len(st.Pools) != 0 {
		t.Fatalf("left behind: %d load balancers, %d floating IPs, %d listeners, %d pools",
			len(st.LoadBalancers), len(st.FloatingIPs), len(st.Listeners), len(st.Pools))
	}
}

func TestSharingIsBoundedAndConflictsAreReported(t *testing.T) {
	e := newEnv(t, "max-shared-lb = 2")
	_, _, lbID := e.shareOne()

	third := service("third", 9090)
	third.Annotations[AnnLoadBalancerID] = lbID
	e.reset()
	_, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, third, e.nodes)
	if err == nil || !strings.Contains(err.Error(), "max-shared-lb is 2") {
		t.Fatalf("third Service on a full load balancer: %v", err)
	}
	if ev := e.event(); !strings.HasPrefix(ev, "Warning "+reasonShareRefused) || !strings.Contains(ev, AnnLoadBalancerID) {
		t.Errorf("event %q must be a %s Warning naming %s", ev, reasonShareRefused, AnnLoadBalancerID)
	}
	if w := e.writes(); len(w) != 0 {
		t.Errorf("refused share wrote %v", w)
	}

	// A port another Service serves is refused, never taken over.
	e2 := newEnv(t, "max-shared-lb = 3")
	owner2 := service("owner", 80)
	e2.ensure(owner2)
	clash := service("clash", 80)
	clash.Annotations[AnnLoadBalancerID] = e2.state().lb.ID
	if _, err := e2.lb.EnsureLoadBalancer(e2.ctx, testCluster, clash, e2.nodes); err == nil || !strings.Contains(err.Error(), "port 80") {
		t.Fatalf("clashing port: %v", err)
	}
	if ev := e2.event(); !strings.HasPrefix(ev, "Warning "+reasonShareRefused) || !strings.Contains(ev, "port 80") {
		t.Errorf("event %q must name the port", ev)
	}
	s := e2.state()
	if len(s.listeners) != 1 || s.listeners[0].Name != listenerName(0, lbName(testCluster, owner2)) {
		t.Fatalf("owner's listener changed: %+v", s.listeners)
	}
	// Deleting the refused Service removes what it recorded and nothing else.
	if err := e2.lb.EnsureLoadBalancerDeleted(e2.ctx, testCluster, clash); err != nil {
		t.Fatal(err)
	}
	if s := e2.state(); s.lb == nil || len(s.listeners) != 1 || slices.Contains(s.lb.Tags, lbName(testCluster, clash)) {
		t.Fatalf("after deleting the refused Service: lb=%v listeners=%d", s.lb, len(s.listeners))
	}
}

func TestChildOf(t *testing.T) {
	long := "kube_service_kumo_default_" + strings.Repeat("x", 240)
	for _, c := range []struct {
		child, name string
		want        bool
	}{
		{"listener_0_kube_service_k_default_web", "kube_service_k_default_web", true},
		{"pool_12_kube_service_k_default_web", "kube_service_k_default_web", true},
		{"listener_0_kube_service_k_default_web2", "kube_service_k_default_web", false},
		{"listener_0_kube_service_k_other_web", "kube_service_k_default_web", false},
		{"listener_x_kube_service_k_default_web", "kube_service_k_default_web", false},
		{"my-listener", "kube_service_k_default_web", false},
		{listenerName(3, cut(long)), cut(long), true},
	} {
		if got := childOf(c.child, c.name); got != c.want {
			t.Errorf("childOf(%q, %q) = %v, want %v", c.child, c.name, got, c.want)
		}
	}
}
