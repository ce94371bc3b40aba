package openstacksim

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/apiversions"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
)

// wantFault requires a 400 with Octavia's WSME faultstring want.
func wantFault(t *testing.T, err error, want string) {
	t.Helper()
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) || ue.Actual != 400 {
		t.Fatalf("want 400 %q, got %v", want, err)
	}
	var body struct {
		Faultcode   string  `json:"faultcode"`
		Faultstring string  `json:"faultstring"`
		Debuginfo   *string `json:"debuginfo"`
	}
	if err := json.Unmarshal(ue.Body, &body); err != nil || body.Faultcode != "Client" || body.Faultstring != want || body.Debuginfo != nil {
		t.Fatalf("body %s, want faultstring %q", ue.Body, want)
	}
}

func currentVersion(t *testing.T, e *env) string {
	t.Helper()
	vers := ok(apiversions.ExtractAPIVersions(ok(apiversions.List(e.lb).AllPages(ctx())).must(t))).must(t)
	last := vers[len(vers)-1]
	if last.Status != "CURRENT" || vers[0].ID != "v2.0" {
		t.Fatalf("versions %+v", vers)
	}
	return last.ID
}

// TestOctaviaOlderVersionRefusesNewerAttributes: an Octavia announcing
// v2.11 has no VIP ACL or availability zones and answers their
// attributes as WSME does for unknown ones, creating nothing.
func TestOctaviaOlderVersionRefusesNewerAttributes(t *testing.T) {
	e := newEnv(t, Options{OctaviaVersion: "v2.11"})
	if v := currentVersion(t, e); v != "v2.11" {
		t.Fatalf("current version %s", v)
	}
	sub := e.networkByName(t, "private").Subnets[0].ID
	lbOpts := func() loadbalancers.CreateOpts {
		return loadbalancers.CreateOpts{Name: "lb", VipSubnetID: sub, Tags: []string{"lb"}, FlavorID: "",
			Listeners: []listeners.CreateOpts{{Name: "l", Protocol: listeners.ProtocolTCP, ProtocolPort: 80,
				DefaultPool: &pools.CreateOpts{Name: "p", LBMethod: pools.LBMethodRoundRobin, Protocol: pools.ProtocolTCP}}}}
	}
	o := lbOpts()
	o.Listeners[0].AllowedCIDRs = []string{"192.0.2.0/24"}
	_, err := loadbalancers.Create(ctx(), e.lb, o).Extract()
	wantFault(t, err, "Unknown attribute for argument load_balancer.loadbalancer.listeners: allowed_cidrs")
	o = lbOpts()
	o.AvailabilityZone = "az1"
	_, err = loadbalancers.Create(ctx(), e.lb, o).Extract()
	wantFault(t, err, "Unknown attribute for argument load_balancer.loadbalancer: availability_zone")
	if n := len(e.sim.Snapshot().LoadBalancers); n != 0 {
		t.Fatalf("refused creates left %d load balancers", n)
	}
	// Tags (v2.5) and timeouts (v2.1) are known at v2.11.
	o = lbOpts()
	tmo := 60000
	o.Listeners[0].TimeoutClientData = &tmo
	lb := ok(loadbalancers.Create(ctx(), e.lb, o).Extract()).must(t)
	if len(lb.Listeners) != 1 {
		t.Fatalf("created %+v", lb)
	}
	cidrs := []string{"192.0.2.0/24"}
	_, err = listeners.Update(ctx(), e.lb, lb.Listeners[0].ID, listeners.UpdateOpts{AllowedCIDRs: &cidrs}).Extract()
	wantFault(t, err, "Unknown attribute for argument listener_.listener: allowed_cidrs")
	if got := e.sim.Snapshot().Listeners[lb.Listeners[0].ID]; len(got.AllowedCIDRs) != 0 {
		t.Fatalf("refused update changed allowed_cidrs to %v", got.AllowedCIDRs)
	}
}

