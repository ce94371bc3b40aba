package nifcloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudmetrics"
	"github.com/kumo-project/kumo/pkg/nifcloud/signer"
)

const (
	testAccessKey = "AKIDTESTKEY0001"
	testSecret    = "s3cr3t-DO-NOT-LEAK-9f8e7d"
)

// fakeAPI is an httptest server that verifies the signature of every
// request and answers with the next scripted response.
type fakeAPI struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	forms   []url.Values
	respond func(n int, form url.Values, w http.ResponseWriter)
	calls   atomic.Int32
}

func newFakeAPI(t *testing.T, respond func(n int, form url.Values, w http.ResponseWriter)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(f.calls.Add(1))
		if r.Method != http.MethodPost || r.URL.Path != "/api/" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			t.Errorf("Content-Type = %q", ct)
		}
		if err := r.ParseForm(); err != nil {
			t.Errorf("ParseForm: %v", err)
		}
		lookup := func(ak string) (string, bool) { return testSecret, ak == testAccessKey }
		if err := signer.Verify(r.PostForm, r.Method, r.Host, r.URL.Path, lookup); err != nil {
			t.Errorf("request %d: signature: %v", n, err)
		}
		f.mu.Lock()
		f.forms = append(f.forms, r.PostForm)
		f.mu.Unlock()
		f.respond(n, r.PostForm, w)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) form(i int) url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.forms[i]
}

func testConfig(endpoint string) Config {
	return Config{
		Region:          "jp-east-1",
		Endpoint:        endpoint + "/api/",
		AccessKeyID:     testAccessKey,
		SecretAccessKey: testSecret,
		Retry:           backoff.Policy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Factor: 2},
		MaxAttempts:     4,
		QPS:             -1,
		Timeout:         2 * time.Second,
	}
}

func newTestClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeError(w http.ResponseWriter, status int, code string) {
	w.WriteHeader(status)
	reply(w, fmt.Sprintf(`<Response><Errors><Error><Code>%s</Code><Message>msg for %s</Message></Error></Errors><RequestID>req-%d</RequestID></Response>`, code, code, status))
}

// reply writes a fake response body. A failed write needs no handling here:
// the client under test sees it as a transport error and the test fails there.
func reply(w io.Writer, body string) { _, _ = io.WriteString(w, body) }

const okVolumes = `<DescribeVolumesResponse xmlns="https://computing.api.nifcloud.com/api/"><requestId>ok-1</requestId><volumeSet><item><volumeId>v1</volumeId><size>200</size><status>available</status></item></volumeSet></DescribeVolumesResponse>`

func TestRetryAfter5xxThenSuccess(t *testing.T) {
	api := newFakeAPI(t, func(n int, form url.Values, w http.ResponseWriter) {
		if n == 1 {
			writeError(w, http.StatusServiceUnavailable, "Server.Unavailable")
			return
		}
		if n == 2 {
			w.WriteHeader(http.StatusInternalServerError) // no body at all
			return
		}
		reply(w, okVolumes)
	})
	reg := prometheus.NewRegistry()
	rec := cloudmetrics.New()
	if err := rec.Register(reg); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(api.srv.URL)
	cfg.Metrics = rec
	c := newTestClient(t, cfg)
	out, err := c.DescribeVolumes(context.Background(), &DescribeVolumesInput{VolumeIDs: []string{"v1", "v2"}})
	if err != nil {
		t.Fatalf("DescribeVolumes: %v", err)
	}
	if api.calls.Load() != 3 {
		t.Errorf("calls = %d, want 3", api.calls.Load())
	}
	if len(out.Volumes) != 1 || out.Volumes[0].Size != 200 || out.RequestID != "ok-1" {
		t.Errorf("out = %+v", out)
	}
	for i := 0; i < 3; i++ {
		f := api.form(i)
		if f.Get("Action") != "DescribeVolumes" || f.Get("Version") != "3.0" || f.Get("VolumeId.1") != "v1" || f.Get("VolumeId.2") != "v2" {
			t.Errorf("attempt %d form = %v", i+1, f)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if got := metricValue(mfs, "kumo_cloud_api_requests_total", map[string]string{"cloud": "nifcloud", "request": "DescribeVolumes"}); got != 3 {
		t.Errorf("requests_total = %v, want 3", got)
	}
	if got := metricValue(mfs, "kumo_cloud_api_retries_total", map[string]string{"request": "DescribeVolumes"}); got != 2 {
		t.Errorf("retries_total = %v, want 2", got)
	}
	if got := metricValue(mfs, "kumo_cloud_api_request_errors_total", map[string]string{"code": "http_500"}); got != 1 {
		t.Errorf("errors_total{http_500} = %v, want 1", got)
	}
	if got := metricValue(mfs, "kumo_cloud_api_throttles_total", map[string]string{"request": "DescribeVolumes"}); got != 1 {
		t.Errorf("throttles_total = %v, want 1 (the 503)", got)
	}
}

func metricValue(mfs []*dto.MetricFamily, name string, labels map[string]string) float64 {
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			if m.Counter != nil {
				sum += m.Counter.GetValue()
			}
		}
	}
	return sum
}

