package nifcloud

import (
	"context"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// controllerCleanup is one cleanup sync of the service controller for a
// Service being deleted: GetLoadBalancer, then EnsureLoadBalancerDeleted
// only when it reports a load balancer. called says whether it got that
// far; after a successful sync the controller drops its finalizer and
// never comes back.
func controllerCleanup(ctx context.Context, p *Provider, svc *v1.Service) (called bool, err error) {
	_, exists, err := p.GetLoadBalancer(ctx, "kube", svc)
	if err != nil || !exists {
		return false, err
	}
	return true, p.EnsureLoadBalancerDeleted(ctx, "kube", svc)
}

// assertNoELBLeft fails when the ELB or a rule tagged for it remains.
func (e *simEnv) assertNoELBLeft(name string) {
	e.t.Helper()
	s := e.state()
	if len(s.ElasticLBs) != 0 || len(s.LoadBalancers) != 0 {
		e.t.Fatalf("load balancers left: %v %v", s.ElasticLBs, s.LoadBalancers)
	}
	for _, g := range []string{"fwweb", "fwdb"} {
		if got := taggedRules(s, g, name); len(got) != 0 {
			e.t.Fatalf("rules tagged for %s left in %s: %v", name, g, got)
		}
	}
}

// elbFailures make one step of an ELB's removal fail once: a revoke
// answered by an echoed 400 or a non-XML 200 (both final for the client),
// a revoke failing with 5xx on every attempt, or the ELB delete failing.
var elbFailures = []struct {
	name string
	set  func(*simcore.Controls)
}{
	{"revoke echoed 400", func(c *simcore.Controls) {
		c.SetHostile(simcore.HostileConfig{Rates: map[string]float64{simcore.HostileEcho: 1}, Actions: []string{"RevokeSecurityGroupIngress"}})
	}},
	{"revoke non-XML 200", func(c *simcore.Controls) {
		c.SetHostile(simcore.HostileConfig{Rates: map[string]float64{simcore.HostileNonJSON: 1}, Actions: []string{"RevokeSecurityGroupIngress"}})
	}},
	{"revoke 5xx", func(c *simcore.Controls) {
		c.SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"RevokeSecurityGroupIngress"}})
	}},
	{"delete 5xx", func(c *simcore.Controls) {
		c.SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"NiftyDeleteElasticLoadBalancer"}})
	}},
}

func clearFailures(c *simcore.Controls) {
	c.SetFaults(simcore.FaultConfig{})
	c.SetHostile(simcore.HostileConfig{})
}

// TestElasticLBDeleteFailureIsRetriedToTheEnd: whichever step of the
// removal fails, the service controller's next cleanup sync still finds
// something to delete, and the syncs end with no ELB and no rule tagged
// for it (the rules used to leak when their revoke failed after the ELB
// was gone: GetLoadBalancer then reported nothing).
func TestElasticLBDeleteFailureIsRetriedToTheEnd(t *testing.T) {
	for _, f := range elbFailures {
		t.Run(f.name, func(t *testing.T) {
			ctx := context.Background()
			e := newSimEnv(t, nil)
			e.addInstances(webInstances()...)
			svc := testService(testUID, map[string]string{AnnotationLBType: LBTypeElastic}, port{80, 30080}, port{443, 30443})
			name := loadBalancerName(svc)
			if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1", "db1")); err != nil {
				t.Fatal(err)
			}
			if s := e.state(); len(taggedRules(s, "fwweb", name)) == 0 || len(taggedRules(s, "fwdb", name)) == 0 {
				t.Fatal("no tagged rules to start with")
			}

			f.set(e.sim.Controls())
			called, err := controllerCleanup(ctx, e.p, svc)
			if !called || err == nil {
				t.Fatalf("failing cleanup sync: EnsureLoadBalancerDeleted called=%v err=%v, want a failed call", called, err)
			}
			t.Logf("failed sync: %v", err)
			clearFailures(e.sim.Controls())

			syncs := 0
			for {
				called, err := controllerCleanup(ctx, e.p, svc)
				if err != nil {
					t.Fatalf("cleanup sync %d: %v", syncs+1, err)
				}
				if !called {
					break
				}
				if syncs++; syncs > 3 {
					t.Fatal("GetLoadBalancer still reports a load balancer after 3 successful deletes")
				}
			}
			if syncs != 1 {
				t.Errorf("%d successful EnsureLoadBalancerDeleted calls after the failed one, want 1", syncs)
			}
			e.assertNoELBLeft(name)
		})
	}
}

