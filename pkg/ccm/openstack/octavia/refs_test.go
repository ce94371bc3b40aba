package octavia

import (
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
)

// netIDs returns the simulator's network and subnet IDs by name.
func (e *env) netIDs() (nets, subs map[string]string) {
	nets, subs = map[string]string{}, map[string]string{}
	for _, n := range e.sim.Snapshot().Networks {
		nets[n.Name] = n.ID
		for _, s := range n.Subnets {
			subs[s.Name] = s.ID
		}
	}
	return nets, subs
}

// expectRefFailure runs EnsureLoadBalancer on svc and checks the error and
// the Warning event both name key and that nothing was written.
func (e *env) expectRefFailure(t *testing.T, name string, svc func() error, key, problem string) {
	t.Helper()
	err := svc()
	if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), problem) {
		t.Fatalf("%s: error %v, want one naming %s and %q", name, err, key, problem)
	}
	select {
	case ev := <-e.events.Events:
		if !strings.HasPrefix(ev, "Warning "+reasonMissingReference) || !strings.Contains(ev, key) || !strings.Contains(ev, problem) {
			t.Errorf("%s: event %q must be a %s Warning naming %s", name, ev, reasonMissingReference, key)
		}
	default:
		t.Errorf("%s: no Warning event", name)
	}
	if w := e.writes(); len(w) != 0 {
		t.Errorf("%s: cloud writes %v", name, w)
	}
}

func TestMissingReferencesFailBeforeAnyWrite(t *testing.T) {
	e := newEnv(t, "")
	nets, subs := e.netIDs()
	cases := []struct {
		name, problem string
		ann           map[string]string
		key           string
	}{
		{"floating network missing", "does not exist", map[string]string{AnnFloatingNetworkID: "no-such-net"}, AnnFloatingNetworkID},
		{"floating network not external", "not an external network", map[string]string{AnnFloatingNetworkID: nets["private"]}, AnnFloatingNetworkID},
		{"floating subnet missing", "does not exist",
			map[string]string{AnnFloatingNetworkID: nets["public"], AnnFloatingSubnetID: "no-such-subnet"}, AnnFloatingSubnetID},
		{"floating subnet on another network", "is not on floating network",
			map[string]string{AnnFloatingNetworkID: nets["public"], AnnFloatingSubnetID: subs["private-subnet"]}, AnnFloatingSubnetID},
		{"floating subnet pattern matches nothing", "matches no IPv4 subnet",
			map[string]string{AnnFloatingSubnet: "ext-*"}, AnnFloatingSubnet},
		{"VIP subnet missing", "does not exist", map[string]string{AnnSubnetID: "no-such-subnet"}, AnnSubnetID},
		{"VIP network missing", "does not exist", map[string]string{AnnNetworkID: "no-such-net"}, AnnNetworkID},
		{"VIP port missing", "does not exist", map[string]string{AnnPortID: "no-such-port"}, AnnPortID},
		{"member subnet missing", "does not exist", map[string]string{AnnMemberSubnetID: "no-such-subnet"}, AnnMemberSubnetID},
		{"adopted load balancer missing", "does not exist", map[string]string{AnnLoadBalancerID: "no-such-lb"}, AnnLoadBalancerID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.reset()
			svc := service("ref", 80)
			for k, v := range c.ann {
				svc.Annotations[k] = v
			}
			e.expectRefFailure(t, c.name, func() error {
				_, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, svc, e.nodes)
				return err
			}, c.key, c.problem)
			// One GET per referenced object at most.
			for k, n := range e.sim.Controls().Counts() {
				if strings.HasSuffix(k, "_get") && n > 1 {
					t.Errorf("%s called %d times", k, n)
				}
			}
		})
	}
	if s := e.state(); s.lb != nil || len(s.fips) != 0 {
		t.Fatalf("cloud changed: lb=%v fips=%v", s.lb, s.fips)
	}
}

