package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kumo-project/kumo/pkg/cloudmetrics"
	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/csi/driver"
)

// simPassword is the simulator user's password; no log may show it.
const simPassword = "s3cr3t-Pa55-kumo"

// startSim serves an OpenStack simulator over real HTTP; the catalog of
// its tokens lacks the given service types.
func startSim(t *testing.T, dropTypes ...string) (*openstacksim.Sim, *httptest.Server) {
	t.Helper()
	sim, err := openstacksim.New(openstacksim.Options{Users: []openstacksim.User{{ID: "u-admin", Name: "admin", Password: simPassword}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(withoutCatalogTypes(t, sim.Handler(), dropTypes...))
	t.Cleanup(srv.Close)
	return sim, srv
}

// writeCloudConf writes a password cloud.conf for the simulator at url.
func writeCloudConf(t *testing.T, url, extra string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cloud.conf")
	conf := fmt.Sprintf("[Global]\nauth-url = %s/identity/v3\nusername = admin\npassword = %s\nuser-domain-name = Default\nproject-name = demo\nproject-domain-name = Default\nregion = RegionOne\n%s", url, simPassword, extra)
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// withoutCatalogTypes drops service types from the catalog of every
// token h issues, as a cloud without Neutron or Octavia would.
func withoutCatalogTypes(t *testing.T, h http.Handler, types ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(types) == 0 || r.Method != http.MethodPost || r.URL.Path != "/identity/v3/auth/tokens" {
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

// The controller starts on a cloud whose catalog has no Neutron or
// Octavia endpoint, and start-up sends neither a request.
func TestOpenStackControllerNeedsNoNetworkOrLoadBalancer(t *testing.T) {
	for _, drop := range [][]string{nil, {"network", "load-balancer"}} {
		t.Run(fmt.Sprintf("without%v", drop), func(t *testing.T) {
			sim, srv := startSim(t, drop...)
			f := flags{mode: "controller", cloudConfig: writeCloudConf(t, srv.URL, "")}
			var opts driver.Options
			if err := setupOpenStack(context.Background(), f, cloudmetrics.New(), &opts); err != nil {
				t.Fatalf("controller setup: %v", err)
			}
			if opts.Disks == nil {
				t.Fatal("no Cinder backend")
			}
			counts := sim.Controls().Counts()
			for action, n := range counts {
				if strings.HasPrefix(action, "neutron.") || strings.HasPrefix(action, "octavia.") {
					t.Errorf("start-up sent %d %s requests", n, action)
				}
			}
			if counts["keystone.token_create"] != 1 {
				t.Errorf("counts = %v, want one token_create", counts)
			}
		})
	}
}

// [BlockStorage] rescan-on-resize reaches the node's driver options, and
// the Cinder finder can rescan, so the driver accepts it.
func TestOpenStackRescanOnResize(t *testing.T) {
	for conf, want := range map[string]bool{"": false, "[BlockStorage]\nrescan-on-resize = true\n": true} {
		f := flags{mode: "node", nodeID: "i-1", zone: "nova", deviceRoot: t.TempDir(),
			cloudConfig: writeCloudConf(t, "http://127.0.0.1:1", conf), endpoint: "unix://" + filepath.Join(t.TempDir(), "csi.sock")}
		opts := driver.Options{Mode: driver.ModeNode, Endpoint: f.endpoint, KubeletRootDir: t.TempDir()}
		if err := setupOpenStack(context.Background(), f, cloudmetrics.New(), &opts); err != nil {
			t.Fatalf("node setup: %v", err)
		}
		if opts.RescanOnResize != want {
			t.Errorf("cloud.conf %q: RescanOnResize = %v, want %v", conf, opts.RescanOnResize, want)
		}
		if _, err := driver.New(opts); err != nil {
			t.Errorf("cloud.conf %q: driver.New: %v", conf, err)
		}
	}
}
