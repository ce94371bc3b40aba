package hostile

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync"
)

// wire sits in front of a hostile simulator and records the credentials
// every request carried (the NIFCLOUD Signature, the X-Auth-Token) and
// how many answers echoed one back, so a test knows its secret scan
// looked for the right values and that redaction was actually needed.
type wire struct {
	known []string // fixed secrets of the client (password, keys)

	mu     sync.Mutex
	seen   map[string]bool
	echoed int
}

func newWire(known ...string) *wire { return &wire{known: known, seen: map[string]bool{}} }

// secrets returns every credential seen on the wire, each also in its
// URL-encoded form when that differs.
func (w *wire) secrets() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, 2*len(w.seen))
	for s := range w.seen {
		out = append(out, variants(s)...)
	}
	sort.Strings(out)
	return out
}

// echoes returns how many answers so far contained a credential of
// their request.
func (w *wire) echoes() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.echoed
}

func variants(s string) []string {
	if q := url.QueryEscape(s); q != s {
		return []string{s, q}
	}
	return []string{s}
}

func (w *wire) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		creds := append([]string(nil), w.known...)
		if v := r.Header.Get("X-Auth-Token"); v != "" {
			creds = append(creds, v)
		}
		if v := r.URL.Query().Get("Signature"); v != "" {
			creds = append(creds, v)
		}
		if f, err := url.ParseQuery(string(body)); err == nil && f.Get("Signature") != "" {
			creds = append(creds, f.Get("Signature"))
		}
		w.mu.Lock()
		for _, c := range creds[len(w.known):] {
			w.seen[c] = true
		}
		w.mu.Unlock()
		cw := &captureWriter{ResponseWriter: rw}
		next.ServeHTTP(cw, r)
		for _, c := range creds {
			for _, v := range variants(c) {
				if len(v) >= 4 && bytes.Contains(cw.head.Bytes(), []byte(v)) {
					w.mu.Lock()
					w.echoed++
					w.mu.Unlock()
					return
				}
			}
		}
	})
}

// captureWriter keeps the first 64 KiB of an answer and still lets the
// hostile modes flush and hijack the connection.
type captureWriter struct {
	http.ResponseWriter
	head bytes.Buffer
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if n := 64<<10 - c.head.Len(); n > 0 {
		c.head.Write(p[:min(n, len(p))])
	}
	return c.ResponseWriter.Write(p)
}

func (c *captureWriter) Flush() { _ = http.NewResponseController(c.ResponseWriter).Flush() }

func (c *captureWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(c.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the real writer.
func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// joinEvents drains a fake recorder's buffered events.
func joinEvents(ch chan string) []string {
	var out []string
	for {
		select {
		case ev := <-ch:
			out = append(out, ev)
		default:
			return out
		}
	}
}
