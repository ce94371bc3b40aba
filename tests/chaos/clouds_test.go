package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/nifcloud"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// Test-only credentials the in-process simulators accept.
const (
	nifAccessKey = "CHAOSACCESSKEY01"
	nifSecretKey = "chaos-secret-key-0123456789"
	nifRegion    = "jp-east-1"
	nifZone      = "east-11"
	osZone       = "nova"
	clusterName  = "kumo-chaos"
)

// attemptTimeout bounds one HTTP attempt of both clients; injected hangs
// last longer, so they end as client-side timeouts.
const attemptTimeout = time.Second

// transitions are the simulators' state-transition delays during chaos:
// every asynchronous change (volume create/attach/detach, Octavia
// PENDING_*, elastic LB and security group apply) takes this long.
var transitions = map[string]time.Duration{"*": 150 * time.Millisecond}

// createLog counts successful disk creations per CSI volume name, as seen
// on the wire by a middleware in front of a simulator.
type createLog struct {
	mu     sync.Mutex
	byName map[string]int
}

func (l *createLog) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byName[name]++
}

func (l *createLog) snapshot() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.byName))
	for k, v := range l.byName {
		out[k] = v
	}
	return out
}

// statusWriter remembers the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// recordCreates wraps h: every request for which nameOf returns a name
// and that succeeds (2xx) is counted in log under that name.
func recordCreates(h http.Handler, log *createLog, nameOf func(r *http.Request, body []byte) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Body != nil && r.Method == http.MethodPost {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = b
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		name := nameOf(r, body)
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if name != "" && sw.status >= 200 && sw.status < 300 {
			log.add(name)
		}
	})
}

// nifcloudCreateName is the Description of a successful CreateVolume call
// (nifclouddisk stores the CSI name there, hashed when too long).
func nifcloudCreateName(r *http.Request, body []byte) string {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	for k, v := range r.URL.Query() {
		form[k] = append(form[k], v...)
	}
	if form.Get("Action") != "CreateVolume" {
		return ""
	}
	return form.Get("Description")
}

// cinderCreateName is the name of a Cinder volume create request.
func cinderCreateName(r *http.Request, body []byte) string {
	if r.Method != http.MethodPost || !strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/volumes") {
		return ""
	}
	var req struct {
		Volume struct {
			Name string `json:"name"`
		} `json:"volume"`
	}
	if json.Unmarshal(body, &req) != nil {
		return ""
	}
	return req.Volume.Name
}

// nifEnv is the NIFCLOUD simulator over real HTTP and a signed client.
type nifEnv struct {
	sim      *nifcloudsim.Sim
	controls *simcore.Controls
	api      *nifcloud.Client
	creates  *createLog
	lost     *lostAnswers
}

