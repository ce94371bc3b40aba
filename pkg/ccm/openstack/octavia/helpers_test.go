package octavia

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

const testCluster = "kumo"

type env struct {
	t      *testing.T
	ctx    context.Context
	sim    *openstacksim.Sim
	cl     *client.Clients
	lb     *LoadBalancer
	events *record.FakeRecorder
	nodes  []*v1.Node
}

// newEnv starts the OpenStack simulator over real HTTP with 20 ms Octavia
// transitions and returns an Octavia LoadBalancer talking to it.
func newEnv(t *testing.T, lbConf string) *env {
	t.Helper()
	return newEnvBehind(t, lbConf, nil)
}

// newEnvBehind is newEnv with front (when not nil) wrapping the
// simulator's handler, as a proxy in front of the cloud would.
func newEnvBehind(t *testing.T, lbConf string, front func(http.Handler) http.Handler) *env {
	t.Helper()
	controls := simcore.NewControls()
	controls.SetLatency(simcore.LatencyConfig{Transitions: map[string]time.Duration{
		"octavia.create": 20 * time.Millisecond, "octavia.update": 20 * time.Millisecond, "octavia.delete": 20 * time.Millisecond}})
	sim, err := openstacksim.New(openstacksim.Options{Controls: controls})
	if err != nil {
		t.Fatal(err)
	}
	h := sim.Handler()
	if front != nil {
		h = front(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	conf := fmt.Sprintf("[Global]\nauth-url = %s/identity/v3\nusername = admin\npassword = secret\nuser-domain-name = Default\nproject-name = demo\nproject-domain-name = Default\nregion = RegionOne\n\n[LoadBalancer]\n%s\n", srv.URL, lbConf)
	cfg, err := config.Parse("cloud.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	_, ctx := ktesting.NewTestContext(t)
	cl, err := client.New(ctx, cfg, client.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	rec := record.NewFakeRecorder(32)
	lb, err := New(Options{Clients: cl, Config: cfg.LoadBalancer, ClusterName: testCluster, Events: rec})
	if err != nil {
		t.Fatal(err)
	}
	lb.poll = backoff.Policy{Initial: 5 * time.Millisecond, Factor: 1.5, Max: 50 * time.Millisecond}
	lb.waitTimeout = 10 * time.Second
	e := &env{t: t, ctx: ctx, sim: sim, cl: cl, lb: lb, events: rec}
	for i := 1; i <= 2; i++ {
		e.addNode(i)
	}
	controls.ResetCounts()
	return e
}

// addNode creates server node-<i> with 10.0.0.<10+i> on "private".
func (e *env) addNode(i int) *v1.Node {
	e.t.Helper()
	name, ip := fmt.Sprintf("node-%d", i), fmt.Sprintf("10.0.0.%d", 10+i)
	if _, err := e.sim.AddServer(openstacksim.Server{Name: name,
		Addresses: map[string][]openstacksim.Address{"private": {{Addr: ip}}}}); err != nil {
		e.t.Fatal(err)
	}
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: v1.NodeStatus{Addresses: []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: ip}}}}
	e.nodes = append(e.nodes, n)
	return n
}

func service(name string, ports ...int32) *v1.Service {
	s := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Annotations: map[string]string{}},
		Spec:       v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer},
	}
	for i, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: fmt.Sprintf("p%d", i), Protocol: v1.ProtocolTCP, Port: p, NodePort: 30000 + p})
	}
	return s
}

func (e *env) ensure(svc *v1.Service) *v1.LoadBalancerStatus {
	e.t.Helper()
	st, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, svc, e.nodes)
	if err != nil {
		e.t.Fatalf("EnsureLoadBalancer: %v", err)
	}
	return st
}

// writes counts mutating cloud calls since the last reset.
func (e *env) writes() map[string]int64 {
	out := map[string]int64{}
	for k, v := range e.sim.Controls().Counts() {
		if isWrite(k) {
			out[k] = v
		}
	}
	return out
}

func isWrite(action string) bool {
	for _, s := range []string{"_create", "_update", "_delete", "_add", "_remove", "_extraroutes"} {
		if strings.HasSuffix(action, s) {
			return true
		}
	}
	return false
}

func (e *env) total(pred func(string) bool) int64 {
	var n int64
	for k, v := range e.sim.Controls().Counts() {
		if pred(k) {
			n += v
		}
	}
	return n
}

func (e *env) reset() { e.sim.Controls().ResetCounts() }

// state is a summary of the one load balancer in the simulator.
type lbState struct {
	lb        *openstacksim.LoadBalancer
	listeners []*openstacksim.Listener // by port
	pools     map[string]*openstacksim.Pool
	members   map[string][]*openstacksim.Member // by pool ID
	monitors  map[string]*openstacksim.HealthMonitor
	fips      []*openstacksim.FloatingIP
	st        openstacksim.State
}

func (e *env) state() lbState {
	e.t.Helper()
	st := e.sim.Snapshot()
	s := lbState{pools: map[string]*openstacksim.Pool{}, members: map[string][]*openstacksim.Member{},
		monitors: map[string]*openstacksim.HealthMonitor{}, st: st}
	for _, lb := range st.LoadBalancers {
		if s.lb != nil {
			e.t.Fatalf("more than one load balancer in the cloud")
		}
		s.lb = lb
	}
	for _, l := range st.Listeners {
		s.listeners = append(s.listeners, l)
	}
	sort.Slice(s.listeners, func(i, j int) bool { return s.listeners[i].ProtocolPort < s.listeners[j].ProtocolPort })
	for _, p := range st.Pools {
		s.pools[p.ID] = p
	}
	for _, m := range st.Members {
		s.members[m.PoolID] = append(s.members[m.PoolID], m)
	}
	for _, m := range st.HealthMonitors {
		s.monitors[m.PoolID] = m
	}
	for _, f := range st.FloatingIPs {
		s.fips = append(s.fips, f)
	}
	return s
}

// poolOf returns the pool behind listener l.
func (s lbState) poolOf(l *openstacksim.Listener) *openstacksim.Pool {
	if p := s.pools[l.DefaultPoolID]; p != nil {
		return p
	}
	for _, p := range s.pools {
		if p.ListenerID == l.ID {
			return p
		}
	}
	return nil
}
