package openstacksim

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// fakeClock drives transitions and token expiry deterministically.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	sim      *Sim
	srv      *httptest.Server
	clock    *fakeClock
	provider *gophercloud.ProviderClient
	compute  *gophercloud.ServiceClient
	network  *gophercloud.ServiceClient
	lb       *gophercloud.ServiceClient
	block    *gophercloud.ServiceClient
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	sim, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	e := &env{sim: sim, srv: srv, clock: clock}
	e.provider = e.auth(t, gophercloud.AuthOptions{Username: "admin", Password: "secret", DomainName: "Default",
		TenantName: "demo", AllowReauth: true})
	eo := gophercloud.EndpointOpts{Region: "RegionOne"}
	if e.compute, err = openstack.NewComputeV2(e.provider, eo); err != nil {
		t.Fatal(err)
	}
	if e.network, err = openstack.NewNetworkV2(e.provider, eo); err != nil {
		t.Fatal(err)
	}
	if e.lb, err = openstack.NewLoadBalancerV2(e.provider, eo); err != nil {
		t.Fatal(err)
	}
	if e.block, err = openstack.NewBlockStorageV3(e.provider, eo); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) auth(t *testing.T, ao gophercloud.AuthOptions) *gophercloud.ProviderClient {
	t.Helper()
	ao.IdentityEndpoint = e.srv.URL + "/identity/v3"
	pc, err := openstack.AuthenticatedClient(context.Background(), ao)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return pc
}

func ctx() context.Context { return context.Background() }

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

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	if !gophercloud.ResponseCodeIs(err, code) {
		t.Fatalf("want HTTP %d, got %v", code, err)
	}
}

func respHeader(err error) map[string][]string {
	var ue gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ue) {
		return ue.ResponseHeader
	}
	return nil
}

// addNode seeds a server on the private network.
func (e *env) addNode(t *testing.T, name, addr string) Server {
	t.Helper()
	sv, err := e.sim.AddServer(Server{Name: name, AZ: "zone-a",
		Addresses: map[string][]Address{"private": {{Addr: addr}}}})
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

func (e *env) networkByName(t *testing.T, name string) *Network {
	t.Helper()
	for _, n := range e.sim.Snapshot().Networks {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("network %s not found", name)
	return nil
}

func newServer(t *testing.T, s *Sim) string {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}
