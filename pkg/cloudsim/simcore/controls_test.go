package simcore

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFaultInjectionRatesAndActionFilter(t *testing.T) {
	c := NewControls()
	c.SetFaults(FaultConfig{ErrorRate: 0.2, ThrottleRate: 0.1, Actions: []string{"CreateVolume"}, Seed: 42})
	got := map[Fault]int{}
	for i := 0; i < 5000; i++ {
		f, _ := c.Begin(context.Background(), "CreateVolume")
		got[f]++
		if f2, _ := c.Begin(context.Background(), "DescribeVolumes"); f2 != FaultNone {
			t.Fatalf("fault %v injected into an action outside the filter", f2)
		}
	}
	if e := float64(got[FaultError]) / 5000; e < 0.17 || e > 0.23 {
		t.Errorf("error rate %.3f, want about 0.2", e)
	}
	if th := float64(got[FaultThrottle]) / 5000; th < 0.08 || th > 0.12 {
		t.Errorf("throttle rate %.3f, want about 0.1", th)
	}
	if n := c.Count("CreateVolume"); n != 5000 {
		t.Errorf("counter = %d, want 5000", n)
	}
	if hit := c.FaultsInjected()["error:CreateVolume"]; hit != int64(got[FaultError]) {
		t.Errorf("faults injected counter %d, want %d", hit, got[FaultError])
	}
}

func TestLatencyAndTimeoutRespectContext(t *testing.T) {
	c := NewControls()
	c.SetLatency(LatencyConfig{Calls: map[string]time.Duration{"*": 30 * time.Millisecond, "Fast": 0}})
	start := time.Now()
	c.Begin(context.Background(), "Slow")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("default latency not applied: %v", d)
	}
	start = time.Now()
	c.Begin(context.Background(), "Fast")
	if d := time.Since(start); d > 20*time.Millisecond {
		t.Errorf("per-action override not applied: %v", d)
	}
	c.SetLatency(LatencyConfig{})
	c.SetFaults(FaultConfig{TimeoutRate: 1, Timeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if f, _ := c.Begin(ctx, "X"); f != FaultTimeout {
		t.Fatalf("fault = %v, want timeout", f)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("timeout fault ignored the request context: %v", d)
	}
}

func TestAdminAPIOverHTTP(t *testing.T) {
	c := NewControls()
	srv := httptest.NewServer(AdminHandler("/_sim/x/", c))
	defer srv.Close()
	c.Begin(context.Background(), "A")
	c.Begin(context.Background(), "A")

	var counters struct{ Calls map[string]int64 }
	resp, err := http.Get(srv.URL + "/_sim/x/counters")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&counters)
	_ = resp.Body.Close() // read-only body, already decoded
	if err != nil {
		t.Fatalf("decode counters: %v", err)
	}
	if counters.Calls["A"] != 2 {
		t.Fatalf("counters over HTTP = %v", counters.Calls)
	}
	// status sends a request and returns its status code; bodies are not needed.
	status := func(method, path, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		_ = resp.Body.Close() // read-only body, never read
		return resp.StatusCode
	}
	if got := status(http.MethodPut, "/_sim/x/faults", `{"errorRate":0.5,"retryAfter":2000000000}`); got != http.StatusOK {
		t.Fatalf("PUT faults: status %d", got)
	}
	if f := c.Faults(); f.ErrorRate != 0.5 || f.RetryAfter != 2*time.Second {
		t.Fatalf("faults not applied: %+v", f)
	}
	if got := status(http.MethodPut, "/_sim/x/faults", `{bad`); got != http.StatusBadRequest {
		t.Fatalf("bad JSON accepted: status %d", got)
	}
	if got := status(http.MethodPost, "/_sim/x/counters/reset", ""); got != http.StatusNoContent {
		t.Fatalf("reset: status %d", got)
	}
	if len(c.Counts()) != 0 {
		t.Fatal("counters not reset")
	}
}

func TestStoreRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := NewStore(path)
	type state struct{ Volumes map[string]int }
	var empty state
	if ok, err := s.Load(&empty); ok || err != nil {
		t.Fatalf("load of missing file: %v %v", ok, err)
	}
	if err := s.Save(state{Volumes: map[string]int{"v1": 100}}); err != nil {
		t.Fatal(err)
	}
	var got state
	if ok, err := NewStore(path).Load(&got); !ok || err != nil || got.Volumes["v1"] != 100 {
		t.Fatalf("reload: %v %v %+v", ok, err, got)
	}
	if NewStore("").Enabled() {
		t.Fatal("empty path must disable persistence")
	}
}
