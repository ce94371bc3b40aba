package nifcloudsim

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/nifcloud/signer"
)

const (
	testAK = "AKTEST"
	testSK = "SKTEST"
)

// fakeClock is a settable clock for deterministic transitions.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	t   *testing.T
	sim *Sim
	srv *httptest.Server
	ak  string
	sk  string
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	if opts.Credentials == nil {
		opts.Credentials = map[string]string{testAK: testSK}
	}
	sim, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &harness{t: t, sim: sim, srv: srv, ak: testAK, sk: testSK}
}

func (h *harness) host() string { return strings.TrimPrefix(h.srv.URL, "http://") }

// form builds Action/Version plus key/value pairs.
func form(action string, kv ...string) url.Values {
	f := url.Values{"Action": {action}, "Version": {"3.0"}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// post signs f with the harness credentials and posts it.
func (h *harness) post(f url.Values) (*http.Response, []byte) {
	h.t.Helper()
	signer.Sign(f, h.ak, h.sk, h.host(), "/api/", time.Now())
	return h.postRaw(f.Encode())
}

func (h *harness) postRaw(body string) (*http.Response, []byte) {
	h.t.Helper()
	resp, err := http.Post(h.srv.URL+"/api/", "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		h.t.Fatal(err)
	}
	return resp, data
}

// ok calls an action and requires HTTP 200 with the right root element.
func (h *harness) ok(action string, kv ...string) *xnode {
	h.t.Helper()
	resp, body := h.post(form(action, kv...))
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("%s: status %d: %s", action, resp.StatusCode, body)
	}
	n := parseXML(h.t, body)
	if n.XMLName.Local != action+"Response" || n.XMLName.Space != apiNamespace {
		h.t.Fatalf("%s: root %v", action, n.XMLName)
	}
	return n
}

// fail calls an action and requires the given status and error code.
func (h *harness) fail(status int, code, action string, kv ...string) *xnode {
	h.t.Helper()
	resp, body := h.post(form(action, kv...))
	return checkError(h.t, resp, body, status, code)
}

func checkError(t *testing.T, resp *http.Response, body []byte, status int, code string) *xnode {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d: %s", resp.StatusCode, status, body)
	}
	n := parseXML(t, body)
	if n.XMLName.Local != "Response" {
		t.Fatalf("error root = %s: %s", n.XMLName.Local, body)
	}
	if got := n.text("Errors/Error/Code"); got != code {
		t.Fatalf("code = %q, want %q: %s", got, code, body)
	}
	if n.text("Errors/Error/Message") == "" || n.text("RequestID") == "" {
		t.Fatalf("error without message or RequestID: %s", body)
	}
	return n
}

// xnode is a generic decoded XML element.
type xnode struct {
	XMLName xml.Name
	Content string  `xml:",chardata"`
	Kids    []xnode `xml:",any"`
}

func parseXML(t *testing.T, body []byte) *xnode {
	t.Helper()
	var n xnode
	if err := xml.Unmarshal(body, &n); err != nil {
		t.Fatalf("decode XML: %v: %s", err, body)
	}
	return &n
}

// all returns the elements at a slash path below n.
func (n *xnode) all(path string) []*xnode {
	cur := []*xnode{n}
	for _, part := range strings.Split(path, "/") {
		var next []*xnode
		for _, c := range cur {
			for i := range c.Kids {
				if c.Kids[i].XMLName.Local == part {
					next = append(next, &c.Kids[i])
				}
			}
		}
		cur = next
	}
	return cur
}

func (n *xnode) one(t *testing.T, path string) *xnode {
	t.Helper()
	got := n.all(path)
	if len(got) != 1 {
		t.Fatalf("%s: %d elements", path, len(got))
	}
	return got[0]
}

// text is the content of the first element at path ("" when absent).
func (n *xnode) text(path string) string {
	got := n.all(path)
	if len(got) == 0 {
		return ""
	}
	return strings.TrimSpace(got[0].Content)
}

func (n *xnode) texts(path string) []string {
	var out []string
	for _, x := range n.all(path) {
		out = append(out, strings.TrimSpace(x.Content))
	}
	return out
}

func seed(t *testing.T, s *Sim, ins ...Instance) {
	t.Helper()
	for _, in := range ins {
		if err := s.AddInstance(in); err != nil {
			t.Fatal(err)
		}
	}
}

func setTransitions(s *Sim, d map[string]time.Duration) {
	l := s.Controls().Latency()
	l.Transitions = d
	s.Controls().SetLatency(l)
}
