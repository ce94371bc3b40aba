package client

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kumo-project/kumo/pkg/cloudmetrics"
	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// TestSimulatorIntegration authenticates through New() with a cloud.conf
// against the OpenStack simulator and lists every resource kind kumo uses.
func TestSimulatorIntegration(t *testing.T) {
	sim, err := openstacksim.New(openstacksim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()

	conf := openstacksim.CloudConf(srv.URL) + `
[LoadBalancer]
lb-provider = amphora

[BlockStorage]
node-volume-attach-limit = 64
`
	cfg, err := config.Parse("cloud.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	rec := cloudmetrics.New()
	reg := prometheus.NewRegistry()
	if err := rec.Register(reg); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := New(ctx, cfg, Options{Metrics: rec, QPS: 100, Burst: 20})
	if err != nil {
		t.Fatalf("New against the simulator: %v", err)
	}
	if c.LoadBalancer == nil {
		t.Fatalf("simulator catalog has no usable load-balancer endpoint: %v", c.LoadBalancerErr)
	}

	pages, err := servers.List(c.Compute, nil).AllPages(ctx)
	if err != nil {
		t.Fatalf("servers: %v", err)
	}
	srvs, err := servers.ExtractServers(pages)
	if err != nil {
		t.Fatalf("servers: %v", err)
	}
	t.Logf("servers: %d", len(srvs))

	vol, err := volumes.Create(ctx, c.BlockStorage, volumes.CreateOpts{Size: 1, Name: "kumo-it"}, nil).Extract()
	if err != nil {
		t.Fatalf("volume create: %v", err)
	}
	vpages, err := volumes.List(c.BlockStorage, volumes.ListOpts{Name: "kumo-it"}).AllPages(ctx)
	if err != nil {
		t.Fatalf("volumes: %v", err)
	}
	vols, err := volumes.ExtractVolumes(vpages)
	if err != nil || len(vols) != 1 || vols[0].ID != vol.ID {
		t.Fatalf("volumes = %+v, %v", vols, err)
	}

	npages, err := networks.List(c.Network, nil).AllPages(ctx)
	if err != nil {
		t.Fatalf("networks: %v", err)
	}
	nets, err := networks.ExtractNetworks(npages)
	if err != nil || len(nets) == 0 {
		t.Fatalf("networks = %+v, %v", nets, err)
	}
	names := map[string]bool{}
	for _, n := range nets {
		names[n.Name] = true
	}
	if !names["public"] || !names["private"] {
		t.Errorf("networks %v, want public and private", names)
	}

	lpages, err := loadbalancers.List(c.LoadBalancer, nil).AllPages(ctx)
	if err != nil {
		t.Fatalf("loadbalancers: %v", err)
	}
	if _, err := loadbalancers.ExtractLoadBalancers(lpages); err != nil {
		t.Fatalf("loadbalancers: %v", err)
	}

	for _, req := range []string{"token_create", "server_list", "volume_create", "volume_list", "network_list", "loadbalancer_list"} {
		if v := metricValue(t, reg, "kumo_cloud_api_requests_total", map[string]string{"request": req}); v < 1 {
			t.Errorf("no %s request recorded", req)
		}
	}
}

type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestSimulatorAppCredentialAndReauth uses an application credential and
// checks that an expired token is renewed transparently (401 → re-auth).
func TestSimulatorAppCredentialAndReauth(t *testing.T) {
	clock := &simClock{now: time.Now()}
	sim, err := openstacksim.New(openstacksim.Options{
		Users:          []openstacksim.User{{ID: "u-admin", Name: "admin", Password: "secret"}},
		AppCredentials: []openstacksim.AppCredential{{ID: "ac-1", Name: "kumo", Secret: "ac-secret", UserID: "u-admin"}},
		TokenTTL:       time.Hour,
		Now:            clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	ctx := context.Background()

	bad, _ := config.Parse("cloud.conf", []byte("[Global]\nauth-url="+srv.URL+"/identity/v3\napplication-credential-id=ac-1\napplication-credential-secret=wrong\n"))
	if _, err := New(ctx, bad, Options{}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong secret: err = %v", err)
	}

	cfg, err := config.Parse("cloud.conf", []byte("[Global]\nauth-url="+srv.URL+"/identity/v3\napplication-credential-id=ac-1\napplication-credential-secret=ac-secret\n"))
	if err != nil {
		t.Fatal(err)
	}
	rec := cloudmetrics.New()
	reg := prometheus.NewRegistry()
	_ = rec.Register(reg)
	c, err := New(ctx, cfg, Options{Metrics: rec})
	if err != nil {
		t.Fatalf("New with application credential: %v", err)
	}
	if _, err := networks.List(c.Network, nil).AllPages(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour) // token expired
	if _, err := volumes.List(c.BlockStorage, nil).AllPages(ctx); err != nil {
		t.Fatalf("after token expiry: %v", err)
	}
	if v := metricValue(t, reg, "kumo_cloud_api_requests_total", map[string]string{"request": "token_create"}); v != 2 {
		t.Errorf("token_create = %v, want 2 (initial + re-auth)", v)
	}
	if v := metricValue(t, reg, "kumo_cloud_api_request_errors_total", map[string]string{"request": "volume_list", "code": "401"}); v != 1 {
		t.Errorf("volume_list 401 errors = %v, want 1", v)
	}
}
