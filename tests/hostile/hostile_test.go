package hostile

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/nifcloud"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

const (
	nifAccessKey   = "HOSTILEACCESSKEY"
	nifSecretKey   = "hostile-secret-key-0123456789"
	osPassword     = "hostile-keystone-password-42"
	clientDeadline = 3 * time.Second
	nifZone        = "east-11"
)

// logBuf captures klog at -v=10 so logged secrets are caught too.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func captureKlog(t *testing.T) *logBuf {
	t.Helper()
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", "10")
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	buf := &logBuf{}
	klog.SetOutput(buf)
	t.Cleanup(func() { klog.Flush(); klog.SetOutput(nil); _ = fs.Set("v", "0"); _ = fs.Set("logtostderr", "true") })
	return buf
}

// sink is the "other host" of a cross-host redirect; it records whether
// any credential reached it.
type sink struct {
	srv  *httptest.Server
	hits atomic.Int64
	leak atomic.Bool
}

func newSink(t *testing.T) *sink {
	s := &sink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if r.Header.Get("X-Auth-Token") != "" || strings.Contains(r.URL.RawQuery, "Signature=") {
			s.leak.Store(true)
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// nifEnv is the NIFCLOUD simulator behind the hostile middleware with
// running instances ctrl00, node00 and node01, and a signed client.
type nifEnv struct {
	controls *simcore.Controls
	sim      *nifcloudsim.Sim
	api      *nifcloud.Client
	wire     *wire
}

func startNIFCLOUD(t *testing.T) *nifEnv {
	t.Helper()
	c := simcore.NewControls()
	c.SetLatency(simcore.LatencyConfig{Transitions: map[string]time.Duration{"*": 5 * time.Millisecond}})
	sim, err := nifcloudsim.New(nifcloudsim.Options{Credentials: map[string]string{nifAccessKey: nifSecretKey}, Region: "jp-east-1", Controls: c})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"ctrl00", "node00", "node01"} {
		if err := sim.AddInstance(nifcloudsim.Instance{InstanceID: id, InstanceUniqueID: "i-" + id, InstanceType: "e-medium",
			Zone: nifZone, PrivateIP: fmt.Sprintf("10.1.0.%d", 10+i), SecurityGroup: "fwnode", State: "running"}); err != nil {
			t.Fatal(err)
		}
	}
	w := newWire(nifAccessKey, nifSecretKey)
	srv := httptest.NewServer(w.wrap(simcore.HostileMiddleware(c, simcore.DialectNIFCLOUD, nifcloudsim.AdminPrefix, sim.Handler())))
	t.Cleanup(srv.Close)
	api, err := nifcloud.New(nifcloud.Config{Region: "jp-east-1", Endpoint: srv.URL + "/api/", AccessKeyID: nifAccessKey,
		SecretAccessKey: nifSecretKey, Timeout: clientDeadline, QPS: -1, MaxAttempts: 1,
		Retry: backoff.Policy{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 2}})
	if err != nil {
		t.Fatal(err)
	}
	return &nifEnv{controls: c, sim: sim, api: api, wire: w}
}

// secrets are the NIFCLOUD credentials plus every signature sent so far.
func (e *nifEnv) secrets() []string {
	return append([]string{nifSecretKey, nifAccessKey}, e.wire.secrets()...)
}

// osEnv is the OpenStack simulator behind the hostile middleware with
// servers node00 and node01, and clients authenticated before any
// hostile mode is set.
type osEnv struct {
	controls *simcore.Controls
	sim      *openstacksim.Sim
	cfg      *config.Config
	clients  *client.Clients
	wire     *wire
	servers  []string // server IDs of node00, node01
}

func startOpenStack(t *testing.T) *osEnv {
	t.Helper()
	c := simcore.NewControls()
	c.SetLatency(simcore.LatencyConfig{Transitions: map[string]time.Duration{"*": 5 * time.Millisecond}})
	sim, err := openstacksim.New(openstacksim.Options{Controls: c,
		Users: []openstacksim.User{{Name: "admin", Password: osPassword, ProjectName: "demo"}}})
	if err != nil {
		t.Fatal(err)
	}
	var extNet string
	for id, n := range sim.Snapshot().Networks {
		if n.External {
			extNet = id
		}
	}
	var servers []string
	for i := range 2 {
		sv, err := sim.AddServer(openstacksim.Server{Name: fmt.Sprintf("node%02d", i), AZ: "nova",
			Addresses: map[string][]openstacksim.Address{"private": {{Addr: fmt.Sprintf("10.0.0.%d", 100+i)}}}})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, sv.ID)
	}
	w := newWire(osPassword)
	srv := httptest.NewServer(w.wrap(simcore.HostileMiddleware(c, simcore.DialectOpenStack, openstacksim.AdminPrefix, sim.Handler())))
	t.Cleanup(srv.Close)
	conf := fmt.Sprintf("[Global]\nauth-url = %s/identity/v3\nusername = admin\npassword = %s\n"+
		"user-domain-name = Default\nproject-name = demo\nproject-domain-name = Default\nregion = RegionOne\n"+
		"[LoadBalancer]\nfloating-network-id = %s\n", srv.URL, osPassword, extNet)
	cfg, err := config.Parse("cloud.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(context.Background(), cfg, client.Options{HTTPTimeout: clientDeadline, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return &osEnv{controls: c, sim: sim, cfg: cfg, clients: cl, wire: w, servers: servers}
}

// secrets are the password, every token the simulator's Keystone issued
// and every token sent so far.
func (e *osEnv) secrets() []string {
	s := []string{osPassword, e.clients.Provider.Token()}
	for id := range e.sim.Snapshot().Tokens {
		s = append(s, id)
	}
	return append(s, e.wire.secrets()...)
}

// assertNoSecret fails if any secret appears in text.
func assertNoSecret(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, nifSecretKey, nifAccessKey, "Signature=", osPassword) {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s leaks %q: %.300s", where, s, text)
		}
	}
}

