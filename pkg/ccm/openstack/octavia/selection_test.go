package octavia

import (
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

func TestLoadBalancerClassPicksTheFloatingNetwork(t *testing.T) {
	e := newEnv(t, "")
	dmz, err := e.sim.AddNetwork(openstacksim.Network{Name: "dmz", External: true,
		Subnets: []openstacksim.Subnet{{Name: "dmz-v4", CIDR: "203.0.113.0/24", IPVersion: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	e.lb.classes = map[string]*config.LoadBalancerClass{
		"dmz":    {FloatingNetworkID: dmz.ID},
		"broken": {FloatingNetworkID: "no-such-net"},
	}
	svc := service("classy", 80)
	svc.Annotations[AnnClass] = "dmz"
	st := e.ensure(svc)
	s := e.state()
	if len(s.fips) != 1 || s.fips[0].FloatingNetworkID != dmz.ID || st.Ingress[0].IP != s.fips[0].FloatingIPAddress {
		t.Fatalf("floating IP %+v, want one on class network %s", s.fips, dmz.ID)
	}
	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, svc); err != nil {
		t.Fatal(err)
	}

	// A class value that is wrong is reported against the class section.
	e.reset()
	bad := service("broken", 80)
	bad.Annotations[AnnClass] = "broken"
	e.expectRefFailure(t, "class", func() error {
		_, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, bad, e.nodes)
		return err
	}, `[LoadBalancerClass "broken"] floating-network-id`, "does not exist")

	// An unknown class names the annotation and the classes there are.
	unknown := service("unknown", 80)
	unknown.Annotations[AnnClass] = "gold"
	_, err = e.lb.EnsureLoadBalancer(e.ctx, testCluster, unknown, e.nodes)
	if err == nil || !strings.Contains(err.Error(), AnnClass) || !strings.Contains(err.Error(), "broken, dmz") {
		t.Fatalf("unknown class: %v", err)
	}
	if ev := e.event(); !strings.HasPrefix(ev, "Warning "+reasonInvalidAnnotation) || !strings.Contains(ev, AnnClass) {
		t.Errorf("event %q must name %s", ev, AnnClass)
	}
	if w := e.writes(); len(w) != 0 {
		t.Errorf("refused classes wrote %v", w)
	}
}

func TestNodeSelectorChoosesTheMembers(t *testing.T) {
	e := newEnv(t, "node-selector = pool=lb")
	e.addNode(3)
	e.nodes[0].Labels = map[string]string{"pool": "lb"}
	e.nodes[2].Labels = map[string]string{"pool": "lb", "edge": ""}
	svc := service("picky", 80)
	e.ensure(svc)
	s := e.state()
	if got := memberNames(s); got != "node-1,node-3" {
		t.Fatalf("members %s, want the nodes labelled pool=lb", got)
	}

	// The annotation overrides cloud.conf; a bare label means "has it".
	svc.Annotations[AnnNodeSelector] = "edge"
	e.ensure(svc)
	if got := memberNames(e.state()); got != "node-3" {
		t.Fatalf("members %s, want node-3 (label edge)", got)
	}

	// Selecting nobody is allowed but warned about.
	svc.Annotations[AnnNodeSelector] = "pool=none"
	e.ensure(svc)
	if got := memberNames(e.state()); got != "" {
		t.Fatalf("members %s, want none", got)
	}
	if ev := e.event(); !strings.HasPrefix(ev, "Warning "+reasonNoMembers) || !strings.Contains(ev, "pool=none") {
		t.Errorf("event %q must say no node matches", ev)
	}

	svc.Annotations[AnnNodeSelector] = "=x"
	if _, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, svc, e.nodes); err == nil || !strings.Contains(err.Error(), AnnNodeSelector) {
		t.Fatalf("bad selector: %v", err)
	}
}

func TestFlavorAndZoneAnnotations(t *testing.T) {
	e := newEnv(t, "flavor-id = small\navailability-zone = az-1")
	plain := service("plain", 80)
	e.ensure(plain)
	if lb := e.state().lb; lb.FlavorID != "small" || lb.AZ != "az-1" {
		t.Fatalf("cloud.conf flavor/zone not used: %q %q", lb.FlavorID, lb.AZ)
	}
	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, plain); err != nil {
		t.Fatal(err)
	}
	svc := service("big", 80)
	svc.Annotations[AnnFlavorID] = "large"
	svc.Annotations[AnnAvailabilityZone] = "az-2"
	e.ensure(svc)
	lb := e.state().lb
	if lb.FlavorID != "large" || lb.AZ != "az-2" {
		t.Fatalf("annotations not used: flavor %q zone %q", lb.FlavorID, lb.AZ)
	}
	// Octavia cannot change them: a later change is a Warning, no write.
	svc.Annotations[AnnFlavorID] = "huge"
	e.reset()
	e.ensure(svc)
	if w := e.writes(); len(w) != 0 {
		t.Errorf("flavor change wrote %v", w)
	}
	if ev := e.event(); !strings.HasPrefix(ev, "Warning "+reasonImmutable) || !strings.Contains(ev, AnnFlavorID) {
		t.Errorf("event %q must say the flavor cannot change", ev)
	}
}

func TestLocalTrafficPolicyGetsAMonitorByDefault(t *testing.T) {
	e := newEnv(t, "")
	svc := service("local", 80)
	svc.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	svc.Spec.HealthCheckNodePort = 32100
	e.ensure(svc)
	s := e.state()
	hm := s.monitors[s.poolOf(s.listeners[0]).ID]
	if hm == nil || hm.Type != "HTTP" || hm.URLPath != "/healthz" {
		t.Fatalf("monitor %+v, want kube-proxy's /healthz check", hm)
	}
	if ev := e.event(); ev != "" {
		t.Errorf("unexpected event %q", ev)
	}
}

func memberNames(s lbState) string {
	var names []string
	for _, ms := range s.members {
		for _, m := range ms {
			names = append(names, m.Name)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

func TestProviderRequiringSerialCallsGetsChildrenOneByOne(t *testing.T) {
	e := newEnv(t, "provider-requires-serial-api-calls = true\ncreate-monitor = true")
	svc := service("serial", 80, 443)
	st := e.ensure(svc)
	w := e.writes()
	if w["octavia.loadbalancer_create"] != 1 || w["octavia.listener_create"] != 2 || w["octavia.pool_create"] != 2 ||
		w["octavia.member_batch_update"] != 2 || w["octavia.healthmonitor_create"] != 2 {
		t.Fatalf("writes %v, want a bare create then each child", w)
	}
	s := e.state()
	if len(s.listeners) != 2 || len(s.monitors) != 2 || memberNames(s) != "node-1,node-1,node-2,node-2" || len(st.Ingress) != 1 {
		t.Fatalf("tree after serial create: listeners %d monitors %d members %s", len(s.listeners), len(s.monitors), memberNames(s))
	}
	e.reset()
	e.ensure(svc)
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("no-op sync after a serial create wrote %v", w)
	}
}

func TestFloatingSubnetTagsPickTheSubnet(t *testing.T) {
	e := newEnv(t, "")
	ext, err := e.sim.AddNetwork(openstacksim.Network{Name: "ext2", External: true, Subnets: []openstacksim.Subnet{
		{Name: "gold", CIDR: "198.51.100.0/24", IPVersion: 4, Tags: []string{"gold", "shared"}},
		{Name: "silver", CIDR: "192.0.2.0/24", IPVersion: 4, Tags: []string{"silver", "shared"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ tags, cidr string }{
		{"silver", "192.0.2.0/24"},
		{"gold&shared", "198.51.100.0/24"},
		{"!gold", "192.0.2.0/24"},
		{"bronze,silver", "192.0.2.0/24"},
	} {
		svc := service("tagged", 80)
		svc.Annotations[AnnFloatingNetworkID] = ext.ID
		svc.Annotations[AnnFloatingSubnetTags] = c.tags
		st := e.ensure(svc)
		if !inCIDR(st.Ingress[0].IP, c.cidr) {
			t.Errorf("tags %q: floating IP %s, want one in %s", c.tags, st.Ingress[0].IP, c.cidr)
		}
		if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, svc); err != nil {
			t.Fatal(err)
		}
	}
	e.reset()
	svc := service("untagged", 80)
	svc.Annotations[AnnFloatingNetworkID] = ext.ID
	svc.Annotations[AnnFloatingSubnetTags] = "gold&silver&bronze"
	e.expectRefFailure(t, "no match", func() error {
		_, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, svc, e.nodes)
		return err
	}, AnnFloatingSubnetTags, "match no IPv4 subnet")
}
