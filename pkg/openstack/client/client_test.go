package client

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudmetrics"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

var fastBackoff = &backoff.Policy{Initial: 10 * time.Millisecond, Factor: 2, Max: 50 * time.Millisecond}

func newClients(t *testing.T, f *fakeCloud, cfg *config.Config, opts Options) *Clients {
	t.Helper()
	if opts.RetryBackoff == nil {
		opts.RetryBackoff = fastBackoff
	}
	c, err := New(context.Background(), cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func listServers(ctx context.Context, c *Clients) ([]servers.Server, error) {
	pages, err := servers.List(c.Compute, nil).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	return servers.ExtractServers(pages)
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			return value(m)
		}
	}
	return 0
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func TestPasswordAuth(t *testing.T) {
	f := newFakeCloud(t, false)
	c := newClients(t, f, f.passwordConf(""), Options{})
	if got, want := c.Compute.Endpoint, f.URL()+"/compute/v2.1/"; got != want {
		t.Errorf("compute endpoint %q, want %q", got, want)
	}
	if got, want := c.Network.ResourceBase, f.URL()+"/network/v2.0/"; got != want {
		t.Errorf("network resource base %q, want %q", got, want)
	}
	if got, want := c.BlockStorage.Endpoint, f.URL()+"/volume/v3/proj-1/"; got != want {
		t.Errorf("block storage endpoint %q, want %q", got, want)
	}
	if c.LoadBalancer == nil || c.LoadBalancer.ResourceBase != f.URL()+"/load-balancer/v2.0/" {
		t.Errorf("load balancer client %+v", c.LoadBalancer)
	}
	body := f.authBody(0)
	if dig(body, "auth", "identity", "password", "user", "name") != testUser ||
		dig(body, "auth", "scope", "project", "name") != "demo" ||
		dig(body, "auth", "scope", "project", "domain", "name") != "Default" {
		t.Errorf("auth body %v", body)
	}
	srvs, err := listServers(context.Background(), c)
	if err != nil || len(srvs) != 1 || srvs[0].ID != "srv-1" {
		t.Fatalf("list servers: %v %v", srvs, err)
	}
	ua := f.lastSeen().Header.Get("User-Agent")
	if !strings.HasPrefix(ua, "kumo/") || !strings.Contains(ua, "gophercloud") {
		t.Errorf("User-Agent %q", ua)
	}
}

func TestApplicationCredentialAuth(t *testing.T) {
	f := newFakeCloud(t, false)
	cfg, err := config.Parse("cloud.conf", []byte("[Global]\nauth-url="+f.URL()+"/identity/v3\napplication-credential-id="+testACID+
		"\napplication-credential-secret="+testACSecret+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := newClients(t, f, cfg, Options{})
	if _, err := listServers(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	body := f.authBody(0)
	if dig(body, "auth", "scope") != nil {
		t.Errorf("application credentials must not send a scope: %v", body)
	}
	if m := dig(body, "auth", "identity", "methods").([]any); m[0] != "application_credential" {
		t.Errorf("methods %v", m)
	}
}

func TestWrongPassword(t *testing.T) {
	f := newFakeCloud(t, false)
	cfg := f.passwordConf("")
	cfg.Global.Password = "wrong"
	_, err := New(context.Background(), cfg, Options{RetryBackoff: fastBackoff})
	if err == nil {
		t.Fatal("no error with a wrong password")
	}
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) || ue.Actual != 401 {
		t.Errorf("err = %v (%T)", err, err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestReauthOn401(t *testing.T) {
	f := newFakeCloud(t, false)
	c := newClients(t, f, f.passwordConf(""), Options{})
	f.revokeAll()
	srvs, err := listServers(context.Background(), c)
	if err != nil || len(srvs) != 1 {
		t.Fatalf("after re-auth: %v %v", srvs, err)
	}
	if n := f.authCount.Load(); n != 2 {
		t.Errorf("auth count = %d, want 2", n)
	}
	if n := f.count("GET /compute/v2.1/servers/detail"); n != 2 {
		t.Errorf("server list requests = %d, want 2 (401 then OK)", n)
	}
}

func TestRetryAfter429(t *testing.T) {
	f := newFakeCloud(t, false)
	var calls atomic.Int32
	f.service = func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, map[string]any{"message": "slow down"})
			return
		}
		defaultService(w, r)
	}
	rec := cloudmetrics.New()
	reg := prometheus.NewRegistry()
	if err := rec.Register(reg); err != nil {
		t.Fatal(err)
	}
	c := newClients(t, f, f.passwordConf(""), Options{Metrics: rec})
	start := time.Now()
	if _, err := listServers(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("retried after %v, want >= 1s (Retry-After)", el)
	}
	if calls.Load() != 2 {
		t.Errorf("calls = %d", calls.Load())
	}
	lbl := map[string]string{"cloud": "openstack", "request": "server_list"}
	if v := metricValue(t, reg, "kumo_cloud_api_requests_total", lbl); v != 2 {
		t.Errorf("requests_total{server_list} = %v, want 2", v)
	}
	if v := metricValue(t, reg, "kumo_cloud_api_throttles_total", lbl); v != 1 {
		t.Errorf("throttles_total = %v, want 1", v)
	}
	if v := metricValue(t, reg, "kumo_cloud_api_retries_total", lbl); v != 1 {
		t.Errorf("retries_total = %v, want 1", v)
	}
	if v := metricValue(t, reg, "kumo_cloud_api_request_errors_total", map[string]string{"request": "server_list", "code": "429"}); v != 1 {
		t.Errorf("errors_total{429} = %v, want 1", v)
	}
	if v := metricValue(t, reg, "kumo_cloud_api_request_duration_seconds", lbl); v != 2 {
		t.Errorf("duration samples = %v, want 2", v)
	}
	if v := metricValue(t, reg, "kumo_cloud_api_requests_total", map[string]string{"request": "token_create"}); v != 1 {
		t.Errorf("token_create = %v, want 1", v)
	}
}

func TestRetry503AndBodyResent(t *testing.T) {
	f := newFakeCloud(t, false)
	var calls atomic.Int32
	var mu sync.Mutex
	var bodies []string
	f.service = func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if calls.Add(1) <= 2 {
			writeJSON(w, 503, map[string]any{"message": "unavailable"})
			return
		}
		writeJSON(w, 200, map[string]any{"server": map[string]any{"id": "srv-1", "name": "renamed"}})
	}
	c := newClients(t, f, f.passwordConf(""), Options{})
	name := "renamed"
	s, err := servers.Update(context.Background(), c.Compute, "srv-1", servers.UpdateOpts{Name: name}).Extract()
	if err != nil || s.Name != "renamed" {
		t.Fatalf("update: %v %v", s, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 3 {
		t.Fatalf("attempts = %d", len(bodies))
	}
	for i, b := range bodies {
		if !strings.Contains(b, `"name":"renamed"`) {
			t.Errorf("attempt %d body %q", i+1, b)
		}
	}
}

func TestServerErrorRetriedOnlyForIdempotentMethods(t *testing.T) {
	f := newFakeCloud(t, false)
	var gets, posts atomic.Int32
	f.service = func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			writeJSON(w, 500, map[string]any{"message": "boom"})
			return
		}
		if gets.Add(1) == 1 {
			writeJSON(w, 500, map[string]any{"message": "boom"})
			return
		}
		writeJSON(w, 200, map[string]any{"servers": []any{}})
	}
	c := newClients(t, f, f.passwordConf(""), Options{})
	if _, err := listServers(context.Background(), c); err != nil {
		t.Fatalf("GET after one 500: %v", err)
	}
	if gets.Load() != 2 {
		t.Errorf("GET attempts = %d, want 2", gets.Load())
	}
	// A POST's outcome after a 500 is unknown: repeating it could create
	// a second server, so the caller decides.
	_, err := servers.Create(context.Background(), c.Compute, servers.CreateOpts{Name: "x", FlavorRef: "1", ImageRef: "i"}, nil).Extract()
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) || ue.Actual != 500 || posts.Load() != 1 {
		t.Errorf("POST: err %v, attempts %d, want one 500", err, posts.Load())
	}
}

func TestNoRetryOn400(t *testing.T) {
	f := newFakeCloud(t, false)
	var calls atomic.Int32
	f.service = func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 400, map[string]any{"badRequest": map[string]any{"message": "bad"}})
	}
	c := newClients(t, f, f.passwordConf(""), Options{})
	_, err := listServers(context.Background(), c)
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) || ue.Actual != 400 {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 1 {
		t.Errorf("calls = %d, want 1", calls.Load())
	}
}