// TestElasticToL4FailedRevokeIsRetried: switching an elastic Service to
// L4 removes the ELB; when revoking its rules fails, the next reconcile
// still removes them.
func TestElasticToL4FailedRevokeIsRetried(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, nil)
	e.addInstances(webInstances()...)
	svc := testService(testUID, map[string]string{AnnotationLBType: LBTypeElastic}, port{80, 30080})
	name := loadBalancerName(svc)
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1")); err != nil {
		t.Fatal(err)
	}
	svc.Annotations = nil
	elbFailures[0].set(e.sim.Controls())
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1")); err == nil {
		t.Fatal("switch to L4 with a failing revoke succeeded")
	}
	clearFailures(e.sim.Controls())
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1")); err != nil {
		t.Fatal(err)
	}
	s := e.state()
	if len(s.ElasticLBs) != 0 || len(s.LoadBalancers) != 1 {
		t.Fatalf("after the switch: elastic %v, L4 %v; want the L4 one only", s.ElasticLBs, s.LoadBalancers)
	}
	if got := taggedRules(s, "fwweb", name); len(got) != 0 {
		t.Fatalf("rules of the removed ELB left: %v", got)
	}
	if err := e.p.EnsureLoadBalancerDeleted(ctx, "kube", svc); err != nil {
		t.Fatal(err)
	}
	e.assertNoELBLeft(name)
}

// TestOrphanedELBRulesAreReported: rules tagged for a Service's ELB that
// is gone (left by an older version, or the ELB deleted by hand) make
// GetLoadBalancer report a load balancer, so the cleanup sync removes
// them; without rules nothing is reported.
func TestOrphanedELBRulesAreReported(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, nil)
	e.addInstances(webInstances()...)
	svc := testService(testUID, nil, port{80, 30080})
	name := loadBalancerName(svc)
	if _, ok, err := e.p.GetLoadBalancer(ctx, "kube", svc); err != nil || ok {
		t.Fatalf("GetLoadBalancer with nothing: exists=%v err=%v", ok, err)
	}
	orphan := &nifcloud.SecurityGroupIngressInput{GroupName: "fwweb", IPPermissions: []nifcloud.IPPermission{
		{IPProtocol: "TCP", FromPort: 30080, ToPort: 30080, InOut: nifcloud.InOutIn, CIDRs: []string{"198.51.100.7"}, Description: sgRuleTag(name)},
	}}
	if _, err := e.api.AuthorizeSecurityGroupIngress(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	if err := e.p.waitSG(ctx, "fwweb"); err != nil {
		t.Fatal(err)
	}
	called, err := controllerCleanup(ctx, e.p, svc)
	if !called || err != nil {
		t.Fatalf("cleanup sync with orphaned rules: EnsureLoadBalancerDeleted called=%v err=%v, want a successful call", called, err)
	}
	if called, err := controllerCleanup(ctx, e.p, svc); called || err != nil {
		t.Fatalf("second cleanup sync: called=%v err=%v, want nothing left to delete", called, err)
	}
	e.assertNoELBLeft(name)
}

// TestUpdateAfterDeleteCreatesNothing: the service controller's node sync
// calls UpdateLoadBalancer beside the Service's own sync; one that runs
// after EnsureLoadBalancerDeleted must not bring the load balancer back
// (the leak a CCM restart during node initialization showed in e2e).
func TestUpdateAfterDeleteCreatesNothing(t *testing.T) {
	ctx := context.Background()
	for _, lbType := range []string{"", LBTypeElastic} {
		t.Run("type="+lbType, func(t *testing.T) {
			e := newSimEnv(t, nil)
			e.addInstances(webInstances()...)
			var ann map[string]string
			if lbType != "" {
				ann = map[string]string{AnnotationLBType: lbType}
			}
			svc := testService(testUID, ann, port{80, 30080})
			name := loadBalancerName(svc)
			if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1")); err != nil {
				t.Fatal(err)
			}
			if err := e.p.EnsureLoadBalancerDeleted(ctx, "kube", svc); err != nil {
				t.Fatal(err)
			}
			creates := e.sim.Controls().Count("CreateLoadBalancer") + e.sim.Controls().Count("NiftyCreateElasticLoadBalancer")
			err := e.p.UpdateLoadBalancer(ctx, "kube", svc, testNodes("web1", "web2"))
			if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), name) {
				t.Fatalf("update of a deleted load balancer: err = %v, want one saying %q does not exist", err, name)
			}
			s := e.state()
			if len(s.LoadBalancers) != 0 || len(s.ElasticLBs) != 0 {
				t.Fatalf("update after delete left L4 %v, elastic %v", s.LoadBalancers, s.ElasticLBs)
			}
			if got := e.sim.Controls().Count("CreateLoadBalancer") + e.sim.Controls().Count("NiftyCreateElasticLoadBalancer"); got != creates {
				t.Fatalf("update after delete made %d create calls", got-creates)
			}
		})
	}
}