func TestNoRetryOnClientError(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusInternalServerError} {
		api := newFakeAPI(t, func(n int, form url.Values, w http.ResponseWriter) {
			writeError(w, status, CodeVolumeNotFound)
		})
		c := newTestClient(t, testConfig(api.srv.URL))
		_, err := c.DescribeVolumes(context.Background(), &DescribeVolumesInput{VolumeIDs: []string{"nope"}})
		if !IsNotFound(err) || !IsCode(err, CodeVolumeNotFound) {
			t.Fatalf("status %d: err = %v", status, err)
		}
		apiErr, _ := AsAPIError(err)
		if apiErr.HTTPStatus != status || apiErr.Action != "DescribeVolumes" || apiErr.RequestID == "" {
			t.Errorf("apiErr = %+v", apiErr)
		}
		if api.calls.Load() != 1 {
			t.Errorf("status %d: calls = %d, want 1 (no retry on Client.*)", status, api.calls.Load())
		}
	}
}

func TestRetriesExhausted(t *testing.T) {
	api := newFakeAPI(t, func(n int, form url.Values, w http.ResponseWriter) {
		writeError(w, http.StatusInternalServerError, "Server.InternalError")
	})
	c := newTestClient(t, testConfig(api.srv.URL))
	_, err := c.DeleteVolume(context.Background(), "v1")
	if !IsCode(err, "Server.InternalError") || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Fatalf("err = %v", err)
	}
	if api.calls.Load() != 4 {
		t.Errorf("calls = %d, want MaxAttempts=4", api.calls.Load())
	}
}

func TestThrottlingHonoursRetryAfter(t *testing.T) {
	var first, second time.Time
	api := newFakeAPI(t, func(n int, form url.Values, w http.ResponseWriter) {
		if n == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, CodeServerThrottling)
			return
		}
		second = time.Now()
		reply(w, `<DeleteVolumeResponse><requestId>r</requestId><return>true</return></DeleteVolumeResponse>`)
	})
	c := newTestClient(t, testConfig(api.srv.URL))
	out, err := c.DeleteVolume(context.Background(), "v1")
	if err != nil || !out.Return {
		t.Fatalf("DeleteVolume = %+v, %v", out, err)
	}
	if gap := second.Sub(first); gap < 900*time.Millisecond {
		t.Errorf("retry after %v, want >= 1s (Retry-After)", gap)
	}
	// Each attempt is signed afresh: the second form carries its own
	// Signature over its own Timestamp (verified by the fake server).
	if api.form(1).Get(signer.KeySignature) == "" || api.form(1).Get(signer.KeyTimestamp) == "" {
		t.Errorf("second attempt not signed: %v", api.form(1))
	}
}