// TestOctaviaVersionAdminEndpoint: PUT /_admin/octavia-version moves the
// announced version; v2.0 knows neither tags nor listener timeouts, and
// before v2.16 a UDP pool takes only UDP-CONNECT monitors.
func TestOctaviaVersionAdminEndpoint(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.srv.URL + AdminPrefix + "octavia-version"
	for _, bad := range []string{`{"version":"v2.28"}`, `{"version":"v3.0"}`, `{"version":"2.x"}`} {
		if c := send(t, "PUT", a, bad); c != 400 {
			t.Fatalf("PUT %s: %d", bad, c)
		}
	}
	if c := send(t, "PUT", a, `{"version":"v2.0"}`); c != 200 {
		t.Fatalf("PUT v2.0: %d", c)
	}
	if v := currentVersion(t, e); v != "v2.0" {
		t.Fatalf("current version %s", v)
	}
	sub := e.networkByName(t, "private").Subnets[0].ID
	_, err := loadbalancers.Create(ctx(), e.lb, loadbalancers.CreateOpts{Name: "lb", VipSubnetID: sub, Tags: []string{"x"}, FlavorID: "f"}).Extract()
	wantFault(t, err, "Unknown attributes for argument load_balancer.loadbalancer: flavor_id, tags")
	tmo := 1000
	_, err = loadbalancers.Create(ctx(), e.lb, loadbalancers.CreateOpts{Name: "lb", VipSubnetID: sub,
		Listeners: []listeners.CreateOpts{{Protocol: listeners.ProtocolTCP, ProtocolPort: 80, TimeoutMemberConnect: &tmo,
			DefaultPool: &pools.CreateOpts{LBMethod: pools.LBMethodRoundRobin, Protocol: pools.ProtocolTCP,
				Members: []pools.CreateMemberOpts{{Address: "10.0.0.11", ProtocolPort: 30080, Tags: []string{"m"}}}}}}}).Extract()
	wantFault(t, err, "Unknown attribute for argument load_balancer.loadbalancer.listeners: timeout_member_connect")
	_, err = loadbalancers.Create(ctx(), e.lb, loadbalancers.CreateOpts{Name: "lb", VipSubnetID: sub,
		Listeners: []listeners.CreateOpts{{Protocol: listeners.ProtocolTCP, ProtocolPort: 80,
			DefaultPool: &pools.CreateOpts{LBMethod: pools.LBMethodRoundRobin, Protocol: pools.ProtocolTCP,
				Members: []pools.CreateMemberOpts{{Address: "10.0.0.11", ProtocolPort: 30080, Tags: []string{"m"}}}}}}}).Extract()
	wantFault(t, err, "Unknown attribute for argument load_balancer.loadbalancer.listeners.default_pool.members: tags")

	lb := ok(loadbalancers.Create(ctx(), e.lb, loadbalancers.CreateOpts{Name: "lb", VipSubnetID: sub}).Extract()).must(t)
	tags := []string{"kube_service_c_ns_svc"}
	_, err = loadbalancers.Update(ctx(), e.lb, lb.ID, loadbalancers.UpdateOpts{Tags: &tags}).Extract()
	wantFault(t, err, "Unknown attribute for argument load_balancer.loadbalancer: tags")

	// A UDP pool's HTTP monitor needs v2.16.
	if c := send(t, "PUT", a, `{"version":"v2.15"}`); c != 200 {
		t.Fatalf("PUT v2.15: %d", c)
	}
	udp := func() (*pools.Pool, error) {
		return pools.Create(ctx(), e.lb, pools.CreateOpts{LoadbalancerID: lb.ID, Protocol: pools.ProtocolUDP, LBMethod: pools.LBMethodRoundRobin,
			Monitor: &monitors.CreateOpts{Type: "HTTP", Delay: 5, Timeout: 3, MaxRetries: 1, URLPath: "/healthz"}}).Extract()
	}
	_, err = udp()
	wantFault(t, err, "Validation failure: The associated pool protocol is UDP, so only a UDP-CONNECT health monitor is supported.")
	if c := send(t, "PUT", a, `{"version":""}`); c != 200 {
		t.Fatalf("PUT newest: %d", c)
	}
	if v := currentVersion(t, e); v != "v2.27" {
		t.Fatalf("current version %s", v)
	}
	ok(udp()).must(t)
	if _, err := New(Options{OctaviaVersion: "v2.99"}); err == nil {
		t.Fatal("New accepted Octavia version v2.99")
	}
}

// TestOctaviaOlderVersionRefusesNewerValues: SOURCE_IP_PORT (v2.13),
// PROXYV2 (v2.22) and SCTP (v2.23) are invalid enum values before.
func TestOctaviaOlderVersionRefusesNewerValues(t *testing.T) {
	e := newEnv(t, Options{OctaviaVersion: "v2.12"})
	sub := e.networkByName(t, "private").Subnets[0].ID
	create := func(lis listeners.Protocol, pool pools.Protocol, method pools.LBMethod) error {
		_, err := loadbalancers.Create(ctx(), e.lb, loadbalancers.CreateOpts{Name: "lb", VipSubnetID: sub,
			Listeners: []listeners.CreateOpts{{Protocol: lis, ProtocolPort: 80,
				DefaultPool: &pools.CreateOpts{LBMethod: method, Protocol: pool}}}}).Extract()
		return err
	}
	wantFault(t, create(listeners.ProtocolSCTP, pools.ProtocolSCTP, pools.LBMethodRoundRobin), "Invalid input for field/attribute protocol. Value: 'SCTP'.")
	wantFault(t, create(listeners.ProtocolTCP, pools.ProtocolPROXYV2, pools.LBMethodRoundRobin), "Invalid input for field/attribute protocol. Value: 'PROXYV2'.")
	wantFault(t, create(listeners.ProtocolTCP, pools.ProtocolTCP, pools.LBMethodSourceIpPort), "Invalid input for field/attribute lb_algorithm. Value: 'SOURCE_IP_PORT'.")
	if n := len(e.sim.Snapshot().LoadBalancers); n != 0 {
		t.Fatalf("refused creates left %d load balancers", n)
	}
	if err := e.sim.SetOctaviaVersion("v2.23"); err != nil {
		t.Fatal(err)
	}
	if err := create(listeners.ProtocolSCTP, pools.ProtocolSCTP, pools.LBMethodSourceIpPort); err != nil {
		t.Fatalf("SCTP with SOURCE_IP_PORT on v2.23: %v", err)
	}
}
