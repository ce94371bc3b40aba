package octavia

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
)

// sgView summarises the Service's security group in the simulator: its
// ingress rules as "proto/port/prefix" and the node addresses whose ports
// carry it.
func (e *env) sgView(svc *v1.Service) (found bool, rules, nodes []string) {
	st := e.sim.Snapshot()
	var sg *openstacksim.SecurityGroup
	for _, g := range st.SecurityGroups {
		if g.Name == sgName(svc) {
			sg = g
		}
	}
	if sg == nil {
		return false, nil, nil
	}
	for _, r := range st.SecurityGroupRules {
		if r.SecurityGroupID == sg.ID && r.Direction == "ingress" && r.PortRangeMin != nil {
			rules = append(rules, fmt.Sprintf("%s/%d/%s", r.Protocol, *r.PortRangeMin, r.RemoteIPPrefix))
		}
	}
	for _, p := range st.Ports {
		if slices.Contains(p.SecurityGroups, sg.ID) {
			nodes = append(nodes, p.FixedIPs[0].IPAddress)
		}
	}
	slices.Sort(rules)
	slices.Sort(nodes)
	return true, rules, nodes
}

func TestManagedSecurityGroupFollowsPortsAndNodes(t *testing.T) {
	e := newEnv(t, "manage-security-groups = true")
	_, subs := e.netIDs()
	cidr := ""
	for _, n := range e.sim.Snapshot().Networks {
		for _, s := range n.Subnets {
			if s.ID == subs["private-subnet"] {
				cidr = s.CIDR
			}
		}
	}
	svc := service("guarded", 80)
	svc.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	svc.Spec.HealthCheckNodePort = 32300
	e.ensure(svc)
	ok, rules, nodes := e.sgView(svc)
	want := []string{"tcp/30080/" + cidr, "tcp/32300/" + cidr}
	if !ok || !slices.Equal(rules, want) || strings.Join(nodes, ",") != "10.0.0.11,10.0.0.12" {
		t.Fatalf("security group %v: rules %v (want %v), on nodes %v", ok, rules, want, nodes)
	}

	e.reset()
	e.ensure(svc)
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("no-op sync wrote %v", w)
	}
	// The member subnet's CIDR is read once, not on every sync.
	if n := e.total(func(a string) bool { return a == "neutron.subnet_get" }); n != 0 {
		t.Errorf("no-op sync read the member subnet %d times", n)
	}

	// A new NodePort replaces its rule; a node that leaves loses the group.
	svc.Spec.Ports[0].NodePort = 30099
	e.nodes = e.nodes[1:]
	e.ensure(svc)
	_, rules, nodes = e.sgView(svc)
	if !slices.Equal(rules, []string{"tcp/30099/" + cidr, "tcp/32300/" + cidr}) || strings.Join(nodes, ",") != "10.0.0.12" {
		t.Fatalf("after the change: rules %v, nodes %v", rules, nodes)
	}

	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, svc); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := e.sgView(svc); ok {
		t.Fatal("security group left after the Service was deleted")
	}
	for _, p := range e.sim.Snapshot().Ports {
		if len(p.SecurityGroups) > 1 {
			t.Errorf("port %s still has groups %v", p.ID, p.SecurityGroups)
		}
	}
}
