package octavia

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadBalancerInErrorIsReplacedKeepingItsAddress(t *testing.T) {
	e := newEnv(t, "")
	svc := service("broken", 80, 443)
	before := e.ensure(svc)
	old := e.state().lb.ID
	if err := e.sim.SetLoadBalancerStatus(old, "ERROR"); err != nil {
		t.Fatal(err)
	}

	// A node sync cannot replace it (UpdateLoadBalancer never creates).
	e.reset()
	if err := e.lb.UpdateLoadBalancer(e.ctx, testCluster, svc, e.nodes); !errors.Is(err, errLBError) {
		t.Fatalf("Update on an ERROR load balancer: %v", err)
	}
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("Update wrote %v", w)
	}

	st := e.ensure(svc)
	s := e.state()
	if s.lb == nil || s.lb.ID == old || s.lb.ProvisioningStatus != "ACTIVE" || len(s.listeners) != 2 {
		t.Fatalf("after Ensure: lb=%+v listeners=%d", s.lb, len(s.listeners))
	}
	if len(s.fips) != 1 || st.Ingress[0].IP != before.Ingress[0].IP || s.fips[0].PortID != s.lb.VipPortID {
		t.Fatalf("floating IP not carried over: before %v after %v fips %+v", before.Ingress, st.Ingress, s.fips)
	}
	if ev := e.event(); !strings.HasPrefix(ev, "Warning "+reasonErrored) || !strings.Contains(ev, old) || !strings.Contains(ev, before.Ingress[0].IP) {
		t.Errorf("event %q must say the load balancer is replaced and which IP is kept", ev)
	}
}

func TestSharedLoadBalancerInErrorIsNotReplaced(t *testing.T) {
	e := newEnv(t, "")
	owner, _, lbID := e.shareOne()
	if err := e.sim.SetLoadBalancerStatus(lbID, "ERROR"); err != nil {
		t.Fatal(err)
	}
	e.reset()
	if _, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, owner, e.nodes); !errors.Is(err, errLBError) {
		t.Fatalf("Ensure on a shared ERROR load balancer: %v", err)
	}
	if ev := e.event(); !strings.HasPrefix(ev, "Warning "+reasonErrored) || !strings.Contains(ev, "not replaced") {
		t.Errorf("event %q must say it is not replaced", ev)
	}
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("wrote %v on a shared ERROR load balancer", w)
	}
}
