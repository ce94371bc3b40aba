package badinput

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// isMutatingNIFCLOUD classifies a NIFCLOUD action by name: only the
// Describe* and NiftyDescribe* families are read-only.
func isMutatingNIFCLOUD(action string) bool {
	return !strings.HasPrefix(action, "Describe") && !strings.HasPrefix(action, "NiftyDescribe")
}

// isMutatingOpenStack classifies an OpenStack simulator counter
// ("service.object_verb"): gets, lists, status reads, version discovery
// and Keystone token issue/validation change nothing in the cloud.
func isMutatingOpenStack(action string) bool {
	if slices.Contains([]string{"keystone.token_create", "keystone.token_validate", "metadata.get"}, action) {
		return false
	}
	for _, s := range []string{"_get", "_list", "_status"} {
		if strings.HasSuffix(action, s) {
			return false
		}
	}
	return true
}

// wireLog records the mutating requests seen on the wire in front of a
// simulator, independent of its counters: it also sees requests the
// simulator rejects before counting them (bad signature, unknown route).
type wireLog struct {
	mu   sync.Mutex
	seen []string
}

func (w *wireLog) add(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, s)
}

func (w *wireLog) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.seen
	w.seen = nil
	return out
}

// watchNIFCLOUD logs every request whose Action is mutating.
func watchNIFCLOUD(h http.Handler, log *wireLog) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := r.URL.Query()
		if r.Body != nil && r.Method == http.MethodPost {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			if body, err := url.ParseQuery(string(b)); err == nil {
				for k, v := range body {
					form[k] = append(form[k], v...)
				}
			}
		}
		if a := form.Get("Action"); a == "" || isMutatingNIFCLOUD(a) {
			log.add(r.Method + " Action=" + a)
		}
		h.ServeHTTP(w, r)
	})
}

// watchOpenStack logs every request that is not a read: anything but
// GET/HEAD, except asking Keystone for a token.
func watchOpenStack(h http.Handler, log *wireLog) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.Method == http.MethodPost && strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/auth/tokens")
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !token {
			log.add(r.Method + " " + r.URL.Path)
		}
		h.ServeHTTP(w, r)
	})
}

// mutations returns the simulator's mutating counters and the wire log
// since the last call, then resets both.
func mutations(c *simcore.Controls, wire *wireLog, mutating func(string) bool) []string {
	var out []string
	for a, n := range c.Counts() {
		if n > 0 && mutating(a) {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	out = append(out, wire.take()...)
	c.ResetCounts()
	return out
}

// namesField reports whether msg names field, written either as the API
// spells it (capacity_range) or in words (capacity range).
func namesField(msg, field string) bool {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "_", " ") }
	return strings.Contains(norm(msg), norm(field))
}
