package simcore

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func hostileServer(t *testing.T, d Dialect, h HostileConfig) (*httptest.Server, *Controls) {
	t.Helper()
	c := NewControls()
	c.SetHostile(h)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux := http.NewServeMux()
	mux.Handle("/_sim/", AdminHandler("/_sim/", c))
	mux.Handle("/", ok)
	srv := httptest.NewServer(HostileMiddleware(c, d, "/_sim/", mux))
	t.Cleanup(srv.Close)
	return srv, c
}

func post(t *testing.T, url, body string, hdr map[string]string) (*http.Response, error) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return http.DefaultClient.Do(req)
}

func TestHostileEchoCarriesSecrets(t *testing.T) {
	for _, d := range []Dialect{DialectNIFCLOUD, DialectOpenStack} {
		srv, c := hostileServer(t, d, HostileConfig{Rates: map[string]float64{HostileEcho: 1}})
		resp, err := post(t, srv.URL+"/api/", "Action=DescribeVolumes&AccessKeyId=AK&Signature=SIG", map[string]string{"X-Auth-Token": "TOK"})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close() // read-only body
		for _, want := range []string{"AccessKeyId=AK", "Signature=SIG", "X-Auth-Token: TOK"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("dialect %d: echo body lacks %q: %s", d, want, b)
			}
		}
		key := "echo:DescribeVolumes" // OpenStack calls are keyed by method and path
		if d == DialectOpenStack {
			key = "echo:POST /api/"
		}
		if resp.StatusCode != http.StatusBadRequest || c.FaultsInjected()[key] != 1 {
			t.Errorf("status %d counters %v", resp.StatusCode, c.FaultsInjected())
		}
	}
}

func TestHostileSelectionAndAdminBypass(t *testing.T) {
	srv, c := hostileServer(t, DialectNIFCLOUD, HostileConfig{Rates: map[string]float64{HostileError200: 1}, Actions: []string{"CreateVolume"}})
	resp, _ := post(t, srv.URL+"/api/", "Action=DescribeVolumes", nil)
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "ok" {
		t.Fatalf("unselected action got %q", b)
	}
	resp, _ = post(t, srv.URL+"/api/", "Action=CreateVolume", nil)
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<Errors>") {
		t.Fatalf("error200: %d %s", resp.StatusCode, b)
	}
	// The admin API is never hostile, so the fault can be turned off.
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/_sim/hostile", strings.NewReader(`{}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin PUT: %v", err)
	}
	if len(c.Hostile().Rates) != 0 {
		t.Fatal("admin PUT did not clear the config")
	}
}

func TestHostileError200OpenStackAndNonJSON(t *testing.T) {
	srv, _ := hostileServer(t, DialectOpenStack, HostileConfig{Rates: map[string]float64{HostileError200: 1}})
	resp, _ := http.Get(srv.URL + "/v3/volumes")
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"error"`) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	srv, _ = hostileServer(t, DialectOpenStack, HostileConfig{Rates: map[string]float64{HostileNonJSON: 1}})
	resp, _ = http.Get(srv.URL + "/v3/volumes")
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "<html>") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

func TestHostileHugeIsStreamed(t *testing.T) {
	srv, _ := hostileServer(t, DialectOpenStack, HostileConfig{Rates: map[string]float64{HostileHuge: 1}, HugeBytes: 10 << 20})
	resp, err := http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != 10<<20 {
		t.Fatalf("read %d bytes, err %v", n, err)
	}
}

func TestHostileTruncateFailsRead(t *testing.T) {
	srv, _ := hostileServer(t, DialectNIFCLOUD, HostileConfig{Rates: map[string]float64{HostileTruncate: 1}})
	resp, err := http.Get(srv.URL + "/api/?Action=X")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("truncated body read without error")
	}
}

func TestHostileRedirectPointsElsewhere(t *testing.T) {
	var sawToken atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawToken.Store(r.Header.Get("X-Auth-Token") != "")
	}))
	defer other.Close()
	srv, _ := hostileServer(t, DialectOpenStack, HostileConfig{Rates: map[string]float64{HostileRedirect: 1}, RedirectTo: other.URL})
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(srv.URL + "/v3/volumes?x=1")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != other.URL+"/v3/volumes?x=1" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if sawToken.Load() {
		t.Fatal("other host contacted")
	}
}

func TestHostileSlowlorisTrickles(t *testing.T) {
	srv, _ := hostileServer(t, DialectOpenStack, HostileConfig{Rates: map[string]float64{HostileSlowloris: 1}, SlowInterval: 50 * time.Millisecond, SlowBytes: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err) // headers arrive at once
	}
	start := time.Now()
	b, err := io.ReadAll(resp.Body)
	if err == nil || len(b) >= 100 || time.Since(start) > 2*time.Second {
		t.Fatalf("read %d bytes err %v in %v", len(b), err, time.Since(start))
	}
}