// hijackClose drops the TCP connection without answering.
func hijackClose(w http.ResponseWriter) {
	hj := w.(http.Hijacker)
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close() // dropping the connection is the point; nothing to report
	}
}

func TestConnectionErrors(t *testing.T) {
	f := newFakeCloud(t, false)
	var posts, gets atomic.Int32
	f.service = func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			posts.Add(1)
			hijackClose(w)
		case http.MethodGet:
			if gets.Add(1) == 1 {
				hijackClose(w)
				return
			}
			defaultService(w, r)
		}
	}
	c := newClients(t, f, f.passwordConf(""), Options{})
	_, err := servers.Create(context.Background(), c.Compute, servers.CreateOpts{Name: "x", FlavorRef: "f", ImageRef: "i"}, nil).Extract()
	if err == nil {
		t.Fatal("POST: no error on a dropped connection")
	}
	if posts.Load() != 1 {
		t.Errorf("POST attempts = %d, want 1 (not idempotent)", posts.Load())
	}
	if _, err := listServers(context.Background(), c); err != nil {
		t.Fatalf("GET after a dropped connection: %v", err)
	}
	if gets.Load() != 2 {
		t.Errorf("GET attempts = %d, want 2", gets.Load())
	}
}

func TestPOSTRetriedOn429(t *testing.T) {
	f := newFakeCloud(t, false)
	var posts atomic.Int32
	f.service = func(w http.ResponseWriter, r *http.Request) {
		if posts.Add(1) == 1 {
			w.Header().Set("Retry-After", time.Now().Add(-time.Second).UTC().Format(http.TimeFormat)) // date in the past: retry now
			writeJSON(w, 429, nil)
			return
		}
		writeJSON(w, 202, map[string]any{"server": map[string]any{"id": "new"}})
	}
	c := newClients(t, f, f.passwordConf(""), Options{})
	s, err := servers.Create(context.Background(), c.Compute, servers.CreateOpts{Name: "x", FlavorRef: "f", ImageRef: "i"}, nil).Extract()
	if err != nil || s.ID != "new" || posts.Load() != 2 {
		t.Fatalf("create: %v %v posts=%d", s, err, posts.Load())
	}
}

