package nifcloud

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// taggedRules lists "<proto> <port> <cidr>" of the rules made for name in
// group g.
func taggedRules(st nifcloudsim.State, g, name string) []string {
	var out []string
	for _, r := range st.SecurityGroups[g].Rules {
		if r.Description == sgRuleTag(name) {
			out = append(out, fmt.Sprintf("%s %d %s", r.IPProtocol, r.FromPort, r.CidrIP))
		}
	}
	sort.Strings(out)
	return out
}

func wantRules(proto string, port int, sources []string) []string {
	var out []string
	for _, s := range sources {
		out = append(out, fmt.Sprintf("%s %d %s", proto, port, s))
	}
	return out
}

func sorted(s ...[]string) []string {
	var out []string
	for _, x := range s {
		out = append(out, x...)
	}
	sort.Strings(out)
	return out
}

func TestElasticLBLifecycleWithSecurityGroups(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, nil)
	e.addInstances(webInstances()...)
	// A rule the user made: never touched by the provider.
	userRule := &nifcloud.SecurityGroupIngressInput{GroupName: "fwweb", IPPermissions: []nifcloud.IPPermission{
		{IPProtocol: "TCP", FromPort: 22, ToPort: 22, InOut: "IN", CIDRs: []string{"192.0.2.0/24"}},
	}}
	if _, err := e.api.AuthorizeSecurityGroupIngress(ctx, userRule); err != nil {
		t.Fatal(err)
	}

	// Start as an L4 load balancer, then switch the type: the L4 one goes.
	svc := testService(testUID, nil, port{80, 30080})
	name := loadBalancerName(svc)
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1", "db1")); err != nil {
		t.Fatal(err)
	}
	svc.Annotations = map[string]string{AnnotationLBType: LBTypeElastic, AnnotationNetworkVolume: "100"}
	st, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1", "db1"))
	if err != nil {
		t.Fatal(err)
	}
	s := e.state()
	if len(s.LoadBalancers) != 0 {
		t.Fatalf("L4 load balancer left after switching to elb: %v", s.LoadBalancers)
	}
	elb := s.ElasticLBs[name]
	if elb == nil || elb.State != "available" || elb.NetworkVolume != 100 {
		t.Fatalf("elastic LB = %+v, want an available one with network volume 100", elb)
	}
	if len(st.Ingress) != 1 || st.Ingress[0].IP != elb.DNSName {
		t.Fatalf("status %+v, want VIP %q", st, elb.DNSName)
	}
	if len(elb.NetworkInterfaces) != 1 || elb.NetworkInterfaces[0].NetworkID != nifcloud.NetworkCommonGlobal || !elb.NetworkInterfaces[0].IsVipNetwork {
		t.Fatalf("network interfaces %+v, want the VIP on %s", elb.NetworkInterfaces, nifcloud.NetworkCommonGlobal)
	}
	sources := elb.NetworkInterfaces[0].SystemIPAddresses
	if len(elb.Listeners) != 1 || !reflect.DeepEqual(sortedCopy(elb.Listeners[0].Instances), []string{"db1", "web1"}) ||
		elb.Listeners[0].HealthCheck.Target != "TCP:30080" || elb.Listeners[0].HealthCheck.Interval != 10 {
		t.Fatalf("listeners %+v", elb.Listeners)
	}
	for _, g := range []string{"fwweb", "fwdb"} {
		if got, want := taggedRules(s, g, name), wantRules("TCP", 30080, sources); !reflect.DeepEqual(got, want) {
			t.Fatalf("rules of %s = %v, want %v", g, got, want)
		}
	}

	// No-op reconcile: no writes, bounded reads.
	e.sim.Controls().ResetCounts()
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1", "db1")); err != nil {
		t.Fatal(err)
	}
	if m := e.mutations(); m != 0 {
		t.Fatalf("no-op elb ensure made %d mutating calls: %v", m, e.sim.Controls().Counts())
	}
	if n := e.totalCalls(); n > 3 {
		t.Fatalf("no-op elb ensure made %d reads, want <= 3: %v", n, e.sim.Controls().Counts())
	}
	t.Logf("no-op elb ensure: %v", e.sim.Controls().Counts())

	// New node port, ICMP health check, db1 leaves, a second port.
	svc.Annotations[AnnotationHealthCheckProtocol] = "ICMP"
	svc.Annotations[AnnotationBalancingType] = "2"
	svc2 := testService(testUID, svc.Annotations, port{80, 30081}, port{443, 30443})
	e.sim.Controls().ResetCounts()
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc2, testNodes("web1", "web2")); err != nil {
		t.Fatal(err)
	}
	t.Logf("elb update calls: %v", e.sim.Controls().Counts())
	// Listener changes (balancing type, instance port) go through
	// NiftyModifyElasticLoadBalancerAttributes: the model's
	// NiftyUpdateElasticLoadBalancerRequest has no listener members.
	if c := e.sim.Controls().Counts(); c["NiftyUpdateElasticLoadBalancer"] != 0 || c["NiftyModifyElasticLoadBalancerAttributes"] == 0 {
		t.Errorf("listener update calls = %v, want NiftyModifyElasticLoadBalancerAttributes only", c)
	}
	s = e.state()
	elb = s.ElasticLBs[name]
	var got []string
	for _, l := range elb.Listeners {
		got = append(got, fmt.Sprintf("%d->%d bt=%d %s %v", l.Port, l.InstancePort, l.BalancingType, l.HealthCheck.Target, sortedCopy(l.Instances)))
	}
	sort.Strings(got)
	want := []string{"443->30443 bt=2 ICMP [web1 web2]", "80->30081 bt=2 ICMP [web1 web2]"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("listeners after update = %v, want %v", got, want)
	}
	icmp := wantRules("ICMP", 0, sources)
	if got, want := taggedRules(s, "fwweb", name), sorted(wantRules("TCP", 30081, sources), wantRules("TCP", 30443, sources), icmp); !reflect.DeepEqual(got, want) {
		t.Fatalf("rules of fwweb = %v, want %v", got, want)
	}
	if got := taggedRules(s, "fwdb", name); len(got) != 0 {
		t.Fatalf("rules left in fwdb after db1 left: %v", got)
	}

	// Delete (twice): the ELB and its rules go, the user's rule stays.
	for i := 0; i < 2; i++ {
		if err := e.p.EnsureLoadBalancerDeleted(ctx, "kube", svc2); err != nil {
			t.Fatalf("delete #%d: %v", i+1, err)
		}
	}
	s = e.state()
	if len(s.ElasticLBs) != 0 || len(s.LoadBalancers) != 0 {
		t.Fatalf("load balancers left: %v %v", s.ElasticLBs, s.LoadBalancers)
	}
	for _, g := range []string{"fwweb", "fwdb"} {
		if got := taggedRules(s, g, name); len(got) != 0 {
			t.Fatalf("rules left in %s: %v", g, got)
		}
	}
	if r := s.SecurityGroups["fwweb"].Rules; len(r) != 1 || r[0].FromPort != 22 {
		t.Fatalf("user rules of fwweb = %+v, want the port 22 rule only", r)
	}
}

func TestElasticLBNetworkInterfaceChangeIsWarned(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, nil)
	e.addInstances(webInstances()...)
	svc := testService(testUID, map[string]string{AnnotationLBType: LBTypeElastic}, port{80, 30080})
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1")); err != nil {
		t.Fatal(err)
	}
	svc.Annotations[AnnotationNIC1NetworkID] = nifcloud.NetworkCommonPrivate
	e.sim.Controls().ResetCounts()
	if _, err := e.p.EnsureLoadBalancer(ctx, "kube", svc, testNodes("web1")); err != nil {
		t.Fatal(err)
	}
	if m := e.mutations(); m != 0 {
		t.Fatalf("unsupported change made %d mutating calls", m)
	}
	ev := e.events()
	if len(ev) != 1 || !strings.Contains(ev[0], ReasonUnsupportedChange) || !strings.Contains(ev[0], AnnotationNIC1NetworkID) {
		t.Fatalf("events = %v, want one %s warning naming %s", ev, ReasonUnsupportedChange, AnnotationNIC1NetworkID)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
