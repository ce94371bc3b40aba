package conformance

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

const (
	accessKey = "AKCONFORMANCE"
	secretKey = "conformance-secret"
	region    = "jp-east-1"
)

func newClient(t *testing.T, url string, hc *http.Client) *nifcloud.Client {
	t.Helper()
	c, err := nifcloud.New(nifcloud.Config{Region: region, Endpoint: url + "/api/", AccessKeyID: accessKey,
		SecretAccessKey: secretKey, Timeout: 5 * time.Second, QPS: -1, MaxAttempts: 1, HTTPClient: hc,
		Retry: backoff.Policy{Initial: time.Millisecond, Max: time.Millisecond, Factor: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{forms: map[string]map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_ = req.ParseForm()
		a := req.Form.Get("Action")
		r.mu.Lock()
		r.forms[a] = req.Form
		r.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte("<" + a + "Response/>"))
	}))
	t.Cleanup(srv.Close)
	r.client = newClient(t, srv.URL, nil)
	return r
}

func (r *recorder) last(action string) map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.forms[action]
}