func TestRetriesExhausted(t *testing.T) {
	f := newFakeCloud(t, false)
	var calls atomic.Int32
	f.service = func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 503, nil)
	}
	c := newClients(t, f, f.passwordConf(""), Options{MaxRetries: 2})
	_, err := listServers(context.Background(), c)
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) || ue.Actual != 503 {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 3 {
		t.Errorf("calls = %d, want 3", calls.Load())
	}
	// Retry-After longer than the cap is not slept on.
	calls.Store(0)
	f.service = func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "3600")
		writeJSON(w, 429, nil)
	}
	start := time.Now()
	if _, err := listServers(context.Background(), c); err == nil {
		t.Fatal("no error")
	}
	if calls.Load() != 1 || time.Since(start) > 5*time.Second {
		t.Errorf("calls=%d after %v", calls.Load(), time.Since(start))
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	f := newFakeCloud(t, false)
	var calls atomic.Int32
	f.service = func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 503, nil)
	}
	c := newClients(t, f, f.passwordConf(""), Options{MaxRetries: 100,
		RetryBackoff: &backoff.Policy{Initial: 200 * time.Millisecond, Factor: 1, Max: 200 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := listServers(ctx, c)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v", el)
	}
	if n := calls.Load(); n < 2 || n > 4 {
		t.Errorf("calls = %d, want 2..4", n)
	}
}

func TestRateLimiter(t *testing.T) {
	f := newFakeCloud(t, false)
	c := newClients(t, f, f.passwordConf(""), Options{QPS: 10, Burst: 1})
	start := time.Now()
	for i := 0; i < 6; i++ {
		if _, err := listServers(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	// 6 requests at 10 QPS with burst 1: at least 5 gaps of 100ms.
	if el := time.Since(start); el < 450*time.Millisecond {
		t.Errorf("6 requests took %v, want >= 500ms", el)
	}
	// The limiter waits with the request context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := listServers(ctx, c); err == nil {
		t.Error("canceled context: no error")
	}
}

func TestAttemptTimeoutRetried(t *testing.T) {
	f := newFakeCloud(t, false)
	var calls atomic.Int32
	f.service = func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return
		}
		defaultService(w, r)
	}
	c := newClients(t, f, f.passwordConf(""), Options{HTTPTimeout: 200 * time.Millisecond})
	if _, err := listServers(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Errorf("calls = %d", calls.Load())
	}
}

func TestNoTokenOrPasswordInLogs(t *testing.T) {
	f := newFakeCloud(t, false)
	var calls atomic.Int32
	f.service = func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			writeJSON(w, 503, nil)
			return
		}
		defaultService(w, r)
	}
	start := len(logs.String())
	c := newClients(t, f, f.passwordConf(""), Options{})
	f.revokeAll()
	if _, err := listServers(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	cfgApp, _ := config.Parse("cloud.conf", []byte("[Global]\nauth-url="+f.URL()+"/identity/v3\napplication-credential-id="+testACID+
		"\napplication-credential-secret="+testACSecret+"\n"))
	newClients(t, f, cfgApp, Options{})
	out := logs.String()[start:]
	for _, s := range []string{"gAAAAAtoken", "secretvalue", testPassword, testACSecret, "X-Auth-Token", "X-Subject-Token"} {
		if strings.Contains(out, s) {
			t.Errorf("logs contain %q:\n%s", s, out)
		}
	}
	for _, s := range []string{`request="server_list"`, `request="token_create"`, `status=503`, `attempt=2`, "Retrying OpenStack API request"} {
		if !strings.Contains(out, s) {
			t.Errorf("logs lack %q:\n%s", s, out)
		}
	}
}

