package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func newHardenedClient(tr *Transport) *http.Client {
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}
}

// A server echoing the request must not get the token or password into
// the error body gophercloud prints.
func TestErrorBodyRedactsSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("token=" + r.Header.Get("X-Auth-Token") + " body=" + string(b) + strings.Repeat("x", 4000)))
	}))
	defer srv.Close()
	c := newHardenedClient(&Transport{Secrets: []string{"hunter2-password"}})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v3/auth/tokens", strings.NewReader(`{"password":"hunter2-password"}`))
	req.Header.Set("X-Auth-Token", "gAAAAAtokenvalue")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	s := string(b)
	if strings.Contains(s, "hunter2-password") || strings.Contains(s, "gAAAAAtokenvalue") {
		t.Fatalf("secret in error body: %q", s)
	}
	if len(b) > maxErrorExcerpt+32 || !strings.Contains(s, redactedMarker) {
		t.Fatalf("excerpt not capped/redacted (%d bytes): %.80q", len(b), s)
	}
}

// Keystone's 404 for a token validation quotes the token asked about
// (X-Subject-Token of the request): it must not reach the error body.
func TestErrorBodyRedactsValidatedToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":404,"message":"Could not find token: ` + r.Header.Get("X-Subject-Token") + `","title":"Not Found"}}`))
	}))
	defer srv.Close()
	c := newHardenedClient(&Transport{})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v3/auth/tokens", nil)
	req.Header.Set("X-Auth-Token", "gAAAAAservicetoken")
	req.Header.Set("X-Subject-Token", "gAAAAAusertokenvalue")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(b), "gAAAAAusertokenvalue") || !strings.Contains(string(b), redactedMarker) {
		t.Fatalf("validated token not redacted: %q", b)
	}
}

type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	c.n += int64(len(p))
	if c.n > 100<<20 {
		return 0, io.EOF
	}
	return len(p), nil
}

// A 100 MB answer is refused after the cap, reading at most cap+1 bytes.
func TestBodyCapped(t *testing.T) {
	src := &countingReader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, src)
	}))
	defer srv.Close()
	c := newHardenedClient(&Transport{MaxBodyBytes: 1 << 20})
	resp, err := c.Get(srv.URL + "/v2.0/ports")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	var tl *ErrBodyTooLarge
	if !errors.As(err, &tl) || n > 1<<20 {
		t.Fatalf("read %d bytes, err %v", n, err)
	}
	t.Logf("client read %d bytes of a 100 MB body before %v", n, err)
}

func TestRedirectRefusedCrossHostAndTokenDropped(t *testing.T) {
	var gotToken string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotToken = r.Header.Get("X-Auth-Token")
	}))
	defer other.Close()
	same := http.NewServeMux()
	var sameSrv *httptest.Server
	same.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, other.URL+"/x", http.StatusFound) })
	same.HandleFunc("/here", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, sameSrv.URL+"/dst", http.StatusFound)
	})
	same.HandleFunc("/dst", func(w http.ResponseWriter, r *http.Request) { gotToken = r.Header.Get("X-Auth-Token") + "|seen" })
	sameSrv = httptest.NewServer(same)
	defer sameSrv.Close()
	c := newHardenedClient(&Transport{})
	req, _ := http.NewRequest(http.MethodGet, sameSrv.URL+"/away", nil)
	req.Header.Set("X-Auth-Token", "tok-secret")
	if _, err := c.Do(req); err == nil || !strings.Contains(err.Error(), "different host") {
		t.Fatalf("cross-host redirect not refused: %v", err)
	}
	if gotToken != "" {
		t.Fatalf("token forwarded cross-host: %q", gotToken)
	}
	req, _ = http.NewRequest(http.MethodGet, sameSrv.URL+"/here", nil)
	req.Header.Set("X-Auth-Token", "tok-secret")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if gotToken != "|seen" {
		t.Fatalf("same-host redirect forwarded token or not followed: %q", gotToken)
	}
}

func TestDotSegmentsRefused(t *testing.T) {
	c := newHardenedClient(&Transport{})
	for _, p := range []string{"/v2.1/servers/../os-keypairs", "/v3/volumes/%2e%2e/x", "/v3/volumes/a%2Fb"} {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1", nil)
		req.URL.RawPath = p
		req.URL.Path = p
		if strings.Contains(p, "%") {
			req.URL.Path = strings.NewReplacer("%2e", ".", "%2F", "/").Replace(p)
		}
		if _, err := c.Do(req); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// A slowloris body is cut by the attempt timeout.
func TestSlowBodyBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		for i := 0; i < 100; i++ {
			_, _ = w.Write([]byte("{"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}))
	defer srv.Close()
	c := newHardenedClient(&Transport{AttemptTimeout: 500 * time.Millisecond})
	start := time.Now()
	resp, err := c.Get(srv.URL + "/v2.1/servers")
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	d := time.Since(start)
	if err == nil || d > 2*time.Second {
		t.Fatalf("slow body: err %v after %v", err, d)
	}
	t.Logf("slowloris call failed after %v: %v", d, err)
	_ = context.Background
}
