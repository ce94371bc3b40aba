package openstacksim

import (
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/common/extensions"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/extraroutes"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

func TestNeutronNetworksPortsExtensions(t *testing.T) {
	e := newEnv(t, Options{})
	n := e.addNode(t, "node", "10.0.0.50")
	exts := ok(extensions.ExtractExtensions(ok(extensions.List(e.network).AllPages(ctx())).must(t))).must(t)
	have := map[string]bool{}
	for _, x := range exts {
		have[x.Alias] = true
	}
	for _, want := range []string{"extraroute", "extraroute-atomic", "allowed-address-pairs", "security-group", "router"} {
		if !have[want] {
			t.Errorf("extension %s missing", want)
		}
	}
	var ext []struct {
		networks.Network
		external.NetworkExternalExt
	}
	pages := ok(networks.List(e.network, external.ListOptsExt{ListOptsBuilder: networks.ListOpts{}, External: ptr(true)}).AllPages(ctx())).must(t)
	if err := networks.ExtractNetworksInto(pages, &ext); err != nil || len(ext) != 1 || ext[0].Name != "public" || !ext[0].External {
		t.Fatalf("external networks: %v %+v", err, ext)
	}
	subs := ok(subnets.ExtractSubnets(ok(subnets.List(e.network, subnets.ListOpts{NetworkID: ext[0].ID}).AllPages(ctx())).must(t))).must(t)
	if len(subs) != 1 || subs[0].CIDR != "203.0.113.0/24" || subs[0].IPVersion != 4 {
		t.Fatalf("subnets %+v", subs)
	}
	ps := ok(ports.ExtractPorts(ok(ports.List(e.network, ports.ListOpts{DeviceID: n.ID}).AllPages(ctx())).must(t))).must(t)
	if len(ps) != 1 || ps[0].Status != "ACTIVE" || ps[0].FixedIPs[0].IPAddress != "10.0.0.50" {
		t.Fatalf("server ports %+v", ps)
	}
	sg := ok(groups.Create(ctx(), e.network, groups.CreateOpts{Name: "lb-sg-x"}).Extract()).must(t)
	sgs := append(append([]string{}, ps[0].SecurityGroups...), sg.ID)
	pairs := []ports.AddressPair{{IPAddress: "10.244.1.0/24"}}
	up := ok(ports.Update(ctx(), e.network, ps[0].ID, ports.UpdateOpts{SecurityGroups: &sgs, AllowedAddressPairs: &pairs}).Extract()).must(t)
	if len(up.SecurityGroups) != 2 || up.AllowedAddressPairs[0].IPAddress != "10.244.1.0/24" || up.AllowedAddressPairs[0].MACAddress == "" {
		t.Fatalf("port update %+v", up)
	}
	bogus := []string{"nope"}
	_, err := ports.Update(ctx(), e.network, ps[0].ID, ports.UpdateOpts{SecurityGroups: &bogus}).Extract()
	wantCode(t, err, http.StatusNotFound)
	bySG := ok(ports.ExtractPorts(ok(ports.List(e.network, ports.ListOpts{SecurityGroups: []string{sg.ID}}).AllPages(ctx())).must(t))).must(t)
	if len(bySG) != 1 {
		t.Fatalf("ports by security group: %d", len(bySG))
	}
	wantCode(t, groups.Delete(ctx(), e.network, sg.ID).ExtractErr(), http.StatusConflict)
}

func ptr[T any](v T) *T { return &v }

func TestFloatingIPs(t *testing.T) {
	e := newEnv(t, Options{})
	pub := e.networkByName(t, "public")
	n := e.addNode(t, "node", "10.0.0.60")
	port := ok(ports.ExtractPorts(ok(ports.List(e.network, ports.ListOpts{DeviceID: n.ID}).AllPages(ctx())).must(t))).must(t)[0]
	desc := "Floating IP for Kubernetes external service ns/svc from cluster c"
	f := ok(floatingips.Create(ctx(), e.network, floatingips.CreateOpts{FloatingNetworkID: pub.ID, PortID: port.ID, Description: desc}).Extract()).must(t)
	if f.FixedIP != "10.0.0.60" || f.Status != "ACTIVE" || f.FloatingIP == "" || f.RouterID == "" {
		t.Fatalf("fip %+v", f)
	}
	byPort := ok(floatingips.ExtractFloatingIPs(ok(floatingips.List(e.network, floatingips.ListOpts{PortID: port.ID}).AllPages(ctx())).must(t))).must(t)
	byDesc := ok(floatingips.ExtractFloatingIPs(ok(floatingips.List(e.network, floatingips.ListOpts{Description: desc}).AllPages(ctx())).must(t))).must(t)
	byAddr := ok(floatingips.ExtractFloatingIPs(ok(floatingips.List(e.network, floatingips.ListOpts{FloatingIP: f.FloatingIP}).AllPages(ctx())).must(t))).must(t)
	if len(byPort) != 1 || len(byDesc) != 1 || len(byAddr) != 1 {
		t.Fatalf("filters: %d %d %d", len(byPort), len(byDesc), len(byAddr))
	}
	// the server's Nova addresses now show the floating IP
	if len(e.sim.serverAddressesFor(n.ID)["private"]) != 2 {
		t.Fatal("floating address not reported by Nova")
	}
	_, err := floatingips.Create(ctx(), e.network, floatingips.CreateOpts{FloatingNetworkID: pub.ID, PortID: port.ID}).Extract()
	wantCode(t, err, http.StatusConflict)
	// {"port_id": null} detaches; a nil PortID sends {} and changes nothing
	same := ok(floatingips.Update(ctx(), e.network, f.ID, floatingips.UpdateOpts{}).Extract()).must(t)
	if same.PortID != port.ID {
		t.Fatal("empty update detached the floating IP")
	}
	det := ok(floatingips.Update(ctx(), e.network, f.ID, floatingips.UpdateOpts{PortID: new(string)}).Extract()).must(t)
	if det.PortID != "" || det.FixedIP != "" || det.Status != "DOWN" {
		t.Fatalf("detached fip %+v", det)
	}
	re := ok(floatingips.Update(ctx(), e.network, f.ID, floatingips.UpdateOpts{PortID: &port.ID}).Extract()).must(t)
	if re.PortID != port.ID || re.FixedIP != "10.0.0.60" {
		t.Fatalf("re-associated fip %+v", re)
	}
	_, err = floatingips.Create(ctx(), e.network, floatingips.CreateOpts{FloatingNetworkID: pub.ID, FloatingIP: f.FloatingIP}).Extract()
	wantCode(t, err, http.StatusConflict)
	if err := floatingips.Delete(ctx(), e.network, f.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, floatingips.Delete(ctx(), e.network, f.ID).ExtractErr(), http.StatusNotFound)
	// a private network is not external
	_, err = floatingips.Create(ctx(), e.network, floatingips.CreateOpts{FloatingNetworkID: e.networkByName(t, "private").ID}).Extract()
	wantCode(t, err, http.StatusBadRequest)
	// exhaust a tiny external pool → 409
	tiny := ok(e.sim.AddNetwork(Network{Name: "tiny", External: true, Subnets: []Subnet{{CIDR: "198.18.0.0/29"}}})).must(t)
	for i := 0; i < 5; i++ { // .2 … .6 (gateway .1, broadcast .7)
		ok(floatingips.Create(ctx(), e.network, floatingips.CreateOpts{FloatingNetworkID: tiny.ID}).Extract()).must(t)
	}
	_, err = floatingips.Create(ctx(), e.network, floatingips.CreateOpts{FloatingNetworkID: tiny.ID}).Extract()
	wantCode(t, err, http.StatusConflict)
}

// serverAddressesFor reads a server's Nova addresses (test helper).
func (s *Sim) serverAddressesFor(id string) map[string][]Address {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serverAddressesLocked(s.state.Servers[id])
}

func TestSecurityGroupRulesAndRoutes(t *testing.T) {
	e := newEnv(t, Options{})
	sg := ok(groups.Create(ctx(), e.network, groups.CreateOpts{Name: "lb-sg", Description: "d"}).Extract()).must(t)
	if len(sg.Rules) != 2 {
		t.Fatalf("default egress rules: %+v", sg.Rules)
	}
	opts := rules.CreateOpts{Direction: rules.DirIngress, EtherType: rules.EtherType4, SecGroupID: sg.ID,
		Protocol: rules.ProtocolTCP, PortRangeMin: 30080, PortRangeMax: 30080, RemoteIPPrefix: "10.0.0.0/24"}
	r := ok(rules.Create(ctx(), e.network, opts).Extract()).must(t)
	if r.PortRangeMin != 30080 || r.RemoteIPPrefix != "10.0.0.0/24" || r.Protocol != "tcp" {
		t.Fatalf("rule %+v", r)
	}
	_, err := rules.Create(ctx(), e.network, opts).Extract()
	wantCode(t, err, http.StatusConflict)
	bad := opts
	bad.RemoteIPPrefix = "::/0"
	_, err = rules.Create(ctx(), e.network, bad).Extract()
	wantCode(t, err, http.StatusBadRequest)
	list := ok(rules.ExtractRules(ok(rules.List(e.network, rules.ListOpts{SecGroupID: sg.ID, Direction: "ingress"}).AllPages(ctx())).must(t))).must(t)
	if len(list) != 1 || list[0].ID != r.ID {
		t.Fatalf("rule list %+v", list)
	}
	if err := rules.Delete(ctx(), e.network, r.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	byName := ok(groups.ExtractGroups(ok(groups.List(e.network, groups.ListOpts{Name: "lb-sg"}).AllPages(ctx())).must(t))).must(t)
	if len(byName) != 1 {
		t.Fatalf("groups by name: %d", len(byName))
	}
	if err := groups.Delete(ctx(), e.network, sg.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}

	rts := ok(routers.ExtractRouters(ok(routers.List(e.network, routers.ListOpts{Name: "router1"}).AllPages(ctx())).must(t))).must(t)
	if len(rts) != 1 || rts[0].GatewayInfo.NetworkID != e.networkByName(t, "public").ID {
		t.Fatalf("routers %+v", rts)
	}
	id := rts[0].ID
	routes := []routers.Route{{DestinationCIDR: "10.244.0.0/24", NextHop: "10.0.0.11"}}
	if got := ok(routers.Update(ctx(), e.network, id, routers.UpdateOpts{Routes: &routes}).Extract()).must(t); len(got.Routes) != 1 {
		t.Fatalf("routes after PUT: %+v", got.Routes)
	}
	add := []routers.Route{{DestinationCIDR: "10.244.1.0/24", NextHop: "10.0.0.12"}, routes[0]}
	if got := ok(extraroutes.Add(ctx(), e.network, id, extraroutes.Opts{Routes: &add}).Extract()).must(t); len(got.Routes) != 2 {
		t.Fatalf("routes after add_extraroutes: %+v", got.Routes)
	}
	if got := ok(extraroutes.Remove(ctx(), e.network, id, extraroutes.Opts{Routes: &routes}).Extract()).must(t); len(got.Routes) != 1 || got.Routes[0].NextHop != "10.0.0.12" {
		t.Fatalf("routes after remove_extraroutes: %+v", got.Routes)
	}
	badRoutes := []routers.Route{{DestinationCIDR: "nope", NextHop: "10.0.0.1"}}
	_, err = extraroutes.Add(ctx(), e.network, id, extraroutes.Opts{Routes: &badRoutes}).Extract()
	wantCode(t, err, http.StatusBadRequest)
}