func TestEndpointSelection(t *testing.T) {
	f := newFakeCloud(t, false)
	f.noLB = true
	c := newClients(t, f, f.passwordConf("os-endpoint-type = internal\n"), Options{})
	if got, want := c.Compute.Endpoint, f.URL()+"/internal/compute/v2.1/"; got != want {
		t.Errorf("compute endpoint %q, want %q", got, want)
	}
	if c.LoadBalancer != nil || c.LoadBalancerErr != nil {
		t.Errorf("load balancer should be nil without error: %v %v", c.LoadBalancer, c.LoadBalancerErr)
	}
	_, err := New(context.Background(), f.passwordConf("os-endpoint-type = admin\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), `no compute endpoint with interface "admin"`) {
		t.Errorf("err = %v", err)
	}
	cfg := f.passwordConf("")
	cfg.Global.Region = "Nowhere"
	if _, err := New(context.Background(), cfg, Options{}); err == nil || !strings.Contains(err.Error(), `region "Nowhere"`) {
		t.Errorf("err = %v", err)
	}
}

func TestTLS(t *testing.T) {
	f := newFakeCloud(t, true)
	// Verification is on by default: the test CA is unknown.
	if _, err := New(context.Background(), f.passwordConf(""), Options{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("unknown CA: err = %v", err)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClients(t, f, f.passwordConf("ca-file = "+ca+"\n"), Options{})
	if _, err := listServers(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	start := len(logs.String())
	newClients(t, f, f.passwordConf("tls-insecure = true\n"), Options{})
	if !strings.Contains(logs.String()[start:], "tls-insecure=true") {
		t.Error("tls-insecure did not log a warning")
	}
	if _, err := New(context.Background(), f.passwordConf("ca-file = "+filepath.Join(dir, "nope")+"\n"), Options{}); err == nil {
		t.Error("missing ca-file: no error")
	}
}

func TestWithMicroversion(t *testing.T) {
	f := newFakeCloud(t, false)
	c := newClients(t, f, f.passwordConf(""), Options{})
	mv := WithMicroversion(c.Compute, "2.60")
	if c.Compute.Microversion != "" {
		t.Error("original client modified")
	}
	if _, err := servers.List(mv, nil).AllPages(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := f.lastSeen()
	if r.Header.Get("X-OpenStack-Nova-API-Version") != "2.60" {
		t.Errorf("headers %v", r.Header)
	}
}

func TestAuthOptions(t *testing.T) {
	g := &config.Global{AuthURL: "http://ks/v3", Username: "u", Password: "p", UserDomainName: "UD", DomainID: "d-id",
		ProjectName: "proj", ProjectDomainName: "PD"}
	ao := AuthOptions(g)
	if ao.Username != "u" || ao.DomainName != "UD" || ao.DomainID != "" || ao.Scope.ProjectName != "proj" || ao.Scope.DomainName != "PD" || !ao.AllowReauth {
		t.Errorf("%+v %+v", ao, ao.Scope)
	}
	g = &config.Global{AuthURL: "http://ks/v3", UserID: "uid", Password: "p", DomainName: "D", ProjectName: "proj"}
	ao = AuthOptions(g)
	if ao.UserID != "uid" || ao.DomainName != "" || ao.Scope.DomainName != "D" {
		t.Errorf("%+v %+v", ao, ao.Scope)
	}
	g = &config.Global{AuthURL: "http://ks/v3", TrustID: "t", TrusteeID: "tid", TrusteePassword: "tp", Username: "ignored", Password: "ignored"}
	ao = AuthOptions(g)
	if ao.UserID != "tid" || ao.Password != "tp" || ao.Scope.TrustID != "t" {
		t.Errorf("%+v %+v", ao, ao.Scope)
	}
	g = &config.Global{AuthURL: "http://ks/v3", ApplicationCredentialName: "n", Username: "u", UserDomainID: "ud", ApplicationCredentialSecret: "s", Password: "p"}
	ao = AuthOptions(g)
	if ao.ApplicationCredentialName != "n" || ao.DomainID != "ud" || ao.Password != "" || ao.Scope != nil {
		t.Errorf("%+v", ao)
	}
}
