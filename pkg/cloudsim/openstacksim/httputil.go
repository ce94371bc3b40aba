package openstacksim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// M is a JSON object as written on the wire.
type M = map[string]any

type service int

const (
	svcKeystone service = iota
	svcNova
	svcCinder
	svcOctavia
	svcNeutron
	svcMetadata
	svcBarbican
)

const (
	novaMaxVersion   = "2.96"
	cinderMaxVersion = 70 // 3.70

	timeCinder  = "2006-01-02T15:04:05.000000"
	timeNova    = "2006-01-02T15:04:05Z"
	timeOctavia = "2006-01-02T15:04:05"
	timeNeutron = "2006-01-02T15:04:05Z"
)

// fail writes an error in the JSON dialect of the service.
func (s *Sim) fail(w http.ResponseWriter, sv service, code int, msg string) {
	switch sv {
	case svcBarbican:
		simcore.WriteJSON(w, code, M{"code": code, "title": http.StatusText(code), "description": msg})
	case svcKeystone, svcMetadata:
		simcore.WriteJSON(w, code, M{"error": M{"code": code, "message": msg, "title": http.StatusText(code)}})
	case svcNova, svcCinder:
		key := map[int]string{
			400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
			409: "conflictingRequest", 413: "overLimit", 429: "overLimit",
		}[code]
		if key == "" {
			key = map[service]string{svcNova: "computeFault", svcCinder: "computeFault"}[sv]
		}
		body := M{"code": code, "message": msg}
		if code == 413 || code == 429 {
			body["retryAfter"] = "0"
		}
		simcore.WriteJSON(w, code, M{key: body})
	case svcOctavia:
		fc := "Client"
		if code >= 500 {
			fc = "Server"
		}
		simcore.WriteJSON(w, code, M{"faultcode": fc, "faultstring": msg, "debuginfo": nil})
	case svcNeutron:
		typ := map[int]string{400: "BadRequest", 401: "NotAuthorized", 404: "NotFound", 409: "Conflict", 429: "OverQuota"}[code]
		if typ == "" {
			typ = "InternalServerError"
		}
		s.neutronError(w, code, typ, msg)
	}
}

func (s *Sim) neutronError(w http.ResponseWriter, code int, typ, msg string) {
	simcore.WriteJSON(w, code, M{"NeutronError": M{"type": typ, "message": msg, "detail": ""}})
}

// begin runs Controls.Begin for action and answers injected faults:
// error → 500, throttle → 429 + Retry-After, timeout → 504 (after hanging).
func (s *Sim) begin(w http.ResponseWriter, r *http.Request, sv service, action string) bool {
	f, retryAfter := s.controls.Begin(r.Context(), action)
	switch f {
	case simcore.FaultError:
		s.fail(w, sv, http.StatusInternalServerError, "injected fault in "+action)
		return false
	case simcore.FaultThrottle:
		secs := int(math.Ceil(retryAfter.Seconds()))
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.fail(w, sv, http.StatusTooManyRequests, "rate limit exceeded for "+action)
		return false
	case simcore.FaultTimeout:
		s.fail(w, sv, http.StatusGatewayTimeout, "gateway timeout in "+action)
		return false
	}
	return true
}

// baseURL is scheme://host of the request, so catalogs and links point at
// whatever listener the client used.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newTokenID() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "gAAAAA" + hex.EncodeToString(b[:])
}

// requestedMicroversion returns the version asked for with
// "OpenStack-API-Version: <svc> X" or the legacy header.
func requestedMicroversion(r *http.Request, svc, legacy string) string {
	for _, h := range r.Header.Values("OpenStack-API-Version") {
		for _, part := range strings.Split(h, ",") {
			f := strings.Fields(part)
			if len(f) == 2 && strings.EqualFold(f[0], svc) {
				return f[1]
			}
		}
	}
	return strings.TrimSpace(r.Header.Get(legacy))
}

// cinderMicroversion is the requested block-storage microversion (3.0 when
// none, the maximum for "latest").
func cinderMicroversion(r *http.Request) (int, int) {
	v := requestedMicroversion(r, "volume", "X-OpenStack-Volume-API-Version")
	if v == "latest" {
		return 3, cinderMaxVersion
	}
	maj, min, ok := strings.Cut(v, ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil || a != 3 {
		return 3, 0
	}
	if b > cinderMaxVersion {
		b = cinderMaxVersion
	}
	return a, b
}

// decode reads a JSON body into v.
func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return fmt.Errorf("malformed request body: %v", err)
	}
	return nil
}

