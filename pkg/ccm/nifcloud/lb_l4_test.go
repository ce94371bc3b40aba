package nifcloud

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
)

const testUID = "0f2b6e8c-1111-4222-8333-944455556666"

func webInstances() []nifcloudsim.Instance {
	return []nifcloudsim.Instance{
		{InstanceID: "web1", InstanceUniqueID: "i-web00001", SecurityGroup: "fwweb"},
		{InstanceID: "web2", InstanceUniqueID: "i-web00002", SecurityGroup: "fwweb"},
		{InstanceID: "web3", InstanceUniqueID: "i-web00003", SecurityGroup: "fwweb"},
		{InstanceID: "db1", InstanceUniqueID: "i-db000001", SecurityGroup: "fwdb"},
	}
}

func TestLoadBalancerName(t *testing.T) {
	svc := testService(testUID, nil)
	if got := loadBalancerName(svc); got != "0f2b6e8c1111422" {
		t.Fatalf("name = %q, want the first 15 characters of the UID without dashes", got)
	}
	if _, err := requireName(testService("", nil)); err == nil || !strings.Contains(err.Error(), "no UID") {
		t.Fatalf("empty UID: err = %v, want an error naming the missing UID", err)
	}
}

func TestL4CreateUpdateDelete(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, nil)
	e.addInstances(webInstances()...)
	svc := testService(testUID, nil, port{80, 30080}, port{443, 30443})
	name := loadBalancerName(svc)

	// Create.
	st, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1", "web2", "ghost"))
	if err != nil {
		t.Fatal(err)
	}
	lb := e.state().LoadBalancers[name]
	if lb == nil {
		t.Fatalf("no load balancer %q in the simulator", name)
	}
	if len(st.Ingress) != 1 || st.Ingress[0].IP != lb.DNSName || lb.DNSName == "" {
		t.Fatalf("status %+v, want the VIP %q", st, lb.DNSName)
	}
	want := []listenerView{
		{80, 30080, 1, "TCP:30080", 10, 1, []string{"web1", "web2"}, nil},
		{443, 30443, 1, "TCP:30443", 10, 1, []string{"web1", "web2"}, nil},
	}
	if got := l4Listeners(lb); !reflect.DeepEqual(got, want) {
		t.Fatalf("listeners after create:\n got %+v\nwant %+v", got, want)
	}
	vip := lb.DNSName

	// A no-op reconcile makes no writes and few reads.
	e.sim.Controls().ResetCounts()
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1", "web2")); err != nil {
		t.Fatal(err)
	}
	counts := e.sim.Controls().Counts()
	if m := e.mutations(); m != 0 {
		t.Fatalf("no-op ensure made %d mutating calls: %v", m, counts)
	}
	if n := e.totalCalls(); n > 2 {
		t.Fatalf("no-op ensure made %d reads, want <= 2: %v", n, counts)
	}
	t.Logf("no-op L4 ensure: %v", counts)

	// Change everything that can change in place.
	svc2 := testService(testUID, map[string]string{
		AnnotationHealthCheckProtocol:  "ICMP",
		AnnotationHealthCheckInterval:  "30",
		AnnotationHealthCheckUnhealthy: "3",
		AnnotationBalancingType:        "2",
		AnnotationNetworkVolume:        "100",
		AnnotationAccountingType:       "2",
	}, port{80, 30081}, port{8080, 30090})
	svc2.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24", "198.51.100.7/32"}
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc2, testNodes("web1", "web2")); err != nil {
		t.Fatal(err)
	}
	lb = e.state().LoadBalancers[name]
	filter := []string{"198.51.100.7", "203.0.113.0/24"}
	want = []listenerView{
		{80, 30081, 2, "ICMP", 30, 3, []string{"web1", "web2"}, filter},
		{8080, 30090, 2, "ICMP", 30, 3, []string{"web1", "web2"}, filter},
	}
	if got := l4Listeners(lb); !reflect.DeepEqual(got, want) {
		t.Fatalf("listeners after update:\n got %+v\nwant %+v", got, want)
	}
	if lb.NetworkVolume != 100 || lb.AccountingType != "2" || lb.DNSName != vip {
		t.Fatalf("lb after update: networkVolume %d accounting %q vip %q, want 100, 2, %q", lb.NetworkVolume, lb.AccountingType, lb.DNSName, vip)
	}

	// Node set change, filters back to allow-all.
	svc2.Spec.LoadBalancerSourceRanges = nil
	if err := e.p.UpdateLoadBalancer(ctx, "kube", svc2, testNodes("web1", "web3")); err != nil {
		t.Fatal(err)
	}
	for _, l := range l4Listeners(e.state().LoadBalancers[name]) {
		if !reflect.DeepEqual(l.Instances, []string{"web1", "web3"}) || len(l.Filter) != 0 {
			t.Fatalf("listener %d after node change: instances %v filter %v, want [web1 web3] and no filter", l.Port, l.Instances, l.Filter)
		}
	}
	if ev := e.events(); len(ev) != 0 {
		t.Fatalf("unexpected events: %v", ev)
	}

	// Policy type cannot change: warned, not failed.
	svc3 := svc2.DeepCopy()
	svc3.Annotations[AnnotationPolicyType] = "ats"
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc3, testNodes("web1", "web3")); err != nil {
		t.Fatal(err)
	}
	if ev := e.events(); len(ev) != 1 || !strings.Contains(ev[0], ReasonUnsupportedChange) || !strings.Contains(ev[0], AnnotationPolicyType) {
		t.Fatalf("events = %v, want one %s warning naming %s", ev, ReasonUnsupportedChange, AnnotationPolicyType)
	}

	// Delete, twice.
	if _, ok, err := e.p.GetLoadBalancer(ctx, "kube", svc2); err != nil || !ok {
		t.Fatalf("GetLoadBalancer before delete: exists=%v err=%v", ok, err)
	}
	for i := 0; i < 2; i++ {
		if err := e.p.EnsureLoadBalancerDeleted(ctx, "kube", svc2); err != nil {
			t.Fatalf("delete #%d: %v", i+1, err)
		}
	}
	if n := len(e.state().LoadBalancers); n != 0 {
		t.Fatalf("%d load balancers left after delete", n)
	}
	if _, ok, err := e.p.GetLoadBalancer(ctx, "kube", svc2); err != nil || ok {
		t.Fatalf("GetLoadBalancer after delete: exists=%v err=%v", ok, err)
	}
}

