package keystoneauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Policy is a list of rules in k8s-keystone-auth's JSON format; a request
// is allowed when any rule allows it. Two rule forms exist there and here:
//
//	{"resource": {"verbs": [...], "resources": [...], "version": "<api group>|*", "namespace": "<ns>|*"},
//	 "nonresource": {"verbs": [...], "path": "/healthz | /apis/* | *"},
//	 "match": [{"type": "user|group|project|role", "values": [...]}]}
//
//	{"users": {"projects": [...], "roles": [...]},
//	 "resource_permissions": {"<ns>/<resource>": [verbs]},
//	 "nonresource_permissions": {"<path>": [verbs]}}
type Policy []Rule

// Rule is one policy entry.
type Rule struct {
	Resource    *ResourceSpec    `json:"resource,omitempty"`
	NonResource *NonResourceSpec `json:"nonresource,omitempty"`
	Match       []Match          `json:"match,omitempty"`

	Users                  *Users              `json:"users,omitempty"`
	ResourcePermissions    map[string][]string `json:"resource_permissions,omitempty"`
	NonResourcePermissions map[string][]string `json:"nonresource_permissions,omitempty"`
}

// ResourceSpec selects resource requests (first form).
type ResourceSpec struct {
	Verbs     []string `json:"verbs"`
	Resources []string `json:"resources"` // "pods", "pods/log", "pods/*", "*"
	APIGroup  *string  `json:"version"`   // the reference's name for the API group
	Namespace *string  `json:"namespace"` // "*" also matches cluster-scoped requests
}

// NonResourceSpec selects non-resource requests (first form).
type NonResourceSpec struct {
	Verbs []string `json:"verbs"`
	Path  *string  `json:"path"` // exact, "*", or a prefix ending in "*"
}

// Match is one condition on the user; all of a rule's must hold, each
// holds when the user has any of its values ("*": anyone).
type Match struct {
	Type   string   `json:"type"`
	Values []string `json:"values"`
}

// Users selects users of the second form: any of the projects (ID or
// name) and all of the roles.
type Users struct {
	Projects []string `json:"projects"`
	Roles    []string `json:"roles"`
}

// Match types.
const (
	MatchUser    = "user"
	MatchGroup   = "group"
	MatchProject = "project"
	MatchRole    = "role"
)

// ParsePolicy parses and checks a policy; the error names the rule and
// field at fault, so a broken ConfigMap is refused rather than half used.
func ParsePolicy(data []byte) (Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("policy is not a JSON list of rules: %w", err)
	}
	for i := range p {
		if err := p[i].check(); err != nil {
			return nil, fmt.Errorf("policy[%d]: %w", i, err)
		}
	}
	return p, nil
}

func (r *Rule) check() error {
	first := r.Resource != nil || r.NonResource != nil
	second := r.Users != nil || r.ResourcePermissions != nil || r.NonResourcePermissions != nil
	switch {
	case first && second:
		return fmt.Errorf("mixes resource/nonresource/match with users/resource_permissions/nonresource_permissions")
	case !first && !second:
		return fmt.Errorf("grants nothing: give resource or nonresource (with match), or users with resource_permissions or nonresource_permissions")
	case first && r.Resource != nil && r.NonResource != nil:
		return fmt.Errorf("has both resource and nonresource; split it in two rules")
	case first:
		return r.checkFirst()
	}
	return r.checkSecond()
}

func (r *Rule) checkFirst() error {
	if len(r.Match) == 0 {
		return fmt.Errorf("match is empty: give at least one condition (type user, group, project or role)")
	}
	for j, m := range r.Match {
		if !oneOf(m.Type, []string{MatchUser, MatchGroup, MatchProject, MatchRole}) {
			return fmt.Errorf("match[%d].type %q is not one of user, group, project, role", j, m.Type)
		}
		if len(m.Values) == 0 {
			return fmt.Errorf("match[%d].values is empty", j)
		}
	}
	if rs := r.Resource; rs != nil {
		switch {
		case len(rs.Verbs) == 0 || oneOf("", rs.Verbs):
			return fmt.Errorf("resource.verbs is empty")
		case len(rs.Resources) == 0:
			return fmt.Errorf("resource.resources is empty")
		case rs.APIGroup == nil:
			return fmt.Errorf(`resource.version (the API group) is missing: use "*" for all`)
		case rs.Namespace == nil:
			return fmt.Errorf(`resource.namespace is missing: use "*" for all`)
		}
	}
	if nr := r.NonResource; nr != nil {
		switch {
		case len(nr.Verbs) == 0 || oneOf("", nr.Verbs):
			return fmt.Errorf("nonresource.verbs is empty")
		case nr.Path == nil || *nr.Path == "":
			return fmt.Errorf("nonresource.path is missing")
		}
	}
	return nil
}

func (r *Rule) checkSecond() error {
	if r.Users == nil {
		return fmt.Errorf("users is missing: name the projects (and roles) the rule is for")
	}
	if len(r.Users.Projects) == 0 {
		return fmt.Errorf("users.projects is empty: the rule could never match")
	}
	if len(r.Match) > 0 {
		return fmt.Errorf("match belongs to the resource/nonresource form; use users here")
	}
	for key, verbs := range r.ResourcePermissions {
		ns, res, ok := strings.Cut(key, "/")
		if !ok || strings.TrimSpace(ns) == "" || strings.TrimSpace(res) == "" {
			return fmt.Errorf("resource_permissions key %q: want <namespace>/<resource>", key)
		}
		for _, part := range []string{ns, res} {
			if _, err := parseSelector(part); err != nil {
				return fmt.Errorf("resource_permissions key %q: %w", key, err)
			}
		}
		if len(verbs) == 0 {
			return fmt.Errorf("resource_permissions[%q] has no verbs", key)
		}
	}
	for path, verbs := range r.NonResourcePermissions {
		if !strings.HasPrefix(path, "/") && path != "*" {
			return fmt.Errorf("nonresource_permissions key %q: want a path starting with /", path)
		}
		if len(verbs) == 0 {
			return fmt.Errorf("nonresource_permissions[%q] has no verbs", path)
		}
	}
	return nil
}

// selector is a namespace or resource definition of the second form:
// "*", "name", "!name", "['a', 'b']" or "!['a', 'b']".
type selector struct {
	negate bool
	names  []string
}

func parseSelector(def string) (selector, error) {
	def = strings.ToLower(strings.TrimSpace(def))
	var s selector
	if strings.HasPrefix(def, "!") {
		s.negate, def = true, strings.TrimSpace(def[1:])
	}
	if strings.HasPrefix(def, "[") {
		if err := json.Unmarshal([]byte(strings.ReplaceAll(def, "'", `"`)), &s.names); err != nil {
			return s, fmt.Errorf("list %s: want ['a', 'b']", def)
		}
		for i := range s.names {
			s.names[i] = strings.TrimSpace(s.names[i])
		}
	} else {
		s.names = []string{def}
	}
	if len(s.names) == 0 || oneOf("", s.names) {
		return s, fmt.Errorf("empty name in %q", def)
	}
	return s, nil
}

// matches: a named or negated selector never matches "" (a cluster-wide
// request), only "*" does; otherwise "ns-a/*" would let a tenant list
// every namespace's objects at once.
func (s selector) matches(v string) bool {
	in := oneOf("*", s.names) || oneOf(strings.ToLower(v), s.names)
	if v == "" {
		return !s.negate && oneOf("*", s.names)
	}
	return in != s.negate
}
