package octavia

import (
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
)

func (e *env) publicNetID() string {
	for _, n := range e.sim.Snapshot().Networks {
		if n.External {
			return n.ID
		}
	}
	e.t.Fatal("no external network")
	return ""
}

func TestDeleteReleasesOnlyOurFloatingIP(t *testing.T) {
	e := newEnv(t, "cascade-delete = true")

	// A user-owned floating IP, given as spec.loadBalancerIP.
	userFIP, err := floatingips.Create(e.ctx, e.cl.Network, floatingips.CreateOpts{FloatingNetworkID: e.publicNetID(), Description: "reserved by user"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	user := service("user", 80)
	user.Spec.LoadBalancerIP = userFIP.FloatingIP
	st := e.ensure(user)
	if st.Ingress[0].IP != userFIP.FloatingIP {
		t.Fatalf("status %v, want the user's FIP %s", st.Ingress, userFIP.FloatingIP)
	}
	if w := e.writes(); w["neutron.floatingip_create"] != 1 || w["neutron.floatingip_update"] != 1 {
		t.Fatalf("writes = %v: the user's FIP must be associated, not a new one created", w)
	}
	s := e.state()
	for _, f := range s.fips {
		if f.ID == userFIP.ID && f.PortID != s.lb.VipPortID {
			t.Fatalf("user FIP not on the VIP port: %+v", f)
		}
	}
	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, user); err != nil {
		t.Fatal(err)
	}
	s = e.state()
	if s.lb != nil || len(s.st.Listeners) != 0 || len(s.st.Pools) != 0 || len(s.st.Members) != 0 {
		t.Fatalf("load balancer tree left behind: %+v", s.lb)
	}
	if len(s.fips) != 1 || s.fips[0].ID != userFIP.ID || s.fips[0].PortID != "" {
		t.Fatalf("user FIP must survive detached: %+v", s.fips)
	}

	// Our own FIP is released with the load balancer.
	ours := service("ours", 80)
	e.ensure(ours)
	if got := len(e.state().fips); got != 2 {
		t.Fatalf("fips = %d, want user's + ours", got)
	}
	e.reset()
	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, ours); err != nil {
		t.Fatal(err)
	}
	s = e.state()
	if s.lb != nil || len(s.fips) != 1 || s.fips[0].ID != userFIP.ID {
		t.Fatalf("after delete: lb=%v fips=%+v", s.lb, s.fips)
	}
	if w := e.writes(); w["neutron.floatingip_delete"] != 1 || w["octavia.loadbalancer_delete"] != 1 {
		t.Errorf("delete writes = %v", w)
	}
	// Deleting again is a no-op.
	e.reset()
	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, ours); err != nil {
		t.Fatal(err)
	}
	if w := e.writes(); len(w) != 0 {
		t.Errorf("second delete wrote %v", w)
	}
}

func TestDeleteKeepFloatingIPAndSerialDelete(t *testing.T) {
	e := newEnv(t, "cascade-delete = false")
	svc := service("keep", 80, 81)
	svc.Annotations[AnnKeepFloatingIP] = "true"
	e.ensure(svc)
	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, svc); err != nil {
		t.Fatal(err)
	}
	s := e.state()
	if s.lb != nil || len(s.st.Listeners) != 0 || len(s.st.Pools) != 0 {
		t.Fatalf("tree left after serial delete: lb=%v listeners=%d pools=%d", s.lb, len(s.st.Listeners), len(s.st.Pools))
	}
	if len(s.fips) != 1 || s.fips[0].PortID != "" {
		t.Fatalf("keep-floatingip: FIP must remain, detached: %+v", s.fips)
	}
	if w := e.writes(); w["octavia.pool_delete"] != 2 || w["octavia.listener_delete"] != 2 || w["octavia.loadbalancer_delete"] != 1 {
		t.Errorf("serial delete writes = %v", w)
	}
}
