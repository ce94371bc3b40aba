package nifcloud

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// TestL4FailedCreateConvergesAndDeletesClean: a cloud error in the middle
// of creating fails the call with the failing action named; the next
// reconcile finishes the same load balancer (no second one), and delete
// leaves nothing behind.
func TestL4FailedCreateConvergesAndDeletesClean(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, nil)
	e.addInstances(webInstances()...)
	svc := testService(testUID, nil, port{80, 30080}, port{443, 30443})
	name := loadBalancerName(svc)

	e.sim.Controls().SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"ConfigureHealthCheck"}})
	_, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1", "web2"))
	if err == nil || !strings.Contains(err.Error(), "ConfigureHealthCheck") || !strings.Contains(err.Error(), "health check") {
		t.Fatalf("err = %v, want the failed ConfigureHealthCheck named", err)
	}
	vip := e.state().LoadBalancers[name].DNSName

	e.sim.Controls().SetFaults(simcore.FaultConfig{})
	st, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1", "web2"))
	if err != nil {
		t.Fatal(err)
	}
	s := e.state()
	if len(s.LoadBalancers) != 1 || st.Ingress[0].IP != vip {
		t.Fatalf("after retry: %d load balancers, VIP %v (first attempt got %s)", len(s.LoadBalancers), st.Ingress, vip)
	}
	for _, l := range l4Listeners(s.LoadBalancers[name]) {
		if l.Interval != 10 || len(l.Instances) != 2 {
			t.Fatalf("listener %+v not converged", l)
		}
	}
	if err := e.p.EnsureLoadBalancerDeleted(ctx, "kube", svc); err != nil {
		t.Fatal(err)
	}
	if s := e.state(); len(s.LoadBalancers)+len(s.ElasticLBs) != 0 {
		t.Fatalf("left after delete: %v %v", s.LoadBalancers, s.ElasticLBs)
	}
}

// TestElasticLBWaitHonoursContext: a slow ELB transition ends with the
// caller's deadline, promptly, with an error saying what was awaited.
func TestElasticLBWaitHonoursContext(t *testing.T) {
	e := newSimEnv(t, nil)
	e.addInstances(webInstances()...)
	e.sim.Controls().SetLatency(simcore.LatencyConfig{Transitions: map[string]time.Duration{"elb.apply": time.Minute}})
	svc := testService(testUID, map[string]string{AnnotationLBType: LBTypeElastic}, port{80, 30080})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1"))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "to become available") {
		t.Fatalf("err = %v, want a deadline error from waiting for the ELB", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("ensure returned after %v, want soon after the 300ms deadline", d)
	}
}
