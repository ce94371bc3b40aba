package nifcloud

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

const lookupAction = "NiftyDescribePrivateLans"

// privateLANService is an elb Service with NIC 1 on the shared global
// network (VIP) and NIC 2 on the private LAN lan.
func privateLANService(lan string) map[string]string {
	return map[string]string{
		AnnotationLBType:                LBTypeElastic,
		AnnotationNIC1NetworkID:         nifcloud.NetworkCommonGlobal,
		AnnotationNIC2NetworkID:         lan,
		AnnotationNIC2IPAddress:         "172.16.0.10",
		AnnotationNIC2SystemIPAddresses: "172.16.0.11,172.16.0.12",
	}
}

// wantRejected checks an Ensure refused for a missing private LAN: the
// error and one InvalidAnnotation Warning name the annotation, and no
// mutating call was made.
func wantRejected(t *testing.T, e *simEnv, err error, annotation, id string) {
	t.Helper()
	var ae *AnnotationError
	if !errors.As(err, &ae) || ae.Annotation != annotation || ae.Value != id || !strings.Contains(err.Error(), annotation) {
		t.Fatalf("err = %v, want an AnnotationError on %s=%s", err, annotation, id)
	}
	if m := e.mutations(); m != 0 {
		t.Fatalf("%d mutating calls for a missing private LAN: %v", m, e.sim.Controls().Counts())
	}
	ev := e.events()
	if len(ev) != 1 || !strings.Contains(ev[0], ReasonInvalidAnnotation) || !strings.Contains(ev[0], annotation) {
		t.Fatalf("events = %v, want one %s warning naming %s", ev, ReasonInvalidAnnotation, annotation)
	}
}

func TestElasticLBPrivateLANLookup(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, nil)
	e.addInstances(webInstances()...)
	if _, err := e.sim.AddPrivateLan(nifcloudsim.PrivateLan{NetworkID: "net-lan1", CIDRBlock: "172.16.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	calls := e.sim.Controls().Count

	// Create on an existing LAN: one lookup, then the ELB with both NICs.
	svc := testService(testUID, privateLANService("net-lan1"), port{80, 30080})
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1")); err != nil {
		t.Fatal(err)
	}
	if n := calls(lookupAction); n != 1 {
		t.Fatalf("%s calls on create = %d, want 1", lookupAction, n)
	}
	elb := e.state().ElasticLBs[loadBalancerName(svc)]
	if elb == nil || len(elb.NetworkInterfaces) != 2 || elb.NetworkInterfaces[1].NetworkID != "net-lan1" {
		t.Fatalf("elastic LB = %+v, want NIC 2 on net-lan1", elb)
	}
	t.Logf("create calls: %v", e.sim.Controls().Counts())

	// Unchanged annotations: no lookup, no write.
	e.sim.Controls().ResetCounts()
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1")); err != nil {
		t.Fatal(err)
	}
	if n, m := calls(lookupAction), e.mutations(); n != 0 || m != 0 {
		t.Fatalf("no-op ensure: %d lookups, %d mutations, want 0 and 0: %v", n, m, e.sim.Controls().Counts())
	}
	e.events()

	// Changed to a LAN that does not exist: refused before any write.
	svc.Annotations[AnnotationNIC2NetworkID] = "net-nosuch"
	e.sim.Controls().ResetCounts()
	_, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1"))
	wantRejected(t, e, err, AnnotationNIC2NetworkID, "net-nosuch")
	if n := calls(lookupAction); n != 1 {
		t.Fatalf("%s calls on change = %d, want 1", lookupAction, n)
	}
	if err := e.p.EnsureLoadBalancerDeleted(ctx, "kube", svc); err != nil {
		t.Fatal(err)
	}
}

func TestElasticLBMissingPrivateLANCreatesNothing(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, nil)
	e.addInstances(webInstances()...)
	if _, err := e.sim.AddPrivateLan(nifcloudsim.PrivateLan{NetworkID: "net-lan1"}); err != nil {
		t.Fatal(err)
	}
	// Both NICs on private LANs, the second missing: one lookup for both.
	ann := privateLANService("net-nosuch")
	ann[AnnotationNIC1NetworkID] = "net-lan1"
	ann[AnnotationNIC1IPAddress] = "172.16.1.10"
	ann[AnnotationNIC1SystemIPAddresses] = "172.16.1.11,172.16.1.12"
	svc := testService(testUID, ann, port{80, 30080})
	e.sim.Controls().ResetCounts()
	_, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1"))
	wantRejected(t, e, err, AnnotationNIC2NetworkID, "net-nosuch")
	if n := e.sim.Controls().Count(lookupAction); n != 1 {
		t.Fatalf("%s calls = %d, want 1 for both networks", lookupAction, n)
	}
	if s := e.state(); len(s.ElasticLBs)+len(s.LoadBalancers) != 0 {
		t.Fatalf("load balancers created: %v %v", s.ElasticLBs, s.LoadBalancers)
	}

	// A failed lookup is a retryable error, not an annotation problem.
	svc.Annotations[AnnotationNIC2NetworkID] = "net-lan1"
	svc.Annotations[AnnotationNIC1NetworkID] = nifcloud.NetworkCommonGlobal
	delete(svc.Annotations, AnnotationNIC1IPAddress)
	delete(svc.Annotations, AnnotationNIC1SystemIPAddresses)
	e.sim.Controls().SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{lookupAction}})
	_, err = e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1"))
	var ae *AnnotationError
	if err == nil || errors.As(err, &ae) || !strings.Contains(err.Error(), lookupAction) {
		t.Fatalf("err = %v, want the failed %s named", err, lookupAction)
	}
	if m, ev := e.mutations(), e.events(); m != 0 || len(ev) != 0 {
		t.Fatalf("failed lookup: %d mutations, events %v", m, ev)
	}
}