// listOpts says how a list endpoint filters and pages.
type listOpts struct {
	key     string          // e.g. "volumes"; links go to key+"_links"
	skip    map[string]bool // query keys handled by the caller
	noLinks bool            // service without paging links
	// linksKey names the links key when it is not key+"_links" (Cinder's
	// volume_type_links), which is then only present when there are links.
	linksKey string
	// markerKind, when set, answers an unknown marker as Cinder does: its
	// pagination looks the marker up like any object of the kind, so the
	// answer is that kind's 404 ("Volume <id> could not be found."), not
	// a 400.
	markerKind string
}

var reservedQuery = map[string]bool{
	"limit": true, "marker": true, "page_reverse": true, "sort_key": true, "sort_dir": true,
	"sort": true, "fields": true, "offset": true, "all_tenants": true, "with_count": true,
	"cascade": true, "tags-any": true, "not-tags": true, "not-tags-any": true,
}

// writeList filters views by the query's scalar fields, pages them by
// limit/marker/offset and writes {key: [...], key_links: [next]}.
func (s *Sim) writeList(w http.ResponseWriter, r *http.Request, sv service, views []M, o listOpts) {
	q := r.URL.Query()
	var out []M
	for _, v := range views {
		if matchQuery(v, q, o.skip) {
			out = append(out, v)
		}
	}
	start := 0
	if m := q.Get("marker"); m != "" {
		start = -1
		for i, v := range out {
			if v["id"] == m {
				start = i + 1
				break
			}
		}
		switch {
		case start < 0 && o.markerKind != "":
			s.fail(w, sv, http.StatusNotFound, o.markerKind+" "+m+" could not be found.")
			return
		case start < 0:
			s.fail(w, sv, http.StatusBadRequest, "marker "+m+" not found")
			return
		}
	}
	if off, err := strconv.Atoi(q.Get("offset")); err == nil && off > 0 {
		start += off
	}
	if start > len(out) {
		start = len(out)
	}
	out = out[start:]
	links := []M{}
	if lim, err := strconv.Atoi(q.Get("limit")); err == nil && lim > 0 && len(out) > lim {
		out = out[:lim]
		nq := r.URL.Query()
		nq.Set("marker", fmt.Sprint(out[len(out)-1]["id"]))
		nq.Del("offset")
		links = append(links, M{"rel": "next", "href": baseURL(r) + r.URL.Path + "?" + nq.Encode()})
	}
	if out == nil {
		out = []M{}
	}
	body := M{o.key: out}
	switch {
	case o.noLinks:
	case o.linksKey != "":
		if len(links) > 0 {
			body[o.linksKey] = links
		}
	default:
		body[o.key+"_links"] = links
	}
	simcore.WriteJSON(w, http.StatusOK, body)
}

// matchQuery reports whether view satisfies every filter in q whose key is
// a scalar (or list of scalars) field of the view. Repeated values are
// alternatives; list fields (tags) need all comma-separated values.
func matchQuery(view M, q url.Values, skip map[string]bool) bool {
	if !matchTags(view, q) {
		return false
	}
	for key, vals := range q {
		if reservedQuery[key] || skip[key] {
			continue
		}
		field, ok := view[key]
		if !ok {
			continue
		}
		matched := false
		for _, want := range vals {
			if matchValue(key, field, want) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

func matchValue(key string, field any, want string) bool {
	switch f := field.(type) {
	case nil:
		return want == "" || strings.EqualFold(want, "none") || strings.EqualFold(want, "null")
	case string:
		if key == "status" {
			return strings.EqualFold(f, want)
		}
		return f == want
	case bool:
		return strings.EqualFold(strconv.FormatBool(f), want)
	case []string:
		return containsAll(f, strings.Split(want, ","))
	case []any:
		var have []string
		for _, x := range f {
			if str, ok := x.(string); ok {
				have = append(have, str)
			} else {
				return true // list of objects: not filterable here
			}
		}
		return containsAll(have, strings.Split(want, ","))
	case map[string]any, map[string]string, []M:
		return true
	default:
		return fmt.Sprint(f) == want
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func strs(in []string) []string {
	if in == nil {
		return []string{}
	}
	return in
}

func strmap(in map[string]string) map[string]string {
	if in == nil {
		return map[string]string{}
	}
	return in
}

// cinderNoRoute answers a path Cinder has no route for. Cinder's router
// returns webob's HTTPNotFound rather than raising a Cinder exception, so
// the body is webob's JSON rendering, not a {"itemNotFound": …} fault.
func cinderNoRoute(w http.ResponseWriter) {
	simcore.WriteJSON(w, http.StatusNotFound, M{
		"code": "404 Not Found", "title": "Not Found",
		"message": "The resource could not be found.<br /><br />\n\n\n",
	})
}
