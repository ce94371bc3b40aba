package openstacksim

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/apiversions"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

func TestOctaviaFullyPopulatedLifecycle(t *testing.T) {
	e := newEnv(t, Options{})
	e.sim.Controls().SetLatency(latency(map[string]time.Duration{
		"octavia.create": 30 * time.Second, "octavia.update": 10 * time.Second, "octavia.delete": 5 * time.Second}))
	priv := e.networkByName(t, "private")
	vers := ok(apiversions.ExtractAPIVersions(ok(apiversions.List(e.lb).AllPages(ctx())).must(t))).must(t)
	if last := vers[len(vers)-1]; last.ID != fmt.Sprintf("v2.%d", octaviaMaxMinor) || last.Status != "CURRENT" {
		t.Fatalf("versions: %+v", last)
	}
	connLimit := -1
	lb := ok(loadbalancers.Create(ctx(), e.lb, loadbalancers.CreateOpts{
		Name: "kube_service_c_ns_svc", VipSubnetID: priv.Subnets[0].ID, Tags: []string{"kube_service_c_ns_svc"},
		Listeners: []listeners.CreateOpts{{
			Name: "listener_0", Protocol: listeners.ProtocolTCP, ProtocolPort: 80, ConnLimit: &connLimit,
			AllowedCIDRs: []string{"0.0.0.0/0"}, Tags: []string{"kube_service_c_ns_svc"},
			DefaultPool: &pools.CreateOpts{
				Name: "pool_0", LBMethod: pools.LBMethodRoundRobin, Protocol: pools.ProtocolTCP,
				Members: []pools.CreateMemberOpts{{Address: "10.0.0.11", ProtocolPort: 30080, Name: "n1"}},
				Monitor: monitors.CreateOpts{Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 1, Name: "monitor_0"},
			},
		}},
	}).Extract()).must(t)
	if lb.ProvisioningStatus != "PENDING_CREATE" || lb.VipAddress == "" || lb.VipPortID == "" || len(lb.Listeners) != 1 {
		t.Fatalf("created LB: %+v", lb)
	}
	// the VIP is a real Neutron port on the subnet
	vip := ok(ports.Get(ctx(), e.network, lb.VipPortID).Extract()).must(t)
	if vip.FixedIPs[0].IPAddress != lb.VipAddress || vip.DeviceOwner != "Octavia" {
		t.Fatalf("vip port %+v", vip)
	}
	_, err := listeners.Create(ctx(), e.lb, listeners.CreateOpts{LoadbalancerID: lb.ID, Protocol: listeners.ProtocolTCP, ProtocolPort: 443}).Extract()
	wantCode(t, err, http.StatusConflict)
	e.clock.Advance(30 * time.Second)
	if got := ok(loadbalancers.Get(ctx(), e.lb, lb.ID).Extract()).must(t); got.ProvisioningStatus != "ACTIVE" || got.OperatingStatus != "ONLINE" {
		t.Fatalf("after create delay: %s/%s", got.ProvisioningStatus, got.OperatingStatus)
	}
	ls := ok(listeners.ExtractListeners(ok(listeners.List(e.lb, listeners.ListOpts{LoadbalancerID: lb.ID}).AllPages(ctx())).must(t))).must(t)
	if len(ls) != 1 || ls[0].DefaultPoolID == "" || ls[0].ProtocolPort != 80 || ls[0].TimeoutClientData != 50000 || ls[0].AllowedCIDRs[0] != "0.0.0.0/0" {
		t.Fatalf("listeners %+v", ls)
	}
	poolID := ls[0].DefaultPoolID
	ps := ok(pools.ExtractPools(ok(pools.List(e.lb, pools.ListOpts{LoadbalancerID: lb.ID}).AllPages(ctx())).must(t))).must(t)
	if len(ps) != 1 || ps[0].ID != poolID || ps[0].MonitorID == "" || ps[0].Listeners[0].ID != ls[0].ID {
		t.Fatalf("pools %+v", ps)
	}
	mons := ok(monitors.ExtractMonitors(ok(monitors.List(e.lb, monitors.ListOpts{PoolID: poolID}).AllPages(ctx())).must(t))).must(t)
	if len(mons) != 1 || mons[0].Delay != 5 || mons[0].MaxRetriesDown != 3 {
		t.Fatalf("monitors %+v", mons)
	}
	members := ok(pools.ExtractMembers(ok(pools.ListMembers(e.lb, poolID, nil).AllPages(ctx())).must(t))).must(t)
	if len(members) != 1 || members[0].Address != "10.0.0.11" {
		t.Fatalf("members %+v", members)
	}
	keepID := members[0].ID

	// a pool PUT answers 200 and makes the LB PENDING_UPDATE; writes meanwhile → 409
	p := ok(pools.Update(ctx(), e.lb, poolID, pools.UpdateOpts{LBMethod: pools.LBMethodSourceIp,
		Persistence: &pools.SessionPersistence{Type: "SOURCE_IP"}}).Extract()).must(t)
	if p.LBMethod != "SOURCE_IP" || p.Persistence.Type != "SOURCE_IP" {
		t.Fatalf("pool update %+v", p)
	}
	if got := ok(loadbalancers.Get(ctx(), e.lb, lb.ID).Extract()).must(t); got.ProvisioningStatus != "PENDING_UPDATE" {
		t.Fatalf("status %s, want PENDING_UPDATE", got.ProvisioningStatus)
	}
	batch := []pools.BatchUpdateMemberOpts{{Address: "10.0.0.11", ProtocolPort: 30080}, {Address: "10.0.0.12", ProtocolPort: 30080}}
	wantCode(t, pools.BatchUpdateMembers(ctx(), e.lb, poolID, batch).ExtractErr(), http.StatusConflict)
	e.clock.Advance(10 * time.Second)
	if err := pools.BatchUpdateMembers(ctx(), e.lb, poolID, batch).ExtractErr(); err != nil {
		t.Fatalf("batch members (want 202): %v", err)
	}
	e.clock.Advance(10 * time.Second)
	members = ok(pools.ExtractMembers(ok(pools.ListMembers(e.lb, poolID, nil).AllPages(ctx())).must(t))).must(t)
	if len(members) != 2 || members[0].ID != keepID {
		t.Fatalf("after batch: %+v", members)
	}
	// replace the set: only .13 remains
	if err := pools.BatchUpdateMembers(ctx(), e.lb, poolID, []pools.BatchUpdateMemberOpts{{Address: "10.0.0.13", ProtocolPort: 30080}}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Second)
	members = ok(pools.ExtractMembers(ok(pools.ListMembers(e.lb, poolID, nil).AllPages(ctx())).must(t))).must(t)
	if len(members) != 1 || members[0].Address != "10.0.0.13" {
		t.Fatalf("after replacing batch: %+v", members)
	}

	// same port → 409; listener PUT of timeouts and headers
	_, err = listeners.Create(ctx(), e.lb, listeners.CreateOpts{LoadbalancerID: lb.ID, Protocol: listeners.ProtocolTCP, ProtocolPort: 80}).Extract()
	wantCode(t, err, http.StatusConflict)
	tmo := 100000
	hdrs := map[string]string{"X-Forwarded-For": "true"}
	l := ok(listeners.Update(ctx(), e.lb, ls[0].ID, listeners.UpdateOpts{TimeoutClientData: &tmo, InsertHeaders: &hdrs}).Extract()).must(t)
	if l.TimeoutClientData != tmo || l.InsertHeaders["X-Forwarded-For"] != "true" {
		t.Fatalf("listener update %+v", l)
	}
	e.clock.Advance(10 * time.Second)
	tags := []string{""}
	if got := ok(loadbalancers.Update(ctx(), e.lb, lb.ID, loadbalancers.UpdateOpts{Tags: &tags}).Extract()).must(t); len(got.Tags) != 0 {
		t.Fatalf("tags after clearing: %v", got.Tags)
	}
	e.clock.Advance(10 * time.Second)

	// non-cascade delete of an LB with children fails; cascade works
	wantCode(t, loadbalancers.Delete(ctx(), e.lb, lb.ID, nil).ExtractErr(), http.StatusBadRequest)
	if err := loadbalancers.Delete(ctx(), e.lb, lb.ID, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := ok(loadbalancers.Get(ctx(), e.lb, lb.ID).Extract()).must(t); got.ProvisioningStatus != "PENDING_DELETE" {
		t.Fatalf("status %s, want PENDING_DELETE", got.ProvisioningStatus)
	}
	e.clock.Advance(5 * time.Second)
	_, err = loadbalancers.Get(ctx(), e.lb, lb.ID).Extract()
	wantCode(t, err, http.StatusNotFound)
	st := e.sim.Snapshot()
	if len(st.Listeners)+len(st.Pools)+len(st.Members)+len(st.HealthMonitors) != 0 || st.Ports[lb.VipPortID] != nil {
		t.Fatalf("cascade delete left children or the VIP port: %+v", st)
	}
}

func TestOctaviaListPagingAndSerialChildren(t *testing.T) {
	e := newEnv(t, Options{})
	priv := e.networkByName(t, "private")
	var ids []string
	for i := 0; i < 3; i++ {
		lb := ok(loadbalancers.Create(ctx(), e.lb, loadbalancers.CreateOpts{Name: fmt.Sprintf("lb%d", i), VipNetworkID: priv.ID}).Extract()).must(t)
		ids = append(ids, lb.ID)
		e.clock.Advance(time.Second)
	}
	all := ok(loadbalancers.ExtractLoadBalancers(ok(loadbalancers.List(e.lb, loadbalancers.ListOpts{Limit: 2}).AllPages(ctx())).must(t))).must(t)
	if len(all) != 3 {
		t.Fatalf("paged list: %d", len(all))
	}
	byName := ok(loadbalancers.ExtractLoadBalancers(ok(loadbalancers.List(e.lb, loadbalancers.ListOpts{Name: "lb1"}).AllPages(ctx())).must(t))).must(t)
	if len(byName) != 1 || byName[0].ID != ids[1] {
		t.Fatalf("name filter: %+v", byName)
	}
	_, err := loadbalancers.Create(ctx(), e.lb, loadbalancers.CreateOpts{Name: "novip"}).Extract()
	wantCode(t, err, http.StatusBadRequest)

	// serial API calls: listener → pool → member → monitor, each after ACTIVE
	l := ok(listeners.Create(ctx(), e.lb, listeners.CreateOpts{LoadbalancerID: ids[0], Protocol: listeners.ProtocolUDP, ProtocolPort: 53}).Extract()).must(t)
	p := ok(pools.Create(ctx(), e.lb, pools.CreateOpts{ListenerID: l.ID, Protocol: pools.ProtocolUDP, LBMethod: pools.LBMethodRoundRobin}).Extract()).must(t)
	_, err = pools.Create(ctx(), e.lb, pools.CreateOpts{ListenerID: l.ID, Protocol: pools.ProtocolTCP, LBMethod: pools.LBMethodRoundRobin}).Extract()
	wantCode(t, err, http.StatusConflict)
	m := ok(pools.CreateMember(ctx(), e.lb, p.ID, pools.CreateMemberOpts{Address: "10.0.0.5", ProtocolPort: 31000}).Extract()).must(t)
	hm := ok(monitors.Create(ctx(), e.lb, monitors.CreateOpts{PoolID: p.ID, Type: "UDP-CONNECT", Delay: 5, Timeout: 3, MaxRetries: 2}).Extract()).must(t)
	_, err = monitors.Create(ctx(), e.lb, monitors.CreateOpts{PoolID: p.ID, Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 2}).Extract()
	wantCode(t, err, http.StatusConflict)
	if got := ok(listeners.Get(ctx(), e.lb, l.ID).Extract()).must(t); got.DefaultPoolID != p.ID {
		t.Fatalf("listener default pool %q", got.DefaultPoolID)
	}
	if err := pools.DeleteMember(ctx(), e.lb, p.ID, m.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := monitors.Delete(ctx(), e.lb, hm.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := pools.Delete(ctx(), e.lb, p.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := listeners.Delete(ctx(), e.lb, l.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := loadbalancers.Delete(ctx(), e.lb, ids[0], nil).ExtractErr(); err != nil {
		t.Fatalf("delete of a childless LB: %v", err)
	}
}