func TestThrottlingCodeRetried(t *testing.T) {
	api := newFakeAPI(t, func(n int, form url.Values, w http.ResponseWriter) {
		if n < 3 {
			writeError(w, http.StatusBadRequest, "Client.RequestLimitExceeded")
			return
		}
		reply(w, okVolumes)
	})
	c := newTestClient(t, testConfig(api.srv.URL))
	if _, err := c.DescribeVolumes(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if api.calls.Load() != 3 {
		t.Errorf("calls = %d, want 3", api.calls.Load())
	}
}

func TestContextCancellationStopsRetries(t *testing.T) {
	api := newFakeAPI(t, func(n int, form url.Values, w http.ResponseWriter) {
		writeError(w, http.StatusServiceUnavailable, "Server.Unavailable")
	})
	cfg := testConfig(api.srv.URL)
	cfg.Retry = backoff.Policy{Initial: 10 * time.Second, Max: 10 * time.Second}
	cfg.MaxAttempts = 10
	c := newTestClient(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.DescribeVolumes(ctx, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	// The last attempt's error (a 503) stays visible in the chain.
	if !IsThrottling(err) {
		t.Errorf("last attempt error lost: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v, cancellation did not stop the backoff sleep", d)
	}
	if api.calls.Load() != 1 {
		t.Errorf("calls = %d, want 1", api.calls.Load())
	}

	// An already-cancelled context sends nothing.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	cfg.QPS = 1 // the limiter wait also observes ctx
	c2 := newTestClient(t, cfg)
	if _, err := c2.DescribeVolumes(ctx2, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: err = %v", err)
	}
	if api.calls.Load() != 1 {
		t.Errorf("calls after cancelled ctx = %d, want still 1", api.calls.Load())
	}
}

func TestPerAttemptTimeoutAndNetworkErrorsRetried(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	api := newFakeAPI(t, func(n int, form url.Values, w http.ResponseWriter) {
		switch n {
		case 1: // hang past the per-attempt timeout
			select {
			case <-block:
			case <-time.After(3 * time.Second):
			}
		case 2: // drop the connection without answering
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("no hijacker")
				return
			}
			conn, _, err := hj.Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			_ = conn.Close() // dropping the connection is the point; nothing to report
		default:
			reply(w, okVolumes)
		}
	})
	cfg := testConfig(api.srv.URL)
	cfg.Timeout = 150 * time.Millisecond
	c := newTestClient(t, cfg)
	if _, err := c.DescribeVolumes(context.Background(), nil); err != nil {
		t.Fatalf("err = %v", err)
	}
	if api.calls.Load() != 3 {
		t.Errorf("calls = %d, want 3", api.calls.Load())
	}

	// Connection refused: retried, then reported as a retryable transport error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	cfg = testConfig("http://" + addr)
	cfg.MaxAttempts = 2
	c = newTestClient(t, cfg)
	_, err = c.DescribeVolumes(context.Background(), nil)
	if err == nil || !IsRetryable(err) {
		t.Fatalf("refused: err = %v", err)
	}
	if _, ok := AsAPIError(err); ok {
		t.Errorf("transport failure must not be an APIError: %v", err)
	}
}

func TestRateLimiter(t *testing.T) {
	api := newFakeAPI(t, func(n int, form url.Values, w http.ResponseWriter) { reply(w, okVolumes) })
	cfg := testConfig(api.srv.URL)
	cfg.QPS, cfg.Burst = 10, 1
	c := newTestClient(t, cfg)
	start := time.Now()
	for i := 0; i < 5; i++ {
		if _, err := c.DescribeVolumes(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Burst 1 at 10 QPS: 4 waits of 100ms after the first call.
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Errorf("5 calls took %v, want >= ~400ms at 10 QPS burst 1", d)
	}
	// A context ending while waiting for a token stops the call.
	cfg.QPS, cfg.Burst = 0.1, 1
	c = newTestClient(t, cfg)
	if _, err := c.DescribeVolumes(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	before := api.calls.Load()
	if _, err := c.DescribeVolumes(ctx, nil); err == nil {
		t.Fatal("want an error when the limiter cannot grant a token before the deadline")
	}
	if api.calls.Load() != before {
		t.Errorf("a request was sent despite the limiter")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"-1":                            0,
		"junk":                          0,
		"100000":                        maxRetryAfter,
		"Fri, 02 Jan 2026 03:04:15 GMT": 10 * time.Second,
	}
	for in, want := range cases {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestEndpointHostAndPathAreSigned(t *testing.T) {
	// The fake server verifies with r.Host (incl. port) and /api/; a client
	// configured without a path still posts to /api/.
	api := newFakeAPI(t, func(n int, form url.Values, w http.ResponseWriter) { reply(w, okVolumes) })
	cfg := testConfig(api.srv.URL)
	cfg.Endpoint = api.srv.URL
	c := newTestClient(t, cfg)
	if c.Endpoint() != api.srv.URL+"/api/" {
		t.Errorf("Endpoint() = %q", c.Endpoint())
	}
	if _, err := c.DescribeVolumes(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := api.form(0).Get(signer.KeyAccessKeyID); got != testAccessKey {
		t.Errorf("AccessKeyId = %q", got)
	}
}
