package nifcloud

import (
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/record"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

const (
	testAK     = "SIMACCESSKEY01"
	testSK     = "sim-secret-key-0123456789"
	testRegion = "jp-east-1"
	testZone   = "east-11"
)

// simEnv is a NIFCLOUD simulator behind a real HTTP server, a signed API
// client pointing at it and a provider on that client.
type simEnv struct {
	t   *testing.T
	sim *nifcloudsim.Sim
	api *nifcloud.Client
	p   *Provider
	rec *record.FakeRecorder
}

// newSimEnv starts the simulator with short state transitions and a
// provider polling fast; tune adjusts the provider config.
func newSimEnv(t *testing.T, tune func(*ProviderConfig)) *simEnv {
	t.Helper()
	controls := simcore.NewControls()
	controls.SetLatency(simcore.LatencyConfig{Transitions: map[string]time.Duration{
		"elb.apply": 30 * time.Millisecond,
		"sg.apply":  20 * time.Millisecond,
	}})
	sim, err := nifcloudsim.New(nifcloudsim.Options{Credentials: map[string]string{testAK: testSK}, Region: testRegion, Controls: controls})
	if err != nil {
		t.Fatal(err)
	}
	// As cmd/cloudsim serves it: hostile answers are off until a test
	// turns them on (Controls().SetHostile).
	srv := httptest.NewServer(simcore.HostileMiddleware(controls, simcore.DialectNIFCLOUD, nifcloudsim.AdminPrefix, sim.Handler()))
	t.Cleanup(srv.Close)
	api, err := nifcloud.New(nifcloud.Config{
		Region: testRegion, Endpoint: srv.URL + "/api/", AccessKeyID: testAK, SecretAccessKey: testSK,
		Timeout: 5 * time.Second, QPS: -1, MaxAttempts: 2,
		Retry: backoff.Policy{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ProviderConfig{
		Region:         testRegion,
		PollPolicy:     backoff.Policy{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, Factor: 1.5},
		ELBWaitTimeout: 5 * time.Second,
		SGWaitTimeout:  5 * time.Second,
	}
	if tune != nil {
		tune(&cfg)
	}
	p, err := NewProvider(api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := record.NewFakeRecorder(100)
	p.SetEventRecorder(rec)
	return &simEnv{t: t, sim: sim, api: api, p: p, rec: rec}
}

func (e *simEnv) addInstances(ins ...nifcloudsim.Instance) {
	e.t.Helper()
	for _, in := range ins {
		if in.Zone == "" {
			in.Zone = testZone
		}
		if err := e.sim.AddInstance(in); err != nil {
			e.t.Fatal(err)
		}
	}
}

// mutations counts the calls that change cloud state.
func (e *simEnv) mutations() int64 {
	var n int64
	for action, c := range e.sim.Controls().Counts() {
		if !strings.HasPrefix(action, "Describe") && !strings.HasPrefix(action, "NiftyDescribe") {
			n += c
		}
	}
	return n
}

func (e *simEnv) totalCalls() int64 {
	var n int64
	for _, c := range e.sim.Controls().Counts() {
		n += c
	}
	return n
}

// events drains the recorded events.
func (e *simEnv) events() []string {
	var out []string
	for {
		select {
		case ev := <-e.rec.Events:
			out = append(out, ev)
		default:
			return out
		}
	}
}

func (e *simEnv) state() nifcloudsim.State { return e.sim.Snapshot() }

func testNode(name, providerID string) *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
		Spec:       v1.NodeSpec{ProviderID: providerID},
		Status: v1.NodeStatus{Conditions: []v1.NodeCondition{
			{Type: v1.NodeReady, Status: v1.ConditionTrue, LastHeartbeatTime: metav1.Now()},
		}},
	}
}

func testNodes(names ...string) []*v1.Node {
	var out []*v1.Node
	for _, n := range names {
		out = append(out, testNode(n, ""))
	}
	return out
}

// port is a Service port: load balancer port → node port.
type port struct{ port, nodePort int32 }

func testService(uid string, ann map[string]string, ports ...port) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: types.UID(uid), Annotations: ann},
		Spec:       v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer},
	}
	for i, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, v1.ServicePort{
			Name: "p" + string(rune('a'+i)), Protocol: v1.ProtocolTCP, Port: p.port,
			TargetPort: intstr.FromInt32(8080), NodePort: p.nodePort,
		})
	}
	return svc
}

type listenerView struct {
	Port, InstancePort, BalancingType int
	Target                            string
	Interval, Unhealthy               int
	Instances, Filter                 []string
}

// l4Listeners summarizes the simulator's listeners of an L4 LB, by port.
func l4Listeners(lb *nifcloudsim.LoadBalancer) []listenerView {
	var out []listenerView
	for _, l := range lb.Listeners {
		ins := append([]string(nil), l.Instances...)
		sort.Strings(ins)
		f := append([]string(nil), l.IPAddresses...)
		sort.Strings(f)
		out = append(out, listenerView{l.LoadBalancerPort, l.InstancePort, l.BalancingType, l.HealthCheck.Target,
			l.HealthCheck.Interval, l.HealthCheck.UnhealthyThreshold, ins, f})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}
