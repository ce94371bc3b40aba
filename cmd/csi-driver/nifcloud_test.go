package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/kumo-project/kumo/pkg/cloudmetrics"
	"github.com/kumo-project/kumo/pkg/csi/driver"
)

// fakeAPIServer serves GET /api/v1/nodes/<name> with a zone label and
// counts every request.
func fakeAPIServer(t *testing.T, name, zone string) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/nodes/"+name {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"kind":"Node","apiVersion":"v1","metadata":{"name":%q,"labels":{"topology.kubernetes.io/zone":%q}}}`, name, zone)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func writeKubeconfig(t *testing.T, server string) string {
	p := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q}}]
users: [{name: u, user: {token: node-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`, server)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A node needs no credentials: its zone comes from its Node's label, and
// credentials that happen to be configured (even broken ones) are ignored.
func TestNIFCLOUDNodeZoneFromNodeLabel(t *testing.T) {
	srv, calls := fakeAPIServer(t, "node-a", "east-14")
	t.Setenv("NIFCLOUD_ZONE", "")
	t.Setenv("NIFCLOUD_ACCESS_KEY_ID", "AKIGNORED")
	t.Setenv("NIFCLOUD_SECRET_ACCESS_KEY", "")
	f := flags{mode: "node", nodeID: "node-a", kubeconfig: writeKubeconfig(t, srv.URL),
		cloudConfig: filepath.Join(t.TempDir(), "missing.conf")}
	var opts driver.Options
	if err := setupNIFCLOUD(context.Background(), f, cloudmetrics.New(), &opts); err != nil {
		t.Fatalf("node setup: %v", err)
	}
	if opts.Disks != nil {
		t.Fatal("node mode built a cloud backend")
	}
	for range 2 {
		z, err := opts.Identity.Zone(context.Background())
		if err != nil || z != "east-14" {
			t.Fatalf("Zone = %q, %v; want east-14", z, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d API server requests, want 1 (the zone is cached)", n)
	}
}

// --zone and NIFCLOUD_ZONE win without any API request.
func TestNIFCLOUDNodeZoneOverrides(t *testing.T) {
	srv, calls := fakeAPIServer(t, "node-a", "east-14")
	t.Setenv("NODE_NAME", "node-a")
	t.Setenv("NIFCLOUD_ZONE", "east-12")
	var opts driver.Options
	if err := setupNIFCLOUD(context.Background(), flags{mode: "node", kubeconfig: writeKubeconfig(t, srv.URL)}, cloudmetrics.New(), &opts); err != nil {
		t.Fatal(err)
	}
	if z, err := opts.Identity.Zone(context.Background()); err != nil || z != "east-12" {
		t.Fatalf("Zone = %q, %v; want east-12", z, err)
	}
	if err := setupNIFCLOUD(context.Background(), flags{mode: "node", zone: "east-13", nodeID: "n"}, cloudmetrics.New(), &opts); err != nil {
		t.Fatal(err)
	}
	if z, err := opts.Identity.Zone(context.Background()); err != nil || z != "east-13" {
		t.Fatalf("Zone = %q, %v; want east-13", z, err)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d API server requests, want none", n)
	}
}
