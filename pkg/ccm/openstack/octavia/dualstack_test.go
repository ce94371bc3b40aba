package octavia

import (
	"maps"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
)

const (
	webV4 = "kube_service_kumo_default_web"
	webV6 = "kube_service_kumo_default_web_ipv6"
)

func TestDualStackLifecycle(t *testing.T) {
	e := newEnv(t, "cascade-delete = true").dualStack()
	svc := dualService("web", v1.IPFamilyPolicyPreferDualStack, v1.IPv4Protocol, v1.IPv6Protocol)
	st := e.ensure(svc)

	// Two load balancers, one per family, each with VIP and members of its
	// family; a floating IP only for IPv4.
	trees := e.trees()
	v4, v6 := trees[webV4], trees[webV6]
	if len(trees) != 2 || v4 == nil || v6 == nil {
		t.Fatalf("load balancers = %v, want %s and %s", slices.Collect(maps.Keys(trees)), webV4, webV6)
	}
	if !inCIDR(v4.lb.VipAddress, dualV4CIDR) || !inCIDR(v6.lb.VipAddress, dualV6CIDR) {
		t.Fatalf("VIPs %s / %s, want in %s / %s", v4.lb.VipAddress, v6.lb.VipAddress, dualV4CIDR, dualV6CIDR)
	}
	if v4.lb.VipNetworkID != v6.lb.VipNetworkID {
		t.Errorf("VIPs on different networks: %s, %s", v4.lb.VipNetworkID, v6.lb.VipNetworkID)
	}
	if got := v4.memberAddrs(); !slices.Equal(got, []string{"10.1.0.11", "10.1.0.12"}) {
		t.Errorf("IPv4 members %v", got)
	}
	if got := v6.memberAddrs(); !slices.Equal(got, []string{"fd00:1::11", "fd00:1::12"}) {
		t.Errorf("IPv6 members %v", got)
	}
	for _, m := range v6.members {
		if m.SubnetID != v6.lb.VipSubnetID {
			t.Errorf("IPv6 member %s on subnet %s, want the IPv6 VIP subnet %s", m.Address, m.SubnetID, v6.lb.VipSubnetID)
		}
	}
	if len(v6.listeners) != 1 || !slices.Equal(v6.listeners[0].AllowedCIDRs, []string{"::/0"}) ||
		len(v4.listeners) != 1 || !slices.Equal(v4.listeners[0].AllowedCIDRs, []string{"0.0.0.0/0"}) {
		t.Errorf("allowed_cidrs per family wrong: v4 %v v6 %v", v4.listeners, v6.listeners)
	}
	if len(v4.fips) != 1 || len(v6.fips) != 0 {
		t.Fatalf("floating IPs: IPv4 LB %d, IPv6 LB %d; want 1 and 0", len(v4.fips), len(v6.fips))
	}
	if len(st.Ingress) != 2 || st.Ingress[0].IP != v4.fips[0].FloatingIPAddress || st.Ingress[1].IP != v6.lb.VipAddress {
		t.Fatalf("ingress %+v, want [%s %s]", st.Ingress, v4.fips[0].FloatingIPAddress, v6.lb.VipAddress)
	}
	w := e.writes()
	if w["octavia.loadbalancer_create"] != 2 || w["neutron.floatingip_create"] != 1 || len(w) != 2 {
		t.Errorf("writes on dual-stack create = %v, want 2 LB creates and 1 FIP", w)
	}
	t.Logf("dual-stack create: %d calls %v", e.total(func(string) bool { return true }), e.sim.Controls().Counts())
	svc.Status.LoadBalancer = *st

	// No-op: no writes, bounded reads.
	e.reset()
	e.ensure(svc)
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("no-op dual-stack Ensure wrote %v", w)
	}
	t.Logf("no-op dual-stack Ensure: %d GETs", e.total(func(string) bool { return true }))

	// A node joins: one member batch per load balancer, nothing else.
	e.reset()
	e.addDualNode(3)
	if err := e.lb.UpdateLoadBalancer(e.ctx, testCluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if w := e.writes(); len(w) != 1 || w["octavia.member_batch_update"] != 2 {
		t.Fatalf("writes after adding a node = %v, want 2 member batch updates", w)
	}
	trees = e.trees()
	if got := trees[webV4].memberAddrs(); !slices.Contains(got, "10.1.0.13") || len(got) != 3 {
		t.Errorf("IPv4 members after node add: %v", got)
	}
	if got := trees[webV6].memberAddrs(); !slices.Contains(got, "fd00:1::13") || len(got) != 3 {
		t.Errorf("IPv6 members after node add: %v", got)
	}

	got, exists, err := e.lb.GetLoadBalancer(e.ctx, testCluster, svc)
	if err != nil || !exists || len(got.Ingress) != 2 || got.Ingress[0].IP != st.Ingress[0].IP || got.Ingress[1].IP != st.Ingress[1].IP {
		t.Fatalf("GetLoadBalancer = %+v, %v, %v; want %+v", got, exists, err, st.Ingress)
	}

	// Back to single-stack: the IPv6 load balancer goes, the IPv4 one is
	// not written to.
	before := trees[webV4].fingerprint()
	single := svc.DeepCopy()
	policy := v1.IPFamilyPolicySingleStack
	single.Spec.IPFamilyPolicy, single.Spec.IPFamilies = &policy, []v1.IPFamily{v1.IPv4Protocol}
	e.reset()
	st = e.ensure(single)
	if w := e.writes(); len(w) != 1 || w["octavia.loadbalancer_delete"] != 1 {
		t.Fatalf("writes when dropping IPv6 = %v, want only the IPv6 LB delete", w)
	}
	trees = e.trees()
	if len(trees) != 1 || trees[webV4] == nil {
		t.Fatalf("load balancers after dropping IPv6: %v", slices.Collect(maps.Keys(trees)))
	}
	if after := trees[webV4].fingerprint(); after != before {
		t.Errorf("IPv4 load balancer changed:\n%s\n%s", before, after)
	}
	if len(st.Ingress) != 1 || st.Ingress[0].IP != trees[webV4].fips[0].FloatingIPAddress {
		t.Errorf("single-stack ingress %+v", st.Ingress)
	}
	single.Status.LoadBalancer = *st
	e.reset()
	e.ensure(single)
	if n := e.total(func(string) bool { return true }); e.sim.Controls().Counts()["octavia.loadbalancer_list"] != 1 || len(e.writes()) != 0 {
		t.Errorf("single-stack no-op: %d calls %v, want one LB lookup and no write", n, e.sim.Controls().Counts())
	}

	// Dual again, then delete: nothing is left.
	e.ensure(svc)
	if len(e.trees()) != 2 {
		t.Fatalf("IPv6 load balancer not recreated")
	}
	e.reset()
	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, svc); err != nil {
		t.Fatal(err)
	}
	s := e.sim.Snapshot()
	if len(s.LoadBalancers)+len(s.Listeners)+len(s.Pools)+len(s.Members)+len(s.FloatingIPs) != 0 {
		t.Fatalf("left after delete: %d LBs %d listeners %d pools %d members %d FIPs",
			len(s.LoadBalancers), len(s.Listeners), len(s.Pools), len(s.Members), len(s.FloatingIPs))
	}
	for _, p := range s.Ports {
		if strings.HasPrefix(p.DeviceID, "lb-") {
			t.Errorf("VIP port %s left", p.ID)
		}
	}
	if w := e.writes(); w["octavia.loadbalancer_delete"] != 2 || w["neutron.floatingip_delete"] != 1 {
		t.Errorf("delete writes = %v", w)
	}
	if _, exists, err := e.lb.GetLoadBalancer(e.ctx, testCluster, svc); exists || err != nil {
		t.Errorf("GetLoadBalancer after delete: exists=%v err=%v", exists, err)
	}
}