func TestMissingFloatingNetworkFromCloudConfNamesTheKey(t *testing.T) {
	e := newEnv(t, "floating-network-id = no-such-net")
	e.expectRefFailure(t, "cloud.conf", func() error {
		_, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, service("conf", 80), e.nodes)
		return err
	}, "[LoadBalancer] floating-network-id", "does not exist")

	// The annotation overrides cloud.conf and is named when it is wrong.
	svc := service("conf", 80)
	svc.Annotations[AnnFloatingNetworkID] = "other-missing-net"
	e.expectRefFailure(t, "annotation", func() error {
		_, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, svc, e.nodes)
		return err
	}, AnnFloatingNetworkID, "does not exist")
}

// TestReferenceChecksCostNothingOnNoOpSync: a create with configured
// references pays one GET per object; a no-op sync of the existing load
// balancer pays none of them.
func TestReferenceChecksCostNothingOnNoOpSync(t *testing.T) {
	e := newEnv(t, "")
	nets, subs := e.netIDs()
	svc := service("refs", 80)
	svc.Annotations[AnnFloatingNetworkID] = nets["public"]
	svc.Annotations[AnnFloatingSubnetID] = subs["public-subnet"]
	svc.Annotations[AnnSubnetID] = subs["private-subnet"]
	e.ensure(svc)
	c := e.sim.Controls().Counts()
	if c["neutron.network_get"] != 1 || c["neutron.subnet_get"] != 2 {
		t.Errorf("create: network_get=%d subnet_get=%d, want 1 and 2 (%v)", c["neutron.network_get"], c["neutron.subnet_get"], c)
	}
	if w := e.writes(); w["octavia.loadbalancer_create"] != 1 || w["neutron.floatingip_create"] != 1 || len(w) != 2 {
		t.Errorf("create writes = %v", w)
	}
	for _, sync := range []string{"ensure", "update"} {
		e.reset()
		if sync == "ensure" {
			e.ensure(svc)
		} else if err := e.lb.UpdateLoadBalancer(e.ctx, testCluster, svc, e.nodes); err != nil {
			t.Fatal(err)
		}
		c := e.sim.Controls().Counts()
		if n := c["neutron.network_get"] + c["neutron.subnet_get"] + c["neutron.port_get"]; n != 0 || len(e.writes()) != 0 {
			t.Errorf("no-op %s: %d reference GETs, writes %v (%v)", sync, n, e.writes(), c)
		}
	}
}

// TestChangedReferencesOnExistingLoadBalancer: a member subnet or floating
// network first needed by a later sync is checked before its write.
func TestChangedReferencesOnExistingLoadBalancer(t *testing.T) {
	e := newEnv(t, "")
	svc := service("later", 80)
	e.ensure(svc)

	e.reset()
	svc.Annotations[AnnMemberSubnetID] = "no-such-subnet"
	e.expectRefFailure(t, "member subnet", func() error {
		return e.lb.UpdateLoadBalancer(e.ctx, testCluster, svc, e.nodes)
	}, AnnMemberSubnetID, "does not exist")
	delete(svc.Annotations, AnnMemberSubnetID)

	// The floating IP is gone and a wrong floating network is set: no new
	// floating IP is attempted.
	s := e.state()
	for _, f := range s.fips {
		if err := floatingips.Delete(e.ctx, e.cl.Network, f.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	e.reset()
	svc.Annotations[AnnFloatingNetworkID] = "no-such-net"
	e.expectRefFailure(t, "floating network", func() error {
		_, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, svc, e.nodes)
		return err
	}, AnnFloatingNetworkID, "does not exist")
	if c := e.sim.Controls().Counts(); c["neutron.network_get"] != 1 {
		t.Errorf("network_get = %d, want 1 (%v)", c["neutron.network_get"], c)
	}
	delete(svc.Annotations, AnnFloatingNetworkID)
	if st := e.ensure(svc); len(st.Ingress) == 0 || !strings.HasPrefix(st.Ingress[0].IP, "203.0.113.") {
		t.Errorf("status after fixing the annotation: %v", st)
	}
}
