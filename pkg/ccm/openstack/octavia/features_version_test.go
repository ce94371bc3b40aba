package octavia

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	v1 "k8s.io/api/core/v1"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/openstack/client"
)

// olderOctavia is an env whose Octavia announces version v.
func olderOctavia(t *testing.T, v, lbConf string) *env {
	t.Helper()
	e := newEnv(t, lbConf)
	if err := e.sim.SetOctaviaVersion(v); err != nil {
		t.Fatal(err)
	}
	return e
}

// allEvents drains the recorded events into one string.
func (e *env) allEvents() string {
	var all []string
	for ev := e.event(); ev != ""; ev = e.event() {
		all = append(all, ev)
	}
	return strings.Join(all, "\n")
}

// TestOctaviaV211HasNoVIPACL: Octavia v2.11 refuses allowed_cidrs, so a
// Service with source ranges gets a load balancer without them and a
// Warning naming the field and the version it needs.
func TestOctaviaV211HasNoVIPACL(t *testing.T) {
	e := olderOctavia(t, "v2.11", "")
	_, subs := e.netIDs()
	// What an ungated client would send is refused, so the gating matters.
	_, err := loadbalancers.Create(e.ctx, e.cl.LoadBalancer, loadbalancers.CreateOpts{Name: "raw", VipSubnetID: subs["private-subnet"],
		Listeners: []listeners.CreateOpts{{Name: "l", Protocol: "TCP", ProtocolPort: 80, AllowedCIDRs: []string{"192.0.2.0/24"},
			DefaultPool: &pools.CreateOpts{Name: "p", Protocol: "TCP", LBMethod: pools.LBMethodRoundRobin}}}}).Extract()
	if !isStatus(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "Unknown attribute for argument load_balancer.loadbalancer.listeners: allowed_cidrs") {
		t.Fatalf("raw create with allowed_cidrs on v2.11: %v", err)
	}

	svc := service("acl", 80)
	svc.Spec.LoadBalancerSourceRanges = []string{"192.0.2.0/24"}
	e.reset()
	e.ensure(svc)
	s := e.state()
	if len(s.listeners) != 1 || len(s.listeners[0].AllowedCIDRs) != 0 {
		t.Fatalf("listeners %+v: allowed_cidrs sent to v2.11", s.listeners)
	}
	if name := lbName(testCluster, svc); len(s.lb.Tags) != 1 || s.lb.Tags[0] != name {
		t.Errorf("tags %v: v2.11 has tags, want [%s]", s.lb.Tags, name)
	}
	ev := e.allEvents()
	if !strings.Contains(ev, "Warning "+reasonUnsupported) || !strings.Contains(ev, "spec.loadBalancerSourceRanges") ||
		!strings.Contains(ev, "v2.11") || !strings.Contains(ev, "v2.12") {
		t.Errorf("events %q: want a %s Warning naming spec.loadBalancerSourceRanges, v2.11 and v2.12", ev, reasonUnsupported)
	}
	e.reset()
	e.ensure(svc)
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("no-op sync on v2.11 wrote %v", w)
	}
}

