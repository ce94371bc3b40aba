package client

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
)

// A 2xx answer carrying an OpenStack error envelope is an error (a 502
// with the body kept), retried like one for reads; a success body of the
// same size and a non-JSON body pass unchanged.
func TestErrorBodyIn2xxIsAnError(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case r.URL.Path == "/ok":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"loadbalancers": [], "error_count": 0}`)
		case r.URL.Path == "/html":
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, `{"error": "not JSON by its content type"}`)
		case r.URL.Path == "/flaky" && n%2 == 1:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"error": {"code": 500, "message": "boom", "title": "Internal"}}`)
		case r.URL.Path == "/flaky":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"volume": {"id": "v1"}}`)
		default:
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, ` {"NeutronError": {"type": "X", "message": "`+strings.Repeat("m", 2000)+`"}}`)
		}
	}))
	defer srv.Close()
	c := newHardenedClient(&Transport{MaxRetries: 3, Backoff: backoff.Policy{Initial: time.Millisecond, Max: time.Millisecond, Factor: 1}})
	get := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := get(http.MethodGet, "/ok"); code != http.StatusOK || body != `{"loadbalancers": [], "error_count": 0}` {
		t.Errorf("success body: %d %q", code, body)
	}
	if code, _ := get(http.MethodGet, "/html"); code != http.StatusOK {
		t.Errorf("non-JSON body: got %d, want 200 (left to the decoder)", code)
	}
	if code, body := get(http.MethodPost, "/create"); code != http.StatusBadGateway || !strings.Contains(body, "NeutronError") {
		t.Errorf("POST with an error body in a 201: got %d %.60q, want 502 with the (excerpted) body", code, body)
	}
	calls.Store(0)
	if code, body := get(http.MethodGet, "/flaky"); code != http.StatusOK || body != `{"volume": {"id": "v1"}}` || calls.Load() != 2 {
		t.Errorf("GET with an error body in a 200 then a good answer: got %d %q after %d calls, want 200 after 2", code, body, calls.Load())
	}
}
