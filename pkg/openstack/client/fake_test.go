package client

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/openstack/config"
)

const (
	testUser     = "admin"
	testPassword = "Pa55w0rd-very-secret"
	testACID     = "appcred-1"
	testACSecret = "appcred-secret-XYZ"
)

// fakeCloud imitates Keystone v3 (POST /identity/v3/auth/tokens → 201 +
// X-Subject-Token + catalog pointing to itself) and service endpoints.
type fakeCloud struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	tokens     map[string]bool
	authBodies []map[string]any
	authCount  atomic.Int32
	noLB       bool
	// service handles every non-identity, non-discovery request.
	service func(w http.ResponseWriter, r *http.Request)
	// requests counts service requests by "METHOD path".
	requests map[string]int
	seen     []*http.Request
}

func newFakeCloud(t *testing.T, tlsServer bool) *fakeCloud {
	f := &fakeCloud{t: t, tokens: map[string]bool{}, requests: map[string]int{}}
	h := http.HandlerFunc(f.serve)
	if tlsServer {
		f.srv = httptest.NewTLSServer(h)
	} else {
		f.srv = httptest.NewServer(h)
	}
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeCloud) URL() string { return f.srv.URL }

func (f *fakeCloud) lastSeen() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[len(f.seen)-1]
}

func (f *fakeCloud) authBody(i int) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.authBodies[i]
}

func (f *fakeCloud) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[key]
}

// revokeAll invalidates every issued token (the next service call gets 401).
func (f *fakeCloud) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = map[string]bool{}
}

func (f *fakeCloud) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/identity/v3/auth/tokens" && r.Method == http.MethodPost:
		f.auth(w, r)
		return
	case r.URL.Path == "/network" || r.URL.Path == "/network/":
		writeJSON(w, 200, map[string]any{"versions": []any{map[string]any{"id": "v2.0", "status": "CURRENT"}}})
		return
	case r.URL.Path == "/load-balancer" || r.URL.Path == "/load-balancer/":
		writeJSON(w, 200, map[string]any{"versions": []any{
			map[string]any{"id": "v2.0", "status": "SUPPORTED"}, map[string]any{"id": "v2.27", "status": "CURRENT"}}})
		return
	}
	tok := r.Header.Get("X-Auth-Token")
	f.mu.Lock()
	valid := f.tokens[tok]
	f.requests[r.Method+" "+r.URL.Path]++
	f.seen = append(f.seen, r)
	svc := f.service
	f.mu.Unlock()
	if !valid {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"code": 401, "message": "The request you have made requires authentication."}})
		return
	}
	if svc != nil {
		svc(w, r)
		return
	}
	defaultService(w, r)
}

func defaultService(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/servers/detail"):
		writeJSON(w, 200, map[string]any{"servers": []any{map[string]any{"id": "srv-1", "name": "node-1", "status": "ACTIVE"}}})
	default:
		writeJSON(w, 404, map[string]any{"itemNotFound": map[string]any{"message": "not found"}})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeCloud) auth(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"message": err.Error()}})
		return
	}
	f.mu.Lock()
	f.authBodies = append(f.authBodies, body)
	f.mu.Unlock()
	identity, _ := dig(body, "auth", "identity").(map[string]any)
	ok := false
	if methods, _ := identity["methods"].([]any); len(methods) == 1 {
		switch methods[0] {
		case "password":
			user, _ := dig(identity, "password", "user").(map[string]any)
			ok = (user["name"] == testUser && dig(user, "domain", "name") == "Default" || user["id"] == "uid-1") && user["password"] == testPassword
		case "application_credential":
			ac, _ := identity["application_credential"].(map[string]any)
			ok = ac["id"] == testACID && ac["secret"] == testACSecret
		}
	}
	if !ok {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"code": 401, "message": "The request you have made requires authentication."}})
		return
	}
	n := f.authCount.Add(1)
	tok := fmt.Sprintf("gAAAAAtoken-%d-secretvalue", n)
	f.mu.Lock()
	f.tokens[tok] = true
	f.mu.Unlock()
	u := f.srv.URL
	ep := func(iface, url string) map[string]any {
		return map[string]any{"id": iface + url, "interface": iface, "region": "RegionOne", "region_id": "RegionOne", "url": url}
	}
	catalog := []any{
		map[string]any{"id": "1", "type": "identity", "name": "keystone", "endpoints": []any{ep("public", u+"/identity")}},
		map[string]any{"id": "2", "type": "compute", "name": "nova", "endpoints": []any{
			ep("public", u+"/compute/v2.1"), ep("internal", u+"/internal/compute/v2.1")}},
		map[string]any{"id": "3", "type": "network", "name": "neutron", "endpoints": []any{ep("public", u+"/network"), ep("internal", u+"/network")}},
		map[string]any{"id": "4", "type": "volumev3", "name": "cinderv3", "endpoints": []any{
			ep("public", u+"/volume/v3/proj-1"), ep("internal", u+"/volume/v3/proj-1")}},
	}
	if !f.noLB {
		catalog = append(catalog, map[string]any{"id": "5", "type": "load-balancer", "name": "octavia", "endpoints": []any{ep("public", u+"/load-balancer")}})
	}
	w.Header().Set("X-Subject-Token", tok)
	writeJSON(w, 201, map[string]any{"token": map[string]any{
		"expires_at": "2099-01-01T00:00:00.000000Z", "issued_at": "2024-01-01T00:00:00.000000Z",
		"methods": []string{"password"},
		"user":    map[string]any{"id": "uid-1", "name": testUser, "domain": map[string]any{"id": "default", "name": "Default"}},
		"project": map[string]any{"id": "proj-1", "name": "demo", "domain": map[string]any{"id": "default", "name": "Default"}},
		"roles":   []any{map[string]any{"id": "r", "name": "member"}},
		"catalog": catalog,
	}})
}

func dig(m any, keys ...string) any {
	for _, k := range keys {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[k]
	}
	return m
}

func (f *fakeCloud) passwordConf(extra string) *config.Config {
	f.t.Helper()
	conf := fmt.Sprintf("[Global]\nauth-url = %s/identity/v3\nusername = %s\npassword = %q\ndomain-name = Default\nproject-name = demo\nregion = RegionOne\n%s",
		f.URL(), testUser, testPassword, extra)
	c, err := config.Parse("cloud.conf", []byte(conf))
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// logBuffer captures everything klog writes (global and contextual loggers
// without a context logger) at -v=10.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var logs = &logBuffer{}

func init() {
	var fs flag.FlagSet
	klog.InitFlags(&fs)
	_ = fs.Set("v", "10")
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.MultiWriter(logs))
}
