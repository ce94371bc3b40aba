package client

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// collections maps OpenStack collection path segments to the singular
// resource name used in the metrics "request" label (OCCM's
// <resource>_<op> convention, e.g. server_list, floating_ip_create).
var collections = map[string]string{
	// Keystone (auth/tokens handled separately)
	"tokens":   "token",
	"projects": "project",
	"users":    "user",
	// Nova
	"servers":                "server",
	"flavors":                "flavor",
	"os-volume_attachments":  "volume_attachment",
	"os-interface":           "interface",
	"os-availability-zone":   "availability_zone",
	"os-server-groups":       "server_group",
	"os-keypairs":            "keypair",
	"os-instance-actions":    "instance_action",
	"limits":                 "limits",
	"os-hypervisors":         "hypervisor",
	"ips":                    "server_ip",
	"metadata":               "metadata",
	"os-security-groups":     "server_security_group",
	"os-simple-tenant-usage": "usage",
	// Cinder
	"volumes":       "volume",
	"snapshots":     "snapshot",
	"backups":       "backup",
	"types":         "volume_type",
	"attachments":   "attachment",
	"qos-specs":     "qos_spec",
	"os-quota-sets": "quota",
	// Neutron
	"ports":                "port",
	"networks":             "network",
	"subnets":              "subnet",
	"floatingips":          "floating_ip",
	"security-groups":      "security_group",
	"security-group-rules": "security_group_rule",
	"routers":              "router",
	"extensions":           "extension",
	"trunks":               "trunk",
	"subnetpools":          "subnetpool",
	"quotas":               "quota",
	"tags":                 "tag",
	// Octavia
	"loadbalancers":     "loadbalancer",
	"listeners":         "listener",
	"pools":             "pool",
	"members":           "member",
	"healthmonitors":    "healthmonitor",
	"l7policies":        "l7policy",
	"rules":             "l7rule",
	"amphorae":          "amphora",
	"providers":         "provider",
	"flavorprofiles":    "flavorprofile",
	"availabilityzones": "availabilityzone",
	// Barbican
	"containers": "container",
	"secrets":    "secret",
}

// skippedPrefixes are path segments that only route to a service (devstack
// style "/compute/v2.1/...", Octavia's "/v2.0/lbaas/...").
var skippedPrefixes = map[string]bool{
	"compute": true, "network": true, "networking": true, "volume": true, "volumev2": true, "volumev3": true,
	"block-storage": true, "load-balancer": true, "identity": true, "image": true, "key-manager": true,
	"placement": true, "lbaas": true, "octavia": true,
}

// RequestName returns the metrics label for an OpenStack API call:
// "<resource>_<op>" with op one of list, get, create, update, delete, or a
// specific verb (volume_attach, volume_detach, member_batch_update,
// volume_extend, router_add_extraroutes, …). action is the first key of a
// POST …/action body ("os-extend") or "". Paths that match no known
// resource map to "<first path segment>_<method>".
func RequestName(method, path, action string) string {
	method = strings.ToUpper(method)
	segs := splitPath(path)
	// Find the first known collection, skipping service prefixes, version
	// segments and project IDs.
	start := -1
	for i, s := range segs {
		if s == "auth" && i+1 < len(segs) && segs[i+1] == "tokens" {
			start = i + 1
			break
		}
		if _, ok := collections[s]; ok {
			start = i
			break
		}
	}
	if start < 0 {
		for _, s := range segs {
			if skippedPrefixes[s] || isVersion(s) || looksLikeID(s) {
				continue
			}
			return sanitize(s) + "_" + strings.ToLower(method)
		}
		if method == http.MethodGet || method == http.MethodHead {
			return "version_list"
		}
		return "root_" + strings.ToLower(method)
	}
	rest := segs[start:]
	res := collections[rest[0]]
	if rest[0] == "tokens" {
		switch method {
		case http.MethodPost:
			return "token_create"
		case http.MethodGet, http.MethodHead:
			return "token_validate"
		case http.MethodDelete:
			return "token_revoke"
		}
	}
	parent := ""
	i := 0
	for {
		// rest[i] is a collection (resource res); rest[i+1] may be an id.
		if i+1 >= len(rest) {
			return collectionOp(parent, res, method)
		}
		next := rest[i+1]
		if next == "detail" && i+2 >= len(rest) {
			return res + "_list"
		}
		// rest[i+1] is an item id
		if i+2 >= len(rest) {
			return itemOp(parent, res, method)
		}
		sub := rest[i+2]
		if sub == "action" {
			if a := actionName(action); a != "" {
				return res + "_" + a
			}
			return res + "_action"
		}
		child, known := collections[sub]
		if !known {
			// a verb or a fixed sub-resource: router add_extraroutes,
			// loadbalancer status/stats/failover
			if method == http.MethodGet {
				return res + "_" + sanitize(sub) + "_get"
			}
			return res + "_" + sanitize(sub)
		}
		parent, res = res, child
		i += 2
	}
}

