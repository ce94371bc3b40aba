package octavia

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
)

const (
	dualV4CIDR = "10.1.0.0/24"
	dualV6CIDR = "fd00:1::/64"
)

// dualStack adds a network "dual" holding an IPv4 and an IPv6 subnet and
// replaces the IPv4-only nodes by two with an InternalIP of each family.
func (e *env) dualStack() *env {
	e.t.Helper()
	if _, err := e.sim.AddNetwork(openstacksim.Network{Name: "dual", Subnets: []openstacksim.Subnet{
		{Name: "dual-v4", CIDR: dualV4CIDR}, {Name: "dual-v6", CIDR: dualV6CIDR}}}); err != nil {
		e.t.Fatal(err)
	}
	e.nodes = nil
	e.addDualNode(1)
	e.addDualNode(2)
	e.reset()
	return e
}

// addDualNode creates server dual-<i> with 10.1.0.<10+i> and fd00:1::<10+i>.
func (e *env) addDualNode(i int) *v1.Node {
	e.t.Helper()
	name, v4, v6 := fmt.Sprintf("dual-%d", i), fmt.Sprintf("10.1.0.%d", 10+i), fmt.Sprintf("fd00:1::%d", 10+i)
	if _, err := e.sim.AddServer(openstacksim.Server{Name: name,
		Addresses: map[string][]openstacksim.Address{"dual": {{Addr: v4}, {Addr: v6}}}}); err != nil {
		e.t.Fatal(err)
	}
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1.NodeStatus{Addresses: []v1.NodeAddress{
		{Type: v1.NodeInternalIP, Address: v4}, {Type: v1.NodeInternalIP, Address: v6}}}}
	e.nodes = append(e.nodes, n)
	return n
}

// dualService is service() with the given IP families and policy.
func dualService(name string, policy v1.IPFamilyPolicy, fams ...v1.IPFamily) *v1.Service {
	s := service(name, 80)
	s.Spec.IPFamilyPolicy = &policy
	s.Spec.IPFamilies = fams
	return s
}

// lbTree is one load balancer of the simulator with its children.
type lbTree struct {
	lb        *openstacksim.LoadBalancer
	listeners []*openstacksim.Listener
	pools     []*openstacksim.Pool
	members   []*openstacksim.Member
	fips      []*openstacksim.FloatingIP
}

// trees returns the simulator's load balancers by name.
func (e *env) trees() map[string]*lbTree {
	st := e.sim.Snapshot()
	out := map[string]*lbTree{}
	byID := map[string]*lbTree{}
	for _, lb := range st.LoadBalancers {
		t := &lbTree{lb: lb}
		out[lb.Name], byID[lb.ID] = t, t
		for _, f := range st.FloatingIPs {
			if f.PortID == lb.VipPortID {
				t.fips = append(t.fips, f)
			}
		}
	}
	poolLB := map[string]*lbTree{}
	for _, l := range st.Listeners {
		if t := byID[l.LoadBalancerID]; t != nil {
			t.listeners = append(t.listeners, l)
		}
	}
	for _, p := range st.Pools {
		if t := byID[p.LoadBalancerID]; t != nil {
			t.pools = append(t.pools, p)
			poolLB[p.ID] = t
		}
	}
	for _, m := range st.Members {
		if t := poolLB[m.PoolID]; t != nil {
			t.members = append(t.members, m)
		}
	}
	return out
}

// memberAddrs is the sorted member addresses of the tree.
func (t *lbTree) memberAddrs() []string {
	var out []string
	for _, m := range t.members {
		out = append(out, m.Address)
	}
	sort.Strings(out)
	return out
}

// fingerprint changes with any write to the load balancer or its children.
func (t *lbTree) fingerprint() string {
	var parts []string
	parts = append(parts, fmt.Sprint(t.lb.ID, t.lb.ProvisioningStatus, t.lb.Updated.UnixNano(), t.lb.Tags))
	for _, l := range t.listeners {
		parts = append(parts, fmt.Sprint(l.ID, l.Updated.UnixNano()))
	}
	for _, p := range t.pools {
		parts = append(parts, fmt.Sprint(p.ID, p.Updated.UnixNano()))
	}
	for _, m := range t.members {
		parts = append(parts, fmt.Sprint(m.ID, m.Updated.UnixNano()))
	}
	for _, f := range t.fips {
		parts = append(parts, fmt.Sprint(f.ID, f.Updated.UnixNano()))
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

func inCIDR(addr, cidr string) bool {
	a, err1 := netip.ParseAddr(addr)
	p, err2 := netip.ParsePrefix(cidr)
	return err1 == nil && err2 == nil && p.Contains(a)
}

// event is the next recorded event, "" when there is none.
func (e *env) event() string {
	select {
	case ev := <-e.events.Events:
		return ev
	default:
		return ""
	}
}
