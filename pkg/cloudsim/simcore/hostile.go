package simcore

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Hostile transport modes: answers a misbehaving or malicious endpoint
// could give, to prove the clients neither leak secrets nor hang or blow
// up their memory on them.
const (
	HostileEcho      = "echo"      // error body echoing every header, the query and the body
	HostileHuge      = "huge"      // 200 with a streamed body of HugeBytes
	HostileTruncate  = "truncate"  // Content-Length larger than sent, then close
	HostileRedirect  = "redirect"  // 307 to RedirectTo (another host:port)
	HostileError200  = "error200"  // 200 carrying the dialect's error body
	HostileNonJSON   = "nonjson"   // 200 with a non-JSON/non-XML body
	HostileSlowloris = "slowloris" // headers, then one byte per SlowInterval
)

// Dialect selects the error body shape of a hostile answer.
type Dialect int

const (
	DialectNIFCLOUD Dialect = iota
	DialectOpenStack
)

// HostileConfig steers the hostile middleware. Rates maps a mode to its
// per-call probability (checked in a fixed order). Actions (NIFCLOUD Action
// names) and Paths (URL path substrings, e.g. "/auth/tokens") limit the
// calls affected; both empty means every non-admin call.
type HostileConfig struct {
	Rates        map[string]float64 `json:"rates,omitempty"`
	Actions      []string           `json:"actions,omitempty"`
	Paths        []string           `json:"paths,omitempty"`
	HugeBytes    int64              `json:"hugeBytes,omitempty"`    // default 100 MiB
	RedirectTo   string             `json:"redirectTo,omitempty"`   // base URL, e.g. http://127.0.0.1:9999
	SlowInterval time.Duration      `json:"slowInterval,omitempty"` // default 1s
	SlowBytes    int                `json:"slowBytes,omitempty"`    // default 600
}

var hostileOrder = []string{HostileEcho, HostileHuge, HostileTruncate, HostileRedirect, HostileError200, HostileNonJSON, HostileSlowloris}

// SetHostile replaces the hostile-transport configuration.
func (c *Controls) SetHostile(h HostileConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hostile = h
}

// Hostile returns the hostile-transport configuration.
func (c *Controls) Hostile() HostileConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hostile
}

// decideHostile picks the mode for one call ("" for none) and counts it.
func (c *Controls) decideHostile(action, path string) (string, HostileConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hostile
	if len(h.Rates) == 0 || !h.matches(action, path) {
		return "", h
	}
	r, sum := c.rng.Float64(), 0.0
	for _, m := range hostileOrder {
		sum += h.Rates[m]
		if r < sum {
			c.faultsHit[m+":"+action]++
			return m, h
		}
	}
	return "", h
}

func (h HostileConfig) matches(action, path string) bool {
	if len(h.Actions) == 0 && len(h.Paths) == 0 {
		return true
	}
	for _, a := range h.Actions {
		if a == action {
			return true
		}
	}
	for _, p := range h.Paths {
		if strings.Contains(path, p) {
			return true
		}
	}
	return false
}

// HostileMiddleware wraps a simulator handler; paths under adminPrefix are
// never touched so tests can always turn the faults off again.
func HostileMiddleware(c *Controls, d Dialect, adminPrefix string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, adminPrefix) {
			next.ServeHTTP(w, r)
			return
		}
		// Bounded read: the body is replayed to next and may be echoed.
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		action := r.URL.Query().Get("Action")
		if action == "" && d == DialectNIFCLOUD {
			if f, err := url.ParseQuery(string(body)); err == nil {
				action = f.Get("Action")
			}
		}
		if action == "" {
			action = r.Method + " " + r.URL.Path
		}
		mode, h := c.decideHostile(action, r.URL.Path)
		if mode == "" {
			next.ServeHTTP(w, r)
			return
		}
		serveHostile(w, r, d, mode, h, body)
	})
}

func serveHostile(w http.ResponseWriter, r *http.Request, d Dialect, mode string, h HostileConfig, body []byte) {
	switch mode {
	case HostileEcho:
		writeDialectError(w, d, http.StatusBadRequest, echoDump(r, body))
	case HostileError200:
		writeDialectError(w, d, http.StatusOK, "simulated error inside a 200 answer")
	case HostileNonJSON:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<html><body>502 upstream gone</body></html>")
	case HostileRedirect:
		http.Redirect(w, r, strings.TrimRight(h.RedirectTo, "/")+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	case HostileHuge:
		n := h.HugeBytes
		if n <= 0 {
			n = 100 << 20
		}
		w.Header().Set("Content-Type", contentType(d))
		w.Header().Set("Content-Length", fmt.Sprint(n))
		w.WriteHeader(http.StatusOK)
		writeFiller(w, n)
	case HostileTruncate:
		rawAnswer(w, func(bw io.Writer) {
			// A failed write means the client went away: nothing to answer.
			_, _ = fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: 100000\r\n\r\n", contentType(d))
			writeFiller(bw, 1000)
		})
	case HostileSlowloris:
		iv, n := h.SlowInterval, h.SlowBytes
		if iv <= 0 {
			iv = time.Second
		}
		if n <= 0 {
			n = 600
		}
		rawAnswer(w, func(bw io.Writer) {
			_, _ = fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", contentType(d), n)
			t := time.NewTicker(iv)
			defer t.Stop()
			for i := 0; i < n; i++ {
				if _, err := bw.Write([]byte{' '}); err != nil {
					return
				}
				select {
				case <-t.C:
				case <-r.Context().Done():
					return
				}
			}
		})
	}
}

// rawAnswer hijacks the connection so the answer can break HTTP framing.
func rawAnswer(w http.ResponseWriter, write func(io.Writer)) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "hijack unsupported", http.StatusInternalServerError)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	defer func() { _ = conn.Close() }() // the broken answer is the point; a close error changes nothing
	write(conn)
}

// writeFiller streams n bytes from one small buffer (never allocating n).
func writeFiller(w io.Writer, n int64) {
	buf := bytes.Repeat([]byte("A"), 32<<10)
	for n > 0 {
		k := int64(len(buf))
		if n < k {
			k = n
		}
		if _, err := w.Write(buf[:k]); err != nil {
			return
		}
		n -= k
	}
}

func echoDump(r *http.Request, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL.RequestURI())
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(r.Header[k], ", "))
	}
	b.Write(body)
	return b.String()
}

func contentType(d Dialect) string {
	if d == DialectOpenStack {
		return "application/json"
	}
	return "text/xml"
}

func writeDialectError(w http.ResponseWriter, d Dialect, status int, msg string) {
	if d == DialectOpenStack {
		WriteJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "title": "Hostile"}})
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>Server.Hostile</Code><Message>%s</Message></Error></Errors><RequestID>hostile</RequestID></Response>`, html.EscapeString(msg))
}