func TestDualStackIPv6Primary(t *testing.T) {
	e := newEnv(t, "").dualStack()
	svc := dualService("web", v1.IPFamilyPolicyRequireDualStack, v1.IPv6Protocol, v1.IPv4Protocol)
	svc.Spec.LoadBalancerSourceRanges = []string{"2001:db8::/32", "192.0.2.0/24"}
	st := e.ensure(svc)
	trees := e.trees()
	v6, v4 := trees["kube_service_kumo_default_web"], trees["kube_service_kumo_default_web_ipv4"]
	if len(trees) != 2 || v6 == nil || v4 == nil {
		t.Fatalf("load balancers %v", slices.Collect(maps.Keys(trees)))
	}
	if !inCIDR(v6.lb.VipAddress, dualV6CIDR) || !inCIDR(v4.lb.VipAddress, dualV4CIDR) || len(v6.fips) != 0 || len(v4.fips) != 1 {
		t.Fatalf("primary IPv6 VIP %s (%d FIPs), secondary IPv4 VIP %s (%d FIPs)", v6.lb.VipAddress, len(v6.fips), v4.lb.VipAddress, len(v4.fips))
	}
	if !slices.Equal(v6.listeners[0].AllowedCIDRs, []string{"2001:db8::/32"}) || !slices.Equal(v4.listeners[0].AllowedCIDRs, []string{"192.0.2.0/24"}) {
		t.Errorf("source ranges not split by family: v6 %v v4 %v", v6.listeners[0].AllowedCIDRs, v4.listeners[0].AllowedCIDRs)
	}
	if len(st.Ingress) != 2 || st.Ingress[0].IP != v6.lb.VipAddress || st.Ingress[1].IP != v4.fips[0].FloatingIPAddress {
		t.Fatalf("ingress %+v", st.Ingress)
	}
	// Deleting a single-stack view of it still removes both.
	e.reset()
	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, svc); err != nil {
		t.Fatal(err)
	}
	if s := e.sim.Snapshot(); len(s.LoadBalancers) != 0 || len(s.FloatingIPs) != 0 {
		t.Fatalf("left: %d LBs, %d FIPs", len(s.LoadBalancers), len(s.FloatingIPs))
	}
}

