package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// withoutCatalogTypes serves h but drops the given service types from the
// catalog of every issued token, as a cloud without Neutron or Octavia
// (or a project not entitled to them) would.
func withoutCatalogTypes(t *testing.T, h http.Handler, types ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/identity/v3/auth/tokens" {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var body map[string]map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["token"] == nil {
			t.Errorf("token response: %v: %s", err, rec.Body.String())
			return
		}
		entries, _ := body["token"]["catalog"].([]any)
		kept := entries[:0]
		for _, e := range entries {
			if m, _ := e.(map[string]any); !slices.Contains(types, fmt.Sprint(m["type"])) {
				kept = append(kept, e)
			}
		}
		body["token"]["catalog"] = kept
		out, _ := json.Marshal(body)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(out)
	})
}

func simConf(t *testing.T, url string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("cloud.conf", []byte(fmt.Sprintf("[Global]\nauth-url = %s/identity/v3\nusername = admin\npassword = secret\nuser-domain-name = Default\nproject-name = demo\nproject-domain-name = Default\nregion = RegionOne\n", url)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The CSI driver's services need neither Neutron nor Octavia in the
// catalog and send them nothing; the default (the CCM's) still requires
// the network endpoint.
func TestServicesSubset(t *testing.T) {
	sim, err := openstacksim.New(openstacksim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var paths []string
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		sim.Handler().ServeHTTP(w, r)
	})
	srv := httptest.NewServer(withoutCatalogTypes(t, record, "network", "load-balancer"))
	defer srv.Close()
	ctx := context.Background()
	cfg := simConf(t, srv.URL)

	c, err := New(ctx, cfg, Options{Services: CSIServices(), MaxRetries: -1})
	if err != nil {
		t.Fatalf("New(CSIServices) without network/load-balancer endpoints: %v", err)
	}
	if c.Compute == nil || c.BlockStorage == nil || c.Network != nil || c.LoadBalancer != nil || c.LoadBalancerErr != nil {
		t.Fatalf("clients = compute %v, block %v, network %v, lb %v (%v); want compute and block storage only",
			c.Compute != nil, c.BlockStorage != nil, c.Network != nil, c.LoadBalancer != nil, c.LoadBalancerErr)
	}
	mu.Lock()
	for _, p := range paths {
		if strings.Contains(p, "/network") || strings.Contains(p, "/load-balancer") {
			t.Errorf("request %s to a service the CSI driver does not use", p)
		}
	}
	mu.Unlock()
	if got := sim.Controls().Count("keystone.token_create"); got != 1 {
		t.Errorf("token_create = %d, want 1", got)
	}

	if _, err := New(ctx, cfg, Options{MaxRetries: -1}); err == nil || !strings.Contains(err.Error(), "no network endpoint") {
		t.Errorf("New(all services) without a network endpoint: err = %v, want the missing network endpoint", err)
	}
	if _, err := New(ctx, cfg, Options{Services: []Service{"dns"}, MaxRetries: -1}); err == nil || !strings.Contains(err.Error(), `unknown service "dns"`) {
		t.Errorf("unknown service: err = %v", err)
	}
}

// With every endpoint present, nil Services still builds all four clients.
func TestServicesDefaultAll(t *testing.T) {
	sim, err := openstacksim.New(openstacksim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c, err := New(context.Background(), simConf(t, srv.URL), Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if c.Compute == nil || c.BlockStorage == nil || c.Network == nil || c.LoadBalancer == nil {
		t.Fatalf("default clients: compute %v, block %v, network %v, lb %v (%v)",
			c.Compute != nil, c.BlockStorage != nil, c.Network != nil, c.LoadBalancer != nil, c.LoadBalancerErr)
	}
}
