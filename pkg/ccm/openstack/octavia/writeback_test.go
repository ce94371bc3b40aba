package octavia

import (
	"context"
	"maps"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// applyingPatcher applies the patches to the Service object the test
// holds, as the API server would, and counts them.
type applyingPatcher struct {
	mu      sync.Mutex
	svc     *v1.Service
	patches []map[string]string
}

func (p *applyingPatcher) PatchAnnotations(_ context.Context, ns, name string, ann map[string]string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ns == p.svc.Namespace && name == p.svc.Name {
		maps.Copy(p.svc.Annotations, ann)
	}
	p.patches = append(p.patches, maps.Clone(ann))
	return nil
}

func TestLoadBalancerIDAndAddressAreWrittenBack(t *testing.T) {
	e := newEnv(t, "")
	svc := service("annotated", 80)
	pt := &applyingPatcher{svc: svc}
	e.lb.services = pt
	st := e.ensure(svc)
	id := e.state().lb.ID
	if svc.Annotations[AnnLoadBalancerID] != id || svc.Annotations[AnnLoadBalancerAddress] != st.Ingress[0].IP {
		t.Fatalf("annotations after Ensure: %v (lb %s, ingress %v)", svc.Annotations, id, st.Ingress)
	}
	// Unchanged: no patch, no cloud write.
	e.reset()
	e.ensure(svc)
	if len(pt.patches) != 1 || len(e.writes()) != 0 {
		t.Fatalf("second Ensure: patches %v writes %v", pt.patches, e.writes())
	}

	// The written ID goes stale when the load balancer is replaced; the
	// replacement is still found by name and its ID written back.
	if err := e.sim.SetLoadBalancerStatus(id, "ERROR"); err != nil {
		t.Fatal(err)
	}
	e.ensure(svc)
	nid := e.state().lb.ID
	if nid == id || svc.Annotations[AnnLoadBalancerID] != nid || svc.Annotations[AnnLoadBalancerAddress] != st.Ingress[0].IP {
		t.Fatalf("after replacement: lb %s annotations %v", nid, svc.Annotations)
	}
	e.reset()
	e.ensure(svc)
	if w := e.writes(); len(w) != 0 || len(pt.patches) != 2 {
		t.Fatalf("sync after replacement: writes %v patches %v", w, pt.patches)
	}
	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, svc); err != nil {
		t.Fatal(err)
	}
	if s := e.sim.Snapshot(); len(s.LoadBalancers) != 0 || len(s.FloatingIPs) != 0 {
		t.Fatalf("left behind %d load balancers, %d floating IPs", len(s.LoadBalancers), len(s.FloatingIPs))
	}
}