// measure runs f and returns the heap growth it caused (TotalAlloc delta).
func measure(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func modes() []string {
	return []string{simcore.HostileEcho, simcore.HostileHuge, simcore.HostileTruncate, simcore.HostileRedirect,
		simcore.HostileError200, simcore.HostileNonJSON, simcore.HostileSlowloris}
}

func hostileConfig(mode, redirectTo string) simcore.HostileConfig {
	return simcore.HostileConfig{Rates: map[string]float64{mode: 1}, RedirectTo: redirectTo,
		SlowInterval: time.Second, SlowBytes: 600}
}

func TestNIFCLOUDClientUnderHostileTransport(t *testing.T) {
	for _, mode := range modes() {
		t.Run(mode, func(t *testing.T) {
			logs := captureKlog(t)
			env := startNIFCLOUD(t)
			api := env.api
			other := newSink(t)
			env.controls.SetHostile(hostileConfig(mode, other.srv.URL))
			var err error
			start := time.Now()
			alloc := measure(func() { _, err = api.DescribeVolumes(context.Background(), &nifcloud.DescribeVolumesInput{}) })
			took := time.Since(start)
			klog.Flush()
			checkOutcome(t, mode, err, took, alloc, other, logs.String(), env.secrets()...)
		})
	}
}

func TestOpenStackClientUnderHostileTransport(t *testing.T) {
	for _, mode := range modes() {
		t.Run(mode, func(t *testing.T) {
			logs := captureKlog(t)
			env := startOpenStack(t)
			cl := env.clients
			other := newSink(t)
			env.controls.SetHostile(hostileConfig(mode, other.srv.URL))
			var err error
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 4*clientDeadline)
			defer cancel()
			alloc := measure(func() { _, err = volumes.Get(ctx, cl.BlockStorage, "00000000-0000-4000-8000-000000000001").Extract() })
			took := time.Since(start)
			klog.Flush()
			checkOutcome(t, mode, err, took, alloc, other, logs.String(), env.secrets()...)
		})
	}
}

// TestOpenStackAuthEcho: an echoing Keystone must not get the password
// into the authentication error.
func TestOpenStackAuthEcho(t *testing.T) {
	logs := captureKlog(t)
	env := startOpenStack(t)
	env.controls.SetHostile(simcore.HostileConfig{Rates: map[string]float64{simcore.HostileEcho: 1}, Paths: []string{"/auth/tokens"}})
	before := env.wire.echoes()
	_, err := client.New(context.Background(), env.cfg, client.Options{HTTPTimeout: clientDeadline, MaxRetries: -1})
	if err == nil {
		t.Fatal("authentication against an echoing Keystone succeeded")
	}
	if env.wire.echoes() == before {
		t.Error("the echoing Keystone echoed no credential: the test proves nothing")
	}
	klog.Flush()
	assertNoSecret(t, "auth error", err.Error(), env.secrets()...)
	assertNoSecret(t, "logs", logs.String(), env.secrets()...)
}

func checkOutcome(t *testing.T, mode string, err error, took time.Duration, alloc uint64, other *sink, logs string, extra ...string) {
	t.Helper()
	t.Logf("mode %s: err=%v took=%v alloc=%d KiB", mode, err, took, alloc>>10)
	if err == nil {
		t.Fatalf("mode %s: call succeeded", mode)
	}
	assertNoSecret(t, "error", err.Error(), extra...)
	assertNoSecret(t, "logs", logs, extra...)
	switch mode {
	case simcore.HostileHuge:
		if alloc > 64<<20 {
			t.Errorf("huge body: %d MiB allocated, want bounded (<64 MiB)", alloc>>20)
		}
	case simcore.HostileRedirect:
		if other.hits.Load() > 0 || other.leak.Load() {
			t.Errorf("redirect followed to another host (hits %d, credential leaked %v)", other.hits.Load(), other.leak.Load())
		}
	case simcore.HostileSlowloris:
		if took > clientDeadline+2*time.Second {
			t.Errorf("slowloris: took %v, client deadline %v", took, clientDeadline)
		}
	}
}
