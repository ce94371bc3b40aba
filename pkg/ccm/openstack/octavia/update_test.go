package octavia

import (
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
)

func TestNodeChangesMakeOneBatchMemberUpdate(t *testing.T) {
	e := newEnv(t, "")
	svc := service("web", 80)
	e.ensure(svc)

	e.reset()
	e.addNode(3)
	if err := e.lb.UpdateLoadBalancer(e.ctx, testCluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if w := e.writes(); len(w) != 1 || w["octavia.member_batch_update"] != 1 {
		t.Fatalf("writes after adding a node = %v, want one batch member update", w)
	}
	s := e.state()
	if ms := s.members[s.poolOf(s.listeners[0]).ID]; len(ms) != 3 {
		t.Fatalf("members after adding a node: %d", len(ms))
	}

	e.reset()
	e.nodes = e.nodes[1:]
	if err := e.lb.UpdateLoadBalancer(e.ctx, testCluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if w := e.writes(); len(w) != 1 || w["octavia.member_batch_update"] != 1 {
		t.Fatalf("writes after removing a node = %v", w)
	}
	s = e.state()
	ms := s.members[s.poolOf(s.listeners[0]).ID]
	if len(ms) != 2 {
		t.Fatalf("members after removing a node: %d", len(ms))
	}
	for _, m := range ms {
		if m.Name == "node-1" {
			t.Errorf("removed node-1 is still a member")
		}
	}
}

func TestPortsChange(t *testing.T) {
	e := newEnv(t, "")
	svc := service("web", 80)
	e.ensure(svc)
	before := e.state()

	// Add 443: listener, pool and members are created serially.
	e.reset()
	svc = service("web", 80, 443)
	e.ensure(svc)
	w := e.writes()
	if w["octavia.listener_create"] != 1 || w["octavia.pool_create"] != 1 || w["octavia.member_batch_update"] != 1 || len(w) != 3 {
		t.Fatalf("writes when adding a port = %v", w)
	}
	s := e.state()
	if len(s.listeners) != 2 || s.listeners[1].ProtocolPort != 443 || len(s.members[s.poolOf(s.listeners[1]).ID]) != 2 {
		t.Fatalf("listeners after adding 443: %+v", s.listeners)
	}
	if s.listeners[0].ID != before.listeners[0].ID {
		t.Errorf("listener 80 was replaced")
	}

	// Drop 80: its pool and listener go; 443 (now index 0) is renamed.
	e.reset()
	svc = service("web", 443)
	e.ensure(svc)
	w = e.writes()
	if w["octavia.pool_delete"] != 1 || w["octavia.listener_delete"] != 1 || w["octavia.listener_update"] != 1 || w["octavia.pool_update"] != 1 || len(w) != 4 {
		t.Fatalf("writes when removing a port = %v", w)
	}
	s = e.state()
	if len(s.listeners) != 1 || s.listeners[0].ProtocolPort != 443 || s.listeners[0].Name != "listener_0_kube_service_kumo_default_web" || len(s.pools) != 1 {
		t.Fatalf("after removing 80: listeners %+v pools %d", s.listeners, len(s.pools))
	}
}

func TestLBMethodAnnotationChangeUpdatesPoolOnly(t *testing.T) {
	e := newEnv(t, "")
	svc := service("web", 80)
	e.ensure(svc)
	e.reset()
	svc.Annotations[AnnLBMethod] = "LEAST_CONNECTIONS"
	e.ensure(svc)
	if w := e.writes(); len(w) != 1 || w["octavia.pool_update"] != 1 {
		t.Fatalf("writes = %v, want one pool update", w)
	}
	s := e.state()
	if p := s.poolOf(s.listeners[0]); p.LBMethod != "LEAST_CONNECTIONS" {
		t.Fatalf("lb_algorithm = %s", p.LBMethod)
	}
}

func TestDriftRepair(t *testing.T) {
	e := newEnv(t, "")
	svc := service("web", 80, 443)
	e.ensure(svc)
	s := e.state()
	c := e.cl.LoadBalancer
	l80, l443 := s.listeners[0], s.listeners[1]
	p80 := s.poolOf(l80)

	// Behind our back: remove a member of :80, delete listener :443 and
	// change :80's connection limit.
	victim := s.members[p80.ID][0]
	if err := pools.DeleteMember(e.ctx, c, p80.ID, victim.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.lb.waitActive(e.ctx, s.lb.ID); err != nil {
		t.Fatal(err)
	}
	if err := listeners.Delete(e.ctx, c, l443.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.lb.waitActive(e.ctx, s.lb.ID); err != nil {
		t.Fatal(err)
	}
	limit := 7
	if _, err := listeners.Update(e.ctx, c, l80.ID, listeners.UpdateOpts{ConnLimit: &limit}).Extract(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.lb.waitActive(e.ctx, s.lb.ID); err != nil {
		t.Fatal(err)
	}

	e.reset()
	e.ensure(svc)
	t.Logf("drift repair writes: %v", e.writes())
	s = e.state()
	if len(s.listeners) != 2 || s.listeners[1].ProtocolPort != 443 {
		t.Fatalf("listener 443 not restored: %+v", s.listeners)
	}
	if s.listeners[0].ConnLimit != -1 {
		t.Errorf("connection_limit not restored: %d", s.listeners[0].ConnLimit)
	}
	if len(s.pools) != 2 {
		t.Errorf("pools = %d, want 2 (orphaned pool of the deleted listener removed)", len(s.pools))
	}
	for _, l := range s.listeners {
		p := s.poolOf(l)
		if p == nil || len(s.members[p.ID]) != 2 {
			t.Fatalf("listener %d: pool %+v members %d", l.ProtocolPort, p, len(s.members[p.ID]))
		}
	}
	// And the repaired tree is stable.
	e.reset()
	e.ensure(svc)
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("Ensure after repair wrote: %v", w)
	}
}
