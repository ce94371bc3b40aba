package openstacksim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// An Octavia of API version v2.N announces v2.0 … v2.N (the last
// CURRENT) and knows only the request attributes of that version: its
// WSME types answer any other with 400 and the faultstring
// "Unknown attribute for argument <arg>.<path>: <attr>" (plural
// "Unknown attributes …: a, b"), where <arg> is the controller's body
// argument and <path> the nested attributes down to the object holding
// the unknown one (list items add nothing). Options.OctaviaVersion or
// SetOctaviaVersion picks the version; the attributes refused below it
// are those of octaviaAttrs (attributes the tables do not list are
// accepted as before).

// octaviaType is a WSME request type: the minor version that introduced
// each attribute, and nested types in declaration order.
type octaviaType struct {
	since  map[string]int
	nested []octaviaNested
}

type octaviaNested struct {
	attr string
	typ  *octaviaType
}

var (
	octaviaMember  = &octaviaType{since: map[string]int{"tags": 5}}
	octaviaMonitor = &octaviaType{since: map[string]int{"tags": 5, "domain_name": 10, "http_version": 10}}
	octaviaPool    = &octaviaType{
		since: map[string]int{"tags": 5, "tls_enabled": 8, "tls_container_ref": 8, "ca_tls_container_ref": 8,
			"crl_container_ref": 8, "tls_ciphers": 15, "tls_versions": 18, "alpn_protocols": 24},
		nested: []octaviaNested{{"members", octaviaMember}, {"healthmonitor", octaviaMonitor}},
	}
	octaviaListener = &octaviaType{
		since: map[string]int{"timeout_client_data": 1, "timeout_member_connect": 1, "timeout_member_data": 1,
			"timeout_tcp_inspect": 1, "tags": 5, "client_ca_tls_container_ref": 8, "client_authentication": 8,
			"client_crl_container_ref": 8, "allowed_cidrs": 12, "tls_ciphers": 15, "tls_versions": 17, "alpn_protocols": 20},
		nested: []octaviaNested{{"default_pool", octaviaPool}},
	}
	octaviaLB = &octaviaType{
		since:  map[string]int{"tags": 5, "flavor_id": 6, "availability_zone": 14, "additional_vips": 26},
		nested: []octaviaNested{{"listeners", octaviaListener}, {"pools", octaviaPool}},
	}
)

// unknown finds the first object in v with attributes newer than minor:
// the path to it and the attributes, sorted (nil: none).
func (t *octaviaType) unknown(v json.RawMessage, minor int) (string, []string) {
	var items []json.RawMessage
	if json.Unmarshal(v, &items) == nil {
		for _, it := range items {
			if p, attrs := t.unknown(it, minor); attrs != nil {
				return p, attrs
			}
		}
		return "", nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(v, &obj) != nil {
		return "", nil
	}
	var attrs []string
	for k := range obj {
		if since, ok := t.since[k]; ok && since > minor {
			attrs = append(attrs, k)
		}
	}
	if attrs != nil {
		sort.Strings(attrs)
		return "", attrs
	}
	for _, n := range t.nested {
		raw, ok := obj[n.attr]
		if !ok {
			continue
		}
		if p, attrs := n.typ.unknown(raw, minor); attrs != nil {
			return strings.TrimSuffix(n.attr+"."+p, "."), attrs
		}
	}
	return "", nil
}

// octaviaAccepts answers 400 as WSME does when the request body
// {"<key>": <t>} of a controller with body argument arg has an attribute
// newer than the announced version, and reports whether the request may
// go on. The body stays readable for the handler.
func (s *Sim) octaviaAccepts(w http.ResponseWriter, r *http.Request, arg, key string, t *octaviaType) bool {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, svcOctavia, http.StatusBadRequest, "malformed request body: "+err.Error())
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var minor int
	s.read(func() { minor = s.octaviaMinorLocked() })
	root := &octaviaType{nested: []octaviaNested{{key, t}}}
	p, attrs := root.unknown(body, minor)
	if attrs == nil {
		return true
	}
	if p != "" {
		arg += "." + p
	}
	msg := "Unknown attribute for argument " + arg + ": " + attrs[0]
	if len(attrs) > 1 {
		msg = "Unknown attributes for argument " + arg + ": " + strings.Join(attrs, ", ")
	}
	s.fail(w, svcOctavia, http.StatusBadRequest, msg)
	return false
}

// udpMonitorRefusal is Octavia's answer to a health monitor of type typ
// on a pool of protocol proto: before v2.16 a UDP pool takes only
// UDP-CONNECT monitors.
func (s *Sim) udpMonitorRefusal(proto, typ string) (int, string) {
	if proto != "UDP" || typ == "UDP-CONNECT" || s.octaviaMinorLocked() >= 16 {
		return 0, ""
	}
	return http.StatusBadRequest, "Validation failure: The associated pool protocol is UDP, so only a UDP-CONNECT health monitor is supported."
}

// valuesSince are enum values Octavia accepts only from a minor version:
// an older one answers them as any invalid enum value.
var valuesSince = map[string]map[string]int{
	"protocol":     {"PROXYV2": 22, "SCTP": 23, "PROMETHEUS": 25},
	"lb_algorithm": {"SOURCE_IP_PORT": 13},
}

// valueRefusal is Octavia's answer to attribute attr = value, which an
// older version does not know.
func (s *Sim) valueRefusal(attr, value string) (int, string) {
	if since, ok := valuesSince[attr][value]; ok && since > s.octaviaMinorLocked() {
		return http.StatusBadRequest, "Invalid input for field/attribute " + attr + ". Value: '" + value + "'."
	}
	return 0, ""
}

// poolRefusal is valueRefusal for a pool's protocol and algorithm.
func (s *Sim) poolRefusal(p poolRequest) (int, string) {
	if code, msg := s.valueRefusal("protocol", p.Protocol); code != 0 {
		return code, msg
	}
	return s.valueRefusal("lb_algorithm", p.LBMethod)
}

// parseOctaviaVersion reads "v2.N" or "2.N" ("" = the newest).
func parseOctaviaVersion(v string) (int, error) {
	if v == "" {
		return octaviaMaxMinor, nil
	}
	minor, ok := strings.CutPrefix(strings.TrimPrefix(v, "v"), "2.")
	n, err := strconv.Atoi(minor)
	if !ok || err != nil || n < 0 || n > octaviaMaxMinor {
		return 0, fmt.Errorf("openstacksim: Octavia API version %q is not v2.0 to v2.%d", v, octaviaMaxMinor)
	}
	return n, nil
}

// octaviaMinorLocked is N of the newest version Octavia announces, v2.N.
func (s *Sim) octaviaMinorLocked() int {
	n, err := parseOctaviaVersion(s.opts.OctaviaVersion)
	if err != nil {
		return octaviaMaxMinor
	}
	return n
}

// SetOctaviaVersion makes Octavia announce v ("v2.N"; "" the newest,
// v2.27) and refuse request attributes introduced after it.
func (s *Sim) SetOctaviaVersion(v string) error {
	if _, err := parseOctaviaVersion(v); err != nil {
		return err
	}
	s.mutate(func() { s.opts.OctaviaVersion = v })
	return nil
}