// TestOctaviaV20: no timeouts, flavors or tags. Timeout annotations and
// the flavor are dropped with a Warning, the load balancer is created
// untagged and owned by its name, and sharing it is refused by name.
func TestOctaviaV20(t *testing.T) {
	e := olderOctavia(t, "v2.0", "flavor-id = small")
	svc := service("old", 80)
	svc.Annotations[AnnTimeoutClientData] = "60000"
	svc.Annotations[AnnTimeoutMemberData] = "70000"
	e.ensure(svc)
	s := e.state()
	switch {
	case len(s.lb.Tags) != 0 || s.lb.FlavorID != "":
		t.Errorf("load balancer tags %v flavor %q on v2.0", s.lb.Tags, s.lb.FlavorID)
	case s.listeners[0].TimeoutClientData != 50000:
		t.Errorf("listener timeout_client_data %d, want Octavia's default", s.listeners[0].TimeoutClientData)
	}
	ev := e.allEvents()
	for _, want := range []string{AnnTimeoutClientData, AnnTimeoutMemberData, "flavor-id", "needs v2.1)", "needs v2.6)"} {
		if !strings.Contains(ev, want) {
			t.Errorf("events %q do not name %s", ev, want)
		}
	}
	e.reset()
	e.ensure(svc)
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("no-op sync on v2.0 wrote %v (timeouts or tags?)", w)
	}

	guest := service("guest", 8080)
	guest.Annotations[AnnLoadBalancerID] = s.lb.ID
	e.reset()
	_, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, guest, e.nodes)
	if err == nil || !strings.Contains(err.Error(), AnnLoadBalancerID) || !strings.Contains(err.Error(), "tags") {
		t.Fatalf("sharing on v2.0: %v", err)
	}
	if ev := e.allEvents(); !strings.Contains(ev, "Warning "+reasonShareRefused) || !strings.Contains(ev, AnnLoadBalancerID) || !strings.Contains(ev, "v2.5") {
		t.Errorf("events %q: want %s naming %s and v2.5", ev, reasonShareRefused, AnnLoadBalancerID)
	}
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("refused share wrote %v", w)
	}

	// The untagged load balancer is its name's: deleting the Service
	// deletes it.
	if err := e.lb.EnsureLoadBalancerDeleted(e.ctx, testCluster, svc); err != nil {
		t.Fatal(err)
	}
	if s := e.state(); s.lb != nil || len(s.fips) != 0 {
		t.Fatalf("after delete: lb %v fips %v", s.lb, s.fips)
	}
}

// TestOctaviaV215UDPLocalUsesUDPConnect: before v2.16 a UDP pool takes
// only UDP-CONNECT monitors, so externalTrafficPolicy Local checks the
// NodePort instead of kube-proxy's HTTP health check, with a Warning.
func TestOctaviaV215UDPLocalUsesUDPConnect(t *testing.T) {
	e := olderOctavia(t, "v2.15", "")
	svc := service("dns", 53)
	svc.Spec.Ports = append(svc.Spec.Ports, v1.ServicePort{Name: "udp", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053})
	svc.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	svc.Spec.HealthCheckNodePort = 32100
	e.ensure(svc)
	s := e.state()
	for _, l := range s.listeners {
		p := s.poolOf(l)
		hm := s.monitors[p.ID]
		want := map[string]string{"TCP": "HTTP", "UDP": "UDP-CONNECT"}[l.Protocol]
		if hm == nil || hm.Type != want {
			t.Errorf("%s listener monitor %+v, want %s", l.Protocol, hm, want)
		}
		for _, m := range s.members[p.ID] {
			if (l.Protocol == "UDP") != (m.MonitorPort == nil) {
				t.Errorf("%s member %s monitor_port %v", l.Protocol, m.Name, m.MonitorPort)
			}
		}
	}
	if ev := e.allEvents(); !strings.Contains(ev, "UDP") || !strings.Contains(ev, "needs v2.16)") {
		t.Errorf("events %q: want a Warning about UDP health checks needing v2.16", ev)
	}
	e.reset()
	e.ensure(svc)
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("no-op sync on v2.15 wrote %v", w)
	}
}

// TestOctaviaV212RefusesNewerValues: what a Service needs and v2.12 does
// not accept (SCTP, PROXYV2, SOURCE_IP_PORT) is refused naming where it
// comes from, with a Warning and no cloud write.
func TestOctaviaV212RefusesNewerValues(t *testing.T) {
	cases := []struct {
		name, conf, key string
		mutate          func(*v1.Service)
	}{
		{"sctp", "", "spec.ports.protocol", func(s *v1.Service) { s.Spec.Ports[0].Protocol = v1.ProtocolSCTP }},
		{"proxyv2", "", AnnProxyProtocol, func(s *v1.Service) { s.Annotations[AnnProxyProtocol] = "v2" }},
		{"method", "", AnnLBMethod, func(s *v1.Service) { s.Annotations[AnnLBMethod] = "SOURCE_IP_PORT" }},
		{"conf-method", "lb-method = SOURCE_IP_PORT", "[LoadBalancer] lb-method", func(*v1.Service) {}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := olderOctavia(t, "v2.12", c.conf)
			svc := service(c.name, 80)
			c.mutate(svc)
			_, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, svc, e.nodes)
			if err == nil || !strings.Contains(err.Error(), c.key) || !strings.Contains(err.Error(), "v2.12") {
				t.Fatalf("error %v: want it to name %s and v2.12", err, c.key)
			}
			if ev := e.allEvents(); !strings.Contains(ev, "Warning "+reasonInvalidAnnotation) || !strings.Contains(ev, c.key) {
				t.Errorf("events %q: want %s naming %s", ev, reasonInvalidAnnotation, c.key)
			}
			if w := e.writes(); len(w) != 0 {
				t.Errorf("refused Service wrote %v", w)
			}
		})
	}
}

