package keystoneauth

import (
	"slices"
	"strings"
)

// Request is an access request as a SubjectAccessReview states it.
type Request struct {
	User   string
	UID    string
	Groups []string
	Extra  map[string][]string

	ResourceRequest bool
	Verb            string
	APIGroup        string
	Namespace       string
	Resource        string
	Subresource     string
	Path            string // non-resource requests
}

// keystoneUser tells whether the request comes from a user this webhook
// authenticated (it alone sets the project extra).
func (r *Request) keystoneUser() bool { return len(r.Extra[ExtraProjectID]) > 0 }

func (r *Request) projects() []string {
	return append(append([]string{}, r.Extra[ExtraProjectID]...), r.Extra[ExtraProjectName]...)
}

// Allows returns the index of the first rule allowing the request.
func (p Policy) Allows(req *Request) (int, bool) {
	for i := range p {
		if p[i].allows(req) {
			return i, true
		}
	}
	return -1, false
}

func (r *Rule) allows(req *Request) bool {
	if r.Users != nil {
		if !r.Users.match(req) {
			return false
		}
		if req.ResourceRequest {
			return resourcePermitted(r.ResourcePermissions, req)
		}
		return nonResourcePermitted(r.NonResourcePermissions, req)
	}
	if !matchAll(r.Match, req) {
		return false
	}
	if req.ResourceRequest {
		return r.Resource != nil && r.Resource.matches(req)
	}
	return r.NonResource != nil && r.NonResource.matches(req)
}

func (u *Users) match(req *Request) bool {
	roles := req.Extra[ExtraRoles]
	for _, want := range u.Roles {
		if !slices.Contains(roles, want) {
			return false
		}
	}
	for _, p := range req.projects() {
		if slices.Contains(u.Projects, p) {
			return true
		}
	}
	return false
}

func matchAll(ms []Match, req *Request) bool {
	for _, m := range ms {
		if slices.Contains(m.Values, "*") {
			continue
		}
		var have []string
		switch m.Type {
		case MatchUser:
			have = []string{req.User, req.UID}
		case MatchGroup:
			have = req.Groups
		case MatchProject:
			have = req.projects()
		case MatchRole:
			have = req.Extra[ExtraRoles]
		default:
			return false // ParsePolicy refuses these
		}
		if !slices.ContainsFunc(have, func(v string) bool { return v != "" && slices.Contains(m.Values, v) }) {
			return false
		}
	}
	return true
}

func verbAllowed(verbs []string, verb string) bool {
	return slices.ContainsFunc(verbs, func(v string) bool { v = strings.ToLower(v); return v == "*" || v == verb })
}

func (rs *ResourceSpec) matches(req *Request) bool {
	if !verbAllowed(rs.Verbs, req.Verb) ||
		(*rs.APIGroup != "*" && *rs.APIGroup != req.APIGroup) ||
		(*rs.Namespace != "*" && *rs.Namespace != req.Namespace) {
		return false
	}
	if slices.Contains(rs.Resources, "*") {
		return true
	}
	if req.Subresource == "" {
		return slices.Contains(rs.Resources, req.Resource)
	}
	return slices.Contains(rs.Resources, req.Resource+"/*") || slices.Contains(rs.Resources, req.Resource+"/"+req.Subresource)
}

func (nr *NonResourceSpec) matches(req *Request) bool {
	return verbAllowed(nr.Verbs, req.Verb) && pathMatches(*nr.Path, req.Path)
}

// pathMatches: "*", the exact path, or a prefix ending in "*".
func pathMatches(def, path string) bool {
	if def == "*" || def == path {
		return true
	}
	prefix, ok := strings.CutSuffix(def, "*")
	return ok && strings.HasPrefix(path, prefix)
}

func resourcePermitted(perms map[string][]string, req *Request) bool {
	for key, verbs := range perms {
		nsDef, resDef, _ := strings.Cut(key, "/")
		ns, err1 := parseSelector(nsDef)
		res, err2 := parseSelector(resDef)
		if err1 != nil || err2 != nil || !verbAllowed(verbs, req.Verb) {
			continue
		}
		resource := req.Resource
		if req.Subresource != "" && slices.ContainsFunc(res.names, func(n string) bool { return strings.Contains(n, "/") }) {
			resource += "/" + req.Subresource
		}
		if ns.matches(req.Namespace) && res.matches(resource) {
			return true
		}
	}
	return false
}

func nonResourcePermitted(perms map[string][]string, req *Request) bool {
	for path, verbs := range perms {
		if pathMatches(path, req.Path) && verbAllowed(verbs, req.Verb) {
			return true
		}
	}
	return false
}
