package openstacksim

import (
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/common/extensions"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/attributestags"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

func TestVersionDocuments(t *testing.T) {
	e := newEnv(t, Options{})
	for path, code := range map[string]int{"/identity/": 300, "/identity/v3": 200, "/compute/": 200, "/compute/v2.1/": 200,
		"/volume/": 300, "/volume/v3/": 200, "/network/": 200, "/load-balancer/": 200, "/openstack": 200, "/nope": 404} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil || resp.StatusCode != code {
			t.Errorf("GET %s: %v %v, want %d", path, err, resp.Status, code)
		}
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/volume/v3/"+e.sim.users[0].ProjectID+"/volumes", nil)
	req.Header.Set("X-Auth-Token", e.provider.Token())
	req.Header.Set("OpenStack-API-Version", "volume 3.42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.Header.Get("OpenStack-API-Version") != "volume 3.42" {
		t.Fatalf("cinder microversion not echoed: %v %v", err, resp.Header)
	}
}

func TestSecondaryEndpoints(t *testing.T) {
	e := newEnv(t, Options{})
	n := e.addNode(t, "node", "10.0.0.100")
	priv := e.networkByName(t, "private")
	if fl := ok(flavors.ExtractFlavors(ok(flavors.ListDetail(e.compute, nil).AllPages(ctx())).must(t))).must(t); len(fl) != 2 {
		t.Fatalf("flavors %d", len(fl))
	}
	// Cinder: AZ validation, updates
	_, err := volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, AvailabilityZone: "mars"}, nil).Extract()
	wantCode(t, err, http.StatusBadRequest)
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, AvailabilityZone: "zone-a"}, nil).Extract()).must(t)
	name := "renamed"
	if got := ok(volumes.Update(ctx(), e.block, v.ID, volumes.UpdateOpts{Name: &name}).Extract()).must(t); got.Name != name || got.AvailabilityZone != "zone-a" {
		t.Fatalf("volume update %+v", got)
	}
	sn := ok(snapshots.Create(ctx(), e.block, snapshots.CreateOpts{VolumeID: v.ID}).Extract()).must(t)
	if got := ok(snapshots.Update(ctx(), e.block, sn.ID, snapshots.UpdateOpts{Name: &name}).Extract()).must(t); got.Name != name {
		t.Fatalf("snapshot update %+v", got)
	}
	ok(volumeattach.Create(ctx(), e.compute, n.ID, volumeattach.CreateOpts{VolumeID: v.ID}).Extract()).must(t)
	if a := ok(volumeattach.Get(ctx(), e.compute, n.ID, v.ID).Extract()).must(t); a.VolumeID != v.ID {
		t.Fatalf("attachment get %+v", a)
	}

	// Neutron gets, port create/tag/delete, fixed_ips filter
	ok(extensions.Get(ctx(), e.network, "router").Extract()).must(t)
	_, err = extensions.Get(ctx(), e.network, "nope").Extract()
	wantCode(t, err, http.StatusNotFound)
	ok(networks.Get(ctx(), e.network, priv.ID).Extract()).must(t)
	ok(subnets.Get(ctx(), e.network, priv.Subnets[0].ID).Extract()).must(t)
	p := ok(ports.Create(ctx(), e.network, ports.CreateOpts{NetworkID: priv.ID, Name: "vip",
		FixedIPs: []ports.IP{{SubnetID: priv.Subnets[0].ID, IPAddress: "10.0.0.200"}}}).Extract()).must(t)
	_, err = ports.Create(ctx(), e.network, ports.CreateOpts{NetworkID: priv.ID, FixedIPs: []ports.IP{{IPAddress: "10.0.0.200"}}}).Extract()
	wantCode(t, err, http.StatusConflict)
	byIP := ok(ports.ExtractPorts(ok(ports.List(e.network, ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddress: "10.0.0.200"}}}).AllPages(ctx())).must(t))).must(t)
	if len(byIP) != 1 || byIP[0].ID != p.ID {
		t.Fatalf("fixed_ips filter: %+v", byIP)
	}
	if err := attributestags.Add(ctx(), e.network, "ports", p.ID, "kube").ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := attributestags.Delete(ctx(), e.network, "ports", p.ID, "kube").ExtractErr(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, attributestags.Delete(ctx(), e.network, "ports", p.ID, "kube").ExtractErr(), http.StatusNotFound)
	pub := e.networkByName(t, "public")
	f := ok(floatingips.Create(ctx(), e.network, floatingips.CreateOpts{FloatingNetworkID: pub.ID, PortID: p.ID}).Extract()).must(t)
	rt := ok(routers.ExtractRouters(ok(routers.List(e.network, nil).AllPages(ctx())).must(t))).must(t)[0]
	ok(routers.Get(ctx(), e.network, rt.ID).Extract()).must(t)
	sg := ok(groups.Create(ctx(), e.network, groups.CreateOpts{Name: "a"}).Extract()).must(t)
	if got := ok(groups.Update(ctx(), e.network, sg.ID, groups.UpdateOpts{Name: "b"}).Extract()).must(t); got.Name != "b" {
		t.Fatalf("sg update %+v", got)
	}
	ok(groups.Get(ctx(), e.network, sg.ID).Extract()).must(t)
	ok(rules.Get(ctx(), e.network, sg.Rules[0].ID).Extract()).must(t)

	// Octavia with a caller-made VIP port; member/monitor PUT; status tree
	lb := ok(loadbalancers.Create(ctx(), e.lb, loadbalancers.CreateOpts{Name: "byport", VipPortID: p.ID,
		Listeners: []listeners.CreateOpts{{Protocol: listeners.ProtocolHTTP, ProtocolPort: 8080,
			DefaultPool: &pools.CreateOpts{Protocol: pools.ProtocolHTTP, LBMethod: pools.LBMethodLeastConnections,
				Members: []pools.CreateMemberOpts{{Address: "10.0.0.100", ProtocolPort: 30000}},
				Monitor: monitors.CreateOpts{Type: "HTTP", Delay: 5, Timeout: 5, MaxRetries: 3}}}}}).Extract()).must(t)
	if lb.VipAddress != "10.0.0.200" || lb.VipPortID != p.ID {
		t.Fatalf("LB on a given port: %+v", lb)
	}
	st := ok(loadbalancers.GetStatuses(ctx(), e.lb, lb.ID).Extract()).must(t)
	if len(st.Loadbalancer.Listeners) != 1 || len(st.Loadbalancer.Listeners[0].Pools[0].Members) != 1 {
		t.Fatalf("status tree %+v", st.Loadbalancer)
	}
	pl := ok(pools.ExtractPools(ok(pools.List(e.lb, pools.ListOpts{LoadbalancerID: lb.ID}).AllPages(ctx())).must(t))).must(t)[0]
	ok(pools.Get(ctx(), e.lb, pl.ID).Extract()).must(t)
	m := ok(pools.ExtractMembers(ok(pools.ListMembers(e.lb, pl.ID, nil).AllPages(ctx())).must(t))).must(t)[0]
	w := 5
	if got := ok(pools.UpdateMember(ctx(), e.lb, pl.ID, m.ID, pools.UpdateMemberOpts{Weight: &w}).Extract()).must(t); got.Weight != 5 {
		t.Fatalf("member update %+v", got)
	}
	if got := ok(pools.GetMember(ctx(), e.lb, pl.ID, m.ID).Extract()).must(t); got.Weight != 5 || got.OperatingStatus != "ONLINE" {
		t.Fatalf("member get %+v", got)
	}
	hm := ok(monitors.Get(ctx(), e.lb, pl.MonitorID).Extract()).must(t)
	if hm.URLPath != "/" || hm.ExpectedCodes != "200" {
		t.Fatalf("HTTP monitor defaults %+v", hm)
	}
	_, err = monitors.Update(ctx(), e.lb, hm.ID, monitors.UpdateOpts{Timeout: 10}).Extract()
	wantCode(t, err, http.StatusBadRequest) // timeout > delay
	if got := ok(monitors.Update(ctx(), e.lb, hm.ID, monitors.UpdateOpts{Delay: 10, Timeout: 10}).Extract()).must(t); got.Delay != 10 {
		t.Fatalf("monitor update %+v", got)
	}
	if err := loadbalancers.Delete(ctx(), e.lb, lb.ID, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	// a caller-made VIP port survives the LB, and so does its floating IP
	if got := ok(ports.Get(ctx(), e.network, p.ID).Extract()).must(t); got.DeviceOwner != "" {
		t.Fatalf("VIP port after LB delete: %+v", got)
	}
	if err := ports.Delete(ctx(), e.network, p.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := ok(floatingips.Get(ctx(), e.network, f.ID).Extract()).must(t); got.PortID != "" {
		t.Fatalf("floating IP still bound to a deleted port: %+v", got)
	}
}