// TestOctaviaCurrentVersionGetsEverything: v2.27 (the simulator's
// newest) gets source ranges, flavor, timeouts and tags as before, and
// no Warning.
func TestOctaviaCurrentVersionGetsEverything(t *testing.T) {
	e := newEnv(t, "flavor-id = small")
	svc := service("new", 80)
	svc.Spec.LoadBalancerSourceRanges = []string{"192.0.2.0/24"}
	svc.Annotations[AnnTimeoutClientData] = "60000"
	e.ensure(svc)
	s := e.state()
	l := s.listeners[0]
	if s.lb.FlavorID != "small" || len(s.lb.Tags) != 1 || l.TimeoutClientData != 60000 || len(l.AllowedCIDRs) != 1 || l.AllowedCIDRs[0] != "192.0.2.0/24" {
		t.Fatalf("v2.27: lb flavor %q tags %v, listener timeout %d allowed_cidrs %v", s.lb.FlavorID, s.lb.Tags, l.TimeoutClientData, l.AllowedCIDRs)
	}
	if ev := e.allEvents(); strings.Contains(ev, reasonUnsupported) {
		t.Fatalf("v2.27 warned %q", ev)
	}
}

// TestOctaviaVersionReadOnce: the version document is read on first use
// and then never again, however many syncs follow; a failed read is not
// kept (the sync fails before any write, and the next one reads again).
func TestOctaviaVersionReadOnce(t *testing.T) {
	if n := client.RequestName("GET", "/load-balancer/", ""); n != "version_list" {
		t.Fatalf("metrics request label %q", n)
	}
	e := olderOctavia(t, "v2.11", "")
	e.sim.Controls().SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"octavia.version_list"}})
	svc := service("a", 80)
	_, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, svc, e.nodes)
	if err == nil || !strings.Contains(err.Error(), "Octavia API version") {
		t.Fatalf("ensure with a failing version document: %v", err)
	}
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("failed version read still wrote %v", w)
	}
	e.sim.Controls().SetFaults(simcore.FaultConfig{})
	for i, name := range []string{"a", "b", "c"} {
		s := service(name, int32(80+i))
		e.ensure(s)
		if err := e.lb.UpdateLoadBalancer(e.ctx, testCluster, s, e.nodes); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.sim.Controls().Count("octavia.version_list"); n != 2 {
		t.Fatalf("version document read %d times, want 2 (the failed read and one more)", n)
	}
}

// TestOctaviaWithoutVersionDocument: a cloud whose Octavia root is not a
// version document (a proxy answering 404, or HTML) is taken to support
// everything, read once. (Gophercloud's endpoint discovery reads the
// root too when the client is built; the proxy breaks it only after.)
func TestOctaviaWithoutVersionDocument(t *testing.T) {
	for name, answer := range map[string]func(http.ResponseWriter){
		"404": func(w http.ResponseWriter) { http.NotFound(w, nil) },
		"html": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>gateway</html>"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			var hits atomic.Int64
			var broken atomic.Bool
			e := newEnvBehind(t, "", func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if broken.Load() && r.Method == http.MethodGet && r.URL.Path == "/load-balancer/" {
						hits.Add(1)
						answer(w)
						return
					}
					h.ServeHTTP(w, r)
				})
			})
			broken.Store(true)
			svc := service("acl", 80)
			svc.Spec.LoadBalancerSourceRanges = []string{"192.0.2.0/24"}
			e.ensure(svc)
			e.ensure(svc)
			if l := e.state().listeners[0]; len(l.AllowedCIDRs) != 1 {
				t.Errorf("allowed_cidrs %v, want the source range (all features assumed)", l.AllowedCIDRs)
			}
			if ev := e.allEvents(); strings.Contains(ev, reasonUnsupported) {
				t.Errorf("warned %q", ev)
			}
			if n := hits.Load(); n != 1 {
				t.Errorf("version document read %d times, want 1", n)
			}
		})
	}
}