func startNIFCLOUD(t *testing.T) *nifEnv {
	t.Helper()
	controls := simcore.NewControls()
	controls.SetLatency(simcore.LatencyConfig{Transitions: transitions})
	sim, err := nifcloudsim.New(nifcloudsim.Options{Credentials: map[string]string{nifAccessKey: nifSecretKey},
		Region: nifRegion, Controls: controls})
	if err != nil {
		t.Fatal(err)
	}
	log := &createLog{byName: map[string]int{}}
	// As cmd/cloudsim serves it (pkg/cloudsim/server.go), plus answers
	// lost after the call was carried out; both are off until the run
	// turns them on.
	lost := newLostAnswers(recordCreates(sim.Handler(), log, nifcloudCreateName), nifcloudsim.AdminPrefix, nifcloudSeed)
	hostile := simcore.HostileMiddleware(controls, simcore.DialectNIFCLOUD, nifcloudsim.AdminPrefix, lost)
	srv := httptest.NewServer(hostile)
	t.Cleanup(srv.Close)
	// Production retry policy (5 attempts, Retry-After honoured) with a
	// short per-attempt timeout and backoff; no client-side rate limit so
	// the run stays short.
	api, err := nifcloud.New(nifcloud.Config{Region: nifRegion, Endpoint: srv.URL + "/api/",
		AccessKeyID: nifAccessKey, SecretAccessKey: nifSecretKey, Timeout: attemptTimeout, QPS: -1,
		Retry: backoff.Policy{Initial: 50 * time.Millisecond, Max: time.Second, Factor: 2, Jitter: 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	return &nifEnv{sim: sim, controls: controls, api: api, creates: log, lost: lost}
}

// addInstances adds running instances <prefix>NN in security group
// fw<prefix>, with private addresses 10.1.<net>.10+i.
func (e *nifEnv) addInstances(t *testing.T, prefix string, net, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s%02d", prefix, i)
		if err := e.sim.AddInstance(nifcloudsim.Instance{InstanceID: id, InstanceUniqueID: "i-" + id,
			InstanceType: "e-medium", Zone: nifZone, PrivateIP: fmt.Sprintf("10.1.%d.%d", net, 10+i),
			SecurityGroup: "fw" + prefix, State: "running"}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// osEnv is the OpenStack simulator over real HTTP and authenticated
// production clients.
type osEnv struct {
	sim      *openstacksim.Sim
	controls *simcore.Controls
	cfg      *config.Config
	clients  *client.Clients
	creates  *createLog
	lost     *lostAnswers
	// cinderHostile injects the hostile answers of the Cinder calls.
	cinderHostile *simcore.Controls
}

func startOpenStack(t *testing.T, ctx context.Context) *osEnv {
	t.Helper()
	controls := simcore.NewControls()
	controls.SetLatency(simcore.LatencyConfig{Transitions: transitions})
	sim, err := openstacksim.New(openstacksim.Options{Controls: controls})
	if err != nil {
		t.Fatal(err)
	}
	log := &createLog{byName: map[string]int{}}
	lost := newLostAnswers(recordCreates(sim.Handler(), log, cinderCreateName), openstacksim.AdminPrefix, openstackSeed)
	// Cinder calls get their hostile answers from controls of their own
	// (see chaosHostileCinder); only their hostile counters are used.
	cinderHostile := simcore.NewControls()
	hostile := simcore.HostileMiddleware(controls, simcore.DialectOpenStack, openstacksim.AdminPrefix, lost)
	hostileCinder := simcore.HostileMiddleware(cinderHostile, simcore.DialectOpenStack, openstacksim.AdminPrefix, lost)
	srv := httptest.NewServer(hostileByAction(func(_, path string) http.Handler {
		if strings.HasPrefix(path, cinderPath) {
			return hostileCinder
		}
		return hostile
	}))
	t.Cleanup(srv.Close)
	var extNet string
	for id, n := range sim.Snapshot().Networks {
		if n.External {
			extNet = id
		}
	}
	if extNet == "" {
		t.Fatal("the OpenStack simulator seeded no external network")
	}
	// Floating IPs on the external network, as most public Services get.
	conf := fmt.Sprintf("[Global]\nauth-url = %s/identity/v3\nusername = admin\npassword = secret\n"+
		"user-domain-name = Default\nproject-name = demo\nproject-domain-name = Default\nregion = RegionOne\n"+
		"[LoadBalancer]\nfloating-network-id = %s\n", srv.URL, extNet)
	cfg, err := config.Parse("cloud.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	// Production retries (429/503 with Retry-After, idempotent requests on
	// connection errors) with a short attempt timeout and backoff.
	clients, err := client.New(ctx, cfg, client.Options{HTTPTimeout: attemptTimeout,
		RetryBackoff: &backoff.Policy{Initial: 50 * time.Millisecond, Max: time.Second, Factor: 2, Jitter: 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	return &osEnv{sim: sim, controls: controls, cfg: cfg, clients: clients, creates: log, lost: lost, cinderHostile: cinderHostile}
}

// addServers adds servers <prefix>NN on the seeded private network.
func (e *osEnv) addServers(t *testing.T, prefix string, n int) []openstacksim.Server {
	t.Helper()
	var out []openstacksim.Server
	for i := range n {
		sv, err := e.sim.AddServer(openstacksim.Server{Name: fmt.Sprintf("%s%02d", prefix, i), AZ: osZone,
			Addresses: map[string][]openstacksim.Address{"private": {{Addr: fmt.Sprintf("10.0.0.%d", 100+i)}}}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sv)
	}
	return out
}
