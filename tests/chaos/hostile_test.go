package chaos

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// hostileRate is the per-call probability of each hostile answer of
// simcore.HostileMiddleware the chaos run injects on top of chaosFaults.
// The middleware answers these itself, without calling the simulator:
// the request has no side effect.
const hostileRate = 0.01

// hostileKinds are the hostile modes the chaos run injects, in report order.
var hostileKinds = []string{simcore.HostileTruncate, simcore.HostileError200, simcore.HostileNonJSON, simcore.HostileEcho}

// hostileDescriptions describe hostileKinds for the report.
func hostileDescriptions() []string {
	desc := map[string]string{
		simcore.HostileTruncate: "truncated (200, Content-Length larger than the body, connection closed)",
		simcore.HostileError200: "the dialect's error body in a 200",
		simcore.HostileNonJSON:  "a 200 HTML page",
		simcore.HostileEcho:     "a 400 error echoing the request's headers and body",
	}
	out := make([]string, 0, len(hostileKinds))
	for _, k := range hostileKinds {
		out = append(out, desc[k])
	}
	return out
}

// chaosHostile is the hostile-transport configuration of the chaos run.
func chaosHostile() simcore.HostileConfig {
	rates := map[string]float64{}
	for _, k := range hostileKinds {
		rates[k] = hostileRate
	}
	return simcore.HostileConfig{Rates: rates}
}

// hostileByAction sends each call to the handler pick chooses for its
// NIFCLOUD Action ("" for OpenStack) and URL path. NIFCLOUD calls all get
// the hostile answers (security group calls included: the elastic load
// balancer's rules are revoked before it is deleted, so a failed revoke is
// retried); OpenStack's Cinder calls get their own (chaosHostileCinder).
func hostileByAction(pick func(action, path string) http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Body != nil {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = b
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		action := r.URL.Query().Get("Action")
		if f, err := url.ParseQuery(string(body)); action == "" && err == nil {
			action = f.Get("Action")
		}
		pick(action, r.URL.Path).ServeHTTP(w, r)
	})
}

// cinderPath is the URL prefix of the simulator's Cinder API.
const cinderPath = "/volume/"

// chaosHostileCinder is chaosHostile without the echo for Cinder calls:
// the echo answers 400, which from Cinder means the request itself is
// invalid; the driver rightly reports it as InvalidArgument, which the
// sidecars (and retry) take as final, so a run hit by it on a
// CreateVolume could never converge. The echo still reaches the CCM's
// Keystone, Nova, Neutron and Octavia calls, whose service controller
// retries every error.
func chaosHostileCinder() simcore.HostileConfig {
	h := chaosHostile()
	delete(h.Rates, simcore.HostileEcho)
	return h
}

// lostKind counts the answers lostAnswers cut off after the simulator
// had carried the call out.
const lostKind = "lost"

// lostRate is the probability that lostAnswers cuts off the answer of a
// mutating call (a NIFCLOUD Action other than Describe*, an OpenStack
// request other than GET/HEAD and token issue).
const lostRate = 0.02

// lostAnswers runs the simulator and then breaks the answer (the status
// line and headers announce a longer body than is sent, then the
// connection closes): unlike the middleware's truncate, the action did
// happen and only its answer is lost, so a client that retries a create
// blindly makes a second object.
type lostAnswers struct {
	next        http.Handler
	adminPrefix string

	mu   sync.Mutex
	rate float64
	rng  *rand.Rand
	hits map[string]int64 // by action
}

func newLostAnswers(next http.Handler, adminPrefix string, seed uint64) *lostAnswers {
	return &lostAnswers{next: next, adminPrefix: adminPrefix, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b9)), hits: map[string]int64{}}
}

// set enables (rate > 0) or disables the lost answers and resets the counts.
func (l *lostAnswers) set(rate float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate = rate
	l.hits = map[string]int64{}
}

// counts returns the lost answers keyed like simcore's faults ("lost:action").
func (l *lostAnswers) counts() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64, len(l.hits))
	for a, n := range l.hits {
		out[lostKind+":"+a] = n
	}
	return out
}

func (l *lostAnswers) decide(action string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate <= 0 || l.rng.Float64() >= l.rate {
		return false
	}
	l.hits[action]++
	return true
}

// mutatingAction names a call with a side effect, "" for a read.
func mutatingAction(r *http.Request, body []byte) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return ""
	}
	if strings.HasSuffix(r.URL.Path, "/auth/tokens") {
		return ""
	}
	action := r.URL.Query().Get("Action")
	if action == "" {
		if f, err := url.ParseQuery(string(body)); err == nil {
			action = f.Get("Action")
		}
	}
	if action == "" {
		return r.Method + " " + r.URL.Path
	}
	if strings.HasPrefix(action, "Describe") {
		return ""
	}
	return action
}

func (l *lostAnswers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, l.adminPrefix) {
		l.next.ServeHTTP(w, r)
		return
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	action := mutatingAction(r, body)
	if action == "" || !l.decide(action) {
		l.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	l.next.ServeHTTP(rec, r)
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "hijack unsupported", http.StatusInternalServerError)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	defer func() { _ = conn.Close() }() // the broken answer is the point
	res := rec.Result()
	sent := rec.Body.Bytes()
	_, _ = fmt.Fprintf(conn, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", res.StatusCode,
		http.StatusText(res.StatusCode), res.Header.Get("Content-Type"), len(sent)+1000)
	_, _ = conn.Write(sent[:len(sent)/2])
}