func TestDualStackWithoutSecondSubnet(t *testing.T) {
	// Nodes on "private", which has no IPv6 subnet.
	e := newEnv(t, "")

	req := dualService("req", v1.IPFamilyPolicyRequireDualStack, v1.IPv4Protocol, v1.IPv6Protocol)
	if _, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, req, e.nodes); err == nil || !strings.Contains(err.Error(), "no IPv6 subnet") {
		t.Fatalf("RequireDualStack without an IPv6 subnet: err = %v", err)
	}
	if ev := e.event(); !strings.HasPrefix(ev, "Warning "+reasonDualStack) || !strings.Contains(ev, "RequireDualStack") {
		t.Errorf("event %q", ev)
	}
	if w := e.writes(); len(w) != 0 || len(e.sim.Snapshot().LoadBalancers) != 0 {
		t.Fatalf("RequireDualStack failure wrote %v", w)
	}

	pref := dualService("pref", v1.IPFamilyPolicyPreferDualStack, v1.IPv4Protocol, v1.IPv6Protocol)
	st := e.ensure(pref)
	if ev := e.event(); !strings.HasPrefix(ev, "Warning "+reasonDualStack) || !strings.Contains(ev, "serving IPv4 only") {
		t.Errorf("event %q", ev)
	}
	if trees := e.trees(); len(trees) != 1 || trees["kube_service_kumo_default_pref"] == nil || len(st.Ingress) != 1 {
		t.Fatalf("PreferDualStack: LBs %v ingress %+v", slices.Collect(maps.Keys(trees)), st.Ingress)
	}
}

func TestDualStackInvalidSpecMakesNoCloudCall(t *testing.T) {
	e := newEnv(t, "").dualStack()
	cases := map[string]struct {
		svc *v1.Service
		key string
	}{
		"require one family": {dualService("a", v1.IPFamilyPolicyRequireDualStack, v1.IPv4Protocol), "spec.ipFamilyPolicy"},
		"same family twice":  {dualService("b", v1.IPFamilyPolicyRequireDualStack, v1.IPv4Protocol, v1.IPv4Protocol), "spec.ipFamilies"},
		"no IPv6 source range": {func() *v1.Service {
			s := dualService("c", v1.IPFamilyPolicyPreferDualStack, v1.IPv4Protocol, v1.IPv6Protocol)
			s.Spec.LoadBalancerSourceRanges = []string{"192.0.2.0/24"}
			return s
		}(), "spec.loadBalancerSourceRanges"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e.reset()
			if _, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, c.svc, e.nodes); err == nil || !strings.Contains(err.Error(), c.key) {
				t.Fatalf("err %v does not name %s", err, c.key)
			}
			if ev := e.event(); !strings.Contains(ev, c.key) {
				t.Errorf("event %q does not name %s", ev, c.key)
			}
			if n := e.total(func(string) bool { return true }); n != 0 {
				t.Errorf("%d cloud calls: %v", n, e.sim.Controls().Counts())
			}
		})
	}
}

func TestSecondaryNameFitsAndDiffers(t *testing.T) {
	long := lbName(strings.Repeat("c", 300), service("web", 80))
	sec := secondaryName(long, v1.IPv6Protocol)
	if len(long) != maxNameLen || len(sec) != maxNameLen || !strings.HasSuffix(sec, "_ipv6") || sec == long {
		t.Fatalf("len %d/%d, %q", len(long), len(sec), sec[len(sec)-10:])
	}
	if got := secondaryName(webV4, v1.IPv6Protocol); got != webV6 {
		t.Errorf("secondaryName = %q", got)
	}
}

func TestDualStackSecondSubnetFollowsConfiguredSubnetAndNodes(t *testing.T) {
	e := newEnv(t, "")
	// Two IPv6 subnets on the network: the one holding the nodes' IPv6
	// addresses must be chosen whatever the listing order.
	net, err := e.sim.AddNetwork(openstacksim.Network{Name: "dual", Subnets: []openstacksim.Subnet{
		{Name: "dual-v4", CIDR: dualV4CIDR}, {Name: "other-v6", CIDR: "fd00:9::/64"}, {Name: "dual-v6", CIDR: dualV6CIDR}}})
	if err != nil {
		t.Fatal(err)
	}
	e.nodes = nil
	e.addDualNode(1)
	e.lb.cfg.SubnetID = net.Subnets[0].ID // [LoadBalancer] subnet-id names the IPv4 subnet
	e.reset()
	st := e.ensure(dualService("web", v1.IPFamilyPolicyPreferDualStack, v1.IPv4Protocol, v1.IPv6Protocol))
	trees := e.trees()
	if trees[webV4] == nil || trees[webV4].lb.VipSubnetID != net.Subnets[0].ID {
		t.Fatalf("primary not on the configured subnet")
	}
	if v6 := trees[webV6]; v6 == nil || v6.lb.VipSubnetID != net.Subnets[2].ID || !inCIDR(st.Ingress[1].IP, dualV6CIDR) {
		t.Fatalf("secondary VIP not on the nodes' IPv6 subnet: %+v", st.Ingress)
	}
	if n := e.sim.Controls().Counts()["neutron.port_list"]; n != 0 {
		t.Errorf("configured subnet-id still looked up node ports (%d)", n)
	}
}