func TestInvalidAnnotationsWarnAndChangeNothing(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, nil)
	e.addInstances(webInstances()...)

	bad := testService(testUID, map[string]string{
		AnnotationHealthCheckInterval: "1",
		AnnotationLBType:              "alb",
	}, port{80, 30080})
	e.sim.Controls().ResetCounts()
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", bad, testNodes("web1")); err == nil ||
		!strings.Contains(err.Error(), AnnotationHealthCheckInterval) || !strings.Contains(err.Error(), AnnotationLBType) {
		t.Fatalf("err = %v, want one naming both bad annotations", err)
	}
	if n := e.totalCalls(); n != 0 {
		t.Fatalf("invalid service made %d cloud calls: %v", n, e.sim.Controls().Counts())
	}
	ev := e.events()
	if len(ev) != 1 || !strings.HasPrefix(ev[0], "Warning "+ReasonInvalidAnnotation) ||
		!strings.Contains(ev[0], AnnotationHealthCheckInterval) || !strings.Contains(ev[0], "an integer from 5 to 300") ||
		!strings.Contains(ev[0], `"lb" (default) or "elb"`) {
		t.Fatalf("events = %v, want one InvalidAnnotation warning naming the annotations and allowed values", ev)
	}

	// An existing load balancer is left alone by an invalid update.
	good := testService(testUID, nil, port{80, 30080})
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", good, testNodes("web1")); err != nil {
		t.Fatal(err)
	}
	before := e.state().LoadBalancers
	e.sim.Controls().ResetCounts()
	bad2 := testService(testUID, map[string]string{AnnotationBalancingType: "3"}, port{80, 30080})
	bad2.Spec.LoadBalancerSourceRanges = []string{"not-a-cidr"}
	if err := e.p.UpdateLoadBalancer(ctx, "kube", bad2, testNodes("web1", "web2")); err == nil {
		t.Fatal("invalid update succeeded")
	}
	if m := e.mutations(); m != 0 {
		t.Fatalf("invalid update made %d mutating calls: %v", m, e.sim.Controls().Counts())
	}
	if after := e.state().LoadBalancers; !reflect.DeepEqual(before, after) {
		t.Fatalf("invalid update changed the load balancer:\nbefore %+v\nafter  %+v", before, after)
	}
	ev = e.events()
	if len(ev) != 1 || !strings.Contains(ev[0], AnnotationBalancingType) || !strings.Contains(ev[0], fieldLoadBalancerSourceRanges) {
		t.Fatalf("events = %v, want a warning naming %s and %s", ev, AnnotationBalancingType, fieldLoadBalancerSourceRanges)
	}
}

func TestPlanPorts(t *testing.T) {
	want := []portSpec{{Port: 80, InstancePort: 30081}, {Port: 443, InstancePort: 30443}, {Port: 8080, InstancePort: 30090}}
	have := []portPair{{80, 30080}, {443, 30443}, {9000, 30900}}
	got := planPorts(want, have)
	wantPlan := portPlan{
		Moves:  []portMove{{From: portPair{80, 30080}, To: want[0]}},
		Add:    []portSpec{want[2]},
		Remove: []portPair{{9000, 30900}},
	}
	if !reflect.DeepEqual(got, wantPlan) {
		t.Fatalf("plan = %+v, want %+v", got, wantPlan)
	}
	if !planPorts(want, []portPair{{80, 30081}, {443, 30443}, {8080, 30090}}).empty() {
		t.Fatal("plan for matching listeners is not empty")
	}
}
