package cinderdisk

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// env is a simulated OpenStack cloud served over HTTP with a backend
// talking to it through the real client stack (Keystone auth, retries).
type env struct {
	sim      *openstacksim.Sim
	controls *simcore.Controls
	clients  *client.Clients
	b        *Backend
	nodes    []string // servers in zone "nova"
}

// transition is the simulated duration of every state change.
const transition = 20 * time.Millisecond

func newEnv(t *testing.T, simOpts openstacksim.Options) *env {
	t.Helper()
	controls := simcore.NewControls()
	controls.SetLatency(simcore.LatencyConfig{Transitions: map[string]time.Duration{"*": transition}})
	simOpts.Controls = controls
	sim, err := openstacksim.New(simOpts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg, err := config.Parse("cloud.conf", []byte(openstacksim.CloudConf(srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := client.New(ctx, cfg, client.Options{
		RetryBackoff: &backoff.Policy{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(c, Options{ClusterID: "kumo-test", Poll: backoff.Policy{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 1.5}, WaitTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sim: sim, controls: controls, clients: c, b: b}
	for i, addr := range []string{"10.0.0.11", "10.0.0.12"} {
		sv, err := sim.AddServer(openstacksim.Server{Name: fmt.Sprintf("node-%d", i), AZ: "nova",
			Addresses: map[string][]openstacksim.Address{"private": {{Addr: addr}}}})
		if err != nil {
			t.Fatal(err)
		}
		e.nodes = append(e.nodes, sv.ID)
	}
	controls.ResetCounts()
	return e
}

// calls returns the sim's counter of one action.
func (e *env) calls(action string) int64 { return e.controls.Count(action) }

// noLeaks fails when the cloud still holds volumes or snapshots.
func (e *env) noLeaks(t *testing.T) {
	t.Helper()
	time.Sleep(2 * transition) // let pending deletions settle
	st := e.sim.Snapshot()
	for id, v := range st.Volumes {
		t.Errorf("leaked volume %s (%q, %s)", id, v.Name, v.Status)
	}
	for id, s := range st.Snapshots {
		t.Errorf("leaked snapshot %s (%q, %s)", id, s.Name, s.Status)
	}
}

func wantErr(t *testing.T, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want one wrapping %q", err, sentinel)
	}
}

type result[T any] struct {
	v   T
	err error
}

// ok wraps a (value, error) pair: ok(f()).must(t).
func ok[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func openstacksimLatency(transitions map[string]time.Duration) simcore.LatencyConfig {
	return simcore.LatencyConfig{Transitions: transitions}
}
