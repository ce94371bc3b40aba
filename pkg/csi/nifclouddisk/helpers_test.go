package nifclouddisk

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

const (
	accessKey = "AKNIFCLOUDDISKTEST"
	secretKey = "nifclouddisk-test-secret"
	zone      = "east-11"
	otherZone = "east-12"
)

// env is a NIFCLOUD simulator behind a real HTTP server, a client with fast
// retries and a backend with fast polling.
type env struct {
	t      *testing.T
	ctx    context.Context
	sim    *nifcloudsim.Sim
	srv    *httptest.Server
	api    *nifcloud.Client
	disks  *Disks
	inject *injector
}

// injector answers the next calls of an action with a given error before
// the simulator sees them (deterministic, one-shot faults).
type injector struct {
	mu     sync.Mutex
	faults map[string][]injected
	hosts  map[string]int // CreateVolume calls per InstanceId
}

type injected struct {
	status int
	code   string
	after  bool   // let the simulator act, then answer the error
	raw    string // answer 200 with this non-XML body instead
}

func (i *injector) add(action string, status int, code string, times int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for range times {
		i.faults[action] = append(i.faults[action], injected{status: status, code: code})
	}
}

// addAfter makes the next call succeed in the simulator but answers an
// error, like a response lost on the way back.
func (i *injector) addAfter(action string, status int, code string, times int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for range times {
		i.faults[action] = append(i.faults[action], injected{status: status, code: code, after: true})
	}
}

// describeByID is the injector's action name of a DescribeVolumes call
// naming volume IDs (a wait's look, not a listing).
const describeByID = "DescribeVolumes(ids)"

// addRaw answers the next calls of action with a 200 and a raw body.
func (i *injector) addRaw(action, body string, times int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for range times {
		i.faults[action] = append(i.faults[action], injected{status: http.StatusOK, raw: body})
	}
}

func (i *injector) take(action string) (injected, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	q := i.faults[action]
	if len(q) == 0 {
		return injected{}, false
	}
	i.faults[action] = q[1:]
	return q[0], true
}

func (i *injector) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.ParseForm() == nil {
			if r.PostForm.Get("Action") == "CreateVolume" {
				i.mu.Lock()
				i.hosts[r.PostForm.Get("InstanceId")]++
				i.mu.Unlock()
			}
			action := r.PostForm.Get("Action")
			if action == "DescribeVolumes" && r.PostForm.Get("VolumeId.1") != "" {
				action = describeByID
			}
			if f, ok := i.take(action); ok {
				if f.raw != "" {
					w.Header().Set("Content-Type", "text/html")
					_, _ = fmt.Fprint(w, f.raw)
					return
				}
				if f.after {
					h.ServeHTTP(httptest.NewRecorder(), r)
				}
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(f.status)
				_, _ = fmt.Fprintf(w, "<Response><Errors><Error><Code>%s</Code><Message>injected by the test</Message></Error></Errors><RequestID>test</RequestID></Response>", f.code)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// newEnv seeds instances: "ctrl" (preferred host) and "node1", "node2" in
// zone, "far1" in otherZone. transition is the simulator's delay for every
// volume state change.
func newEnv(t *testing.T, transition time.Duration, mutate func(*Options)) *env {
	t.Helper()
	sim, err := nifcloudsim.New(nifcloudsim.Options{Credentials: map[string]string{accessKey: secretKey}, Region: "jp-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []nifcloudsim.Instance{
		{InstanceID: "ctrl", Zone: zone},
		{InstanceID: "node1", Zone: zone},
		{InstanceID: "node2", Zone: zone, State: "stopped"},
		{InstanceID: "far1", Zone: otherZone},
	} {
		if err := sim.AddInstance(in); err != nil {
			t.Fatal(err)
		}
	}
	if transition > 0 {
		l := sim.Controls().Latency()
		l.Transitions = map[string]time.Duration{"*": transition}
		sim.Controls().SetLatency(l)
	}
	inj := &injector{faults: map[string][]injected{}, hosts: map[string]int{}}
	srv := httptest.NewServer(inj.wrap(sim.Handler()))
	t.Cleanup(srv.Close)
	api, err := nifcloud.New(nifcloud.Config{
		Region: "jp-east-1", Endpoint: srv.URL + "/api/",
		AccessKeyID: accessKey, SecretAccessKey: secretKey,
		Timeout: 5 * time.Second, QPS: -1, MaxAttempts: 4,
		Retry: backoff.Policy{Initial: 2 * time.Millisecond, Max: 10 * time.Millisecond, Factor: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		PreferredInstances: []string{"ctrl"},
		Poll:               backoff.Policy{Initial: 3 * time.Millisecond, Max: 10 * time.Millisecond, Factor: 1.5},
		BatchInterval:      time.Millisecond,
		Timeout:            10 * time.Second,
	}
	if mutate != nil {
		mutate(&opts)
	}
	disks, err := New(api, opts)
	if err != nil {
		t.Fatal(err)
	}
	logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.Verbosity(4)))
	ctx, cancel := context.WithTimeout(klog.NewContext(context.Background(), logger), 30*time.Second)
	t.Cleanup(cancel)
	return &env{t: t, ctx: ctx, sim: sim, srv: srv, api: api, disks: disks, inject: inj}
}

// request is a CreateRequest of sizeGiB with default parameters.
func request(t *testing.T, name string, sizeGiB int64, params map[string]string) backend.CreateRequest {
	t.Helper()
	p, err := profile.NIFCLOUD{}.ParseParameters(params)
	if err != nil {
		t.Fatal(err)
	}
	return backend.CreateRequest{Name: name, SizeBytes: sizeGiB * profile.GiB, Parameters: p}
}

func (e *env) create(name string, sizeGiB int64) *backend.Disk {
	e.t.Helper()
	disk, err := e.disks.CreateDisk(e.ctx, request(e.t, name, sizeGiB, nil))
	if err != nil {
		e.t.Fatalf("CreateDisk(%s): %v", name, err)
	}
	return disk
}

// counts returns the simulator's call counters since the last call.
func (e *env) counts() map[string]int64 {
	c := e.sim.Controls().Counts()
	e.sim.Controls().ResetCounts()
	return c
}

// volumes is the simulator's state: volume ID -> volume.
func (e *env) volumes() map[string]*nifcloudsim.Volume {
	return e.sim.Snapshot().Volumes
}

// createHosts returns the CreateVolume calls per host instance so far.
func (e *env) createHosts() map[string]int {
	e.inject.mu.Lock()
	defer e.inject.mu.Unlock()
	return maps.Clone(e.inject.hosts)
}

// waitIdle fails unless the shared watcher stops once nobody waits.
func (e *env) waitIdle() {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for e.disks.watcher.busy() {
		if time.Now().After(deadline) {
			e.t.Fatal("the volume watcher still runs with nobody waiting")
		}
		time.Sleep(time.Millisecond)
	}
}

func wantErr(t *testing.T, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want one wrapping %v", err, sentinel)
	}
}

func wantCounts(t *testing.T, got map[string]int64, want map[string]int64) {
	t.Helper()
	for action, n := range want {
		if got[action] != n {
			t.Errorf("%s called %d times, want %d (all: %v)", action, got[action], n, got)
		}
	}
}