func collectionOp(parent, res, method string) string {
	switch {
	case res == "volume_attachment" && method == http.MethodPost:
		return "volume_attach"
	case res == "member" && method == http.MethodPut:
		return "member_batch_update"
	case res == "tag" && parent != "":
		switch method {
		case http.MethodPut:
			return parent + "_tags_replace"
		case http.MethodDelete:
			return parent + "_tags_clear"
		case http.MethodGet:
			return parent + "_tags_list"
		}
	case res == "metadata" && parent != "":
		return parent + "_metadata_" + opVerb(method, true)
	}
	return res + "_" + opVerb(method, true)
}

func itemOp(parent, res, method string) string {
	switch {
	case res == "volume_attachment" && method == http.MethodDelete:
		return "volume_detach"
	case res == "tag" && parent != "":
		switch method {
		case http.MethodPut:
			return parent + "_tag_add"
		case http.MethodDelete:
			return parent + "_tag_delete"
		default:
			return parent + "_tag_check"
		}
	case res == "metadata" && parent != "":
		return parent + "_metadata_item_" + opVerb(method, false)
	}
	return res + "_" + opVerb(method, false)
}

func opVerb(method string, collection bool) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		if collection {
			return "list"
		}
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut, http.MethodPatch:
		return "update"
	case http.MethodDelete:
		return "delete"
	}
	return strings.ToLower(sanitize(method))
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func isVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	for _, c := range s[1:] {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

func looksLikeID(s string) bool {
	if len(s) < 8 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') && c != '-' {
			return false
		}
	}
	return true
}

// sanitize keeps label values to [a-z0-9_] and a bounded length.
func sanitize(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			b.WriteRune(c)
		case c == '-' || c == '.':
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// actionName turns an action body key ("os-extend", "os-reset_status",
// "reboot") into a label suffix ("extend", "reset_status", "reboot").
func actionName(key string) string {
	key = strings.TrimPrefix(key, "os-")
	if key == "" || len(key) > 40 {
		return ""
	}
	for _, c := range key {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '_' && c != '-' && (c < '0' || c > '9') {
			return ""
		}
	}
	return sanitize(key)
}

// peekAction returns the first JSON key of a POST …/action request body,
// read through req.GetBody so the real body is untouched.
func peekAction(req *http.Request) string {
	if req.Method != http.MethodPost || !strings.HasSuffix(strings.TrimSuffix(req.URL.Path, "/"), "/action") || req.GetBody == nil {
		return ""
	}
	rc, err := req.GetBody()
	if err != nil {
		return ""
	}
	defer func() { _ = rc.Close() }() // a fresh copy of the body, only read
	buf, _ := io.ReadAll(io.LimitReader(rc, 4096))
	dec := json.NewDecoder(bytes.NewReader(buf))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	t, err := dec.Token()
	if err != nil {
		return ""
	}
	k, _ := t.(string)
	return k
}
