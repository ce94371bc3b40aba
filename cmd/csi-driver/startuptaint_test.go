package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// taintAPIServer is a Node with the startup taint, its CSINode listing the
// driver, and a PATCH of the Node whose body it records.
func taintAPIServer(t *testing.T, node, driverName string) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var patches []string
	nodeJSON := `{"kind":"Node","apiVersion":"v1","metadata":{"name":"` + node + `"},"spec":{"taints":[{"key":"` + driverName + `/agent-not-ready","effect":"NoExecute"}]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/nodes/"+node:
			_, _ = io.WriteString(w, nodeJSON)
		case r.Method == http.MethodGet && r.URL.Path == "/apis/storage.k8s.io/v1/csinodes/"+node:
			_, _ = io.WriteString(w, `{"kind":"CSINode","apiVersion":"storage.k8s.io/v1","metadata":{"name":"`+node+`"},"spec":{"drivers":[{"name":"`+driverName+`","nodeID":"i-1"}]}}`)
		case r.Method == http.MethodPatch && r.URL.Path == "/api/v1/nodes/"+node:
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			patches = append(patches, r.Header.Get("Content-Type")+" "+string(body))
			mu.Unlock()
			_, _ = io.WriteString(w, `{"kind":"Node","apiVersion":"v1","metadata":{"name":"`+node+`"}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), patches...)
	}
}

func TestStartupTaintRemovedThroughKubeconfig(t *testing.T) {
	srv, patches := taintAPIServer(t, "node-a", "cinder.csi.openstack.org")
	t.Setenv("NODE_NAME", "node-a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := startStartupTaintRemover(ctx, flags{kubeconfig: writeKubeconfig(t, srv.URL)}, "cinder.csi.openstack.org"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(patches()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the Node was never patched")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p := patches()[0]
	ct, body, _ := strings.Cut(p, " ")
	if ct != "application/json-patch+json" {
		t.Errorf("patch content type %q, want a JSON patch", ct)
	}
	var ops []struct {
		Op    string            `json:"op"`
		Path  string            `json:"path"`
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(body), &ops); err != nil {
		t.Fatalf("patch %s: %v", body, err)
	}
	if len(ops) != 2 || ops[0].Op != "test" || len(ops[0].Value) != 1 || ops[1].Op != "replace" || ops[1].Path != "/spec/taints" || len(ops[1].Value) != 0 {
		t.Errorf("patch %s: want a test of the old taints and a replace with none", body)
	}
}

// --node-name wins over NODE_NAME; without either, or without API access,
// the plugin carries on; an unreadable --kubeconfig is an error naming it.
func TestStartupTaintWiringFallbacks(t *testing.T) {
	srv, patches := taintAPIServer(t, "node-b", "cinder.csi.openstack.org")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t.Setenv("NODE_NAME", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if err := startStartupTaintRemover(ctx, flags{kubeconfig: writeKubeconfig(t, srv.URL)}, "cinder.csi.openstack.org"); err != nil {
		t.Fatalf("no node name: %v", err)
	}
	if err := startStartupTaintRemover(ctx, flags{nodeName: "node-b"}, "cinder.csi.openstack.org"); err != nil {
		t.Fatalf("not in a cluster: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	err := startStartupTaintRemover(ctx, flags{nodeName: "node-b", kubeconfig: missing}, "cinder.csi.openstack.org")
	if err == nil || !strings.Contains(err.Error(), "--kubeconfig") {
		t.Fatalf("unreadable --kubeconfig: got %v, want an error naming --kubeconfig", err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(patches()); n != 0 {
		t.Fatalf("%d patches without a node name", n)
	}
	t.Setenv("NODE_NAME", "someone-else")
	if err := startStartupTaintRemover(ctx, flags{nodeName: "node-b", kubeconfig: writeKubeconfig(t, srv.URL)}, "cinder.csi.openstack.org"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(patches()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("--node-name's Node was never patched")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
