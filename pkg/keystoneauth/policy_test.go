package keystoneauth

import (
	"strings"
	"testing"
)

// The two forms as k8s-keystone-auth's documentation writes them.
const referencePolicy = `[
  {"resource": {"verbs": ["get", "list", "watch"], "resources": ["pods"], "version": "*", "namespace": "default"},
   "match": [{"type": "role", "values": ["member"]}, {"type": "project", "values": ["demo"]}]},
  {"nonresource": {"verbs": ["get"], "path": "/healthz"},
   "match": [{"type": "role", "values": ["member"]}]},
  {"users": {"roles": ["k8s_admin"], "projects": ["demo"]},
   "resource_permissions": {"*/*": ["*"]}, "nonresource_permissions": {"/healthz": ["get", "post"]}},
  {"users": {"roles": ["k8s_developer"], "projects": ["demo"]},
   "resource_permissions": {"!kube-system/['pods', 'services']": ["*"], "*/['nodes']": ["get", "list", "watch"]}}
]`

func keystoneReq(project string, roles []string, verb, ns, resource string) *Request {
	return &Request{User: "u", UID: "uid-u", Groups: []string{"pid-" + project},
		Extra:           map[string][]string{ExtraProjectID: {"pid-" + project}, ExtraProjectName: {project}, ExtraRoles: roles},
		ResourceRequest: true, Verb: verb, Namespace: ns, Resource: resource}
}

func TestReferencePolicyDecisions(t *testing.T) {
	p, err := ParsePolicy([]byte(referencePolicy))
	if err != nil {
		t.Fatal(err)
	}
	member, admin, dev := []string{"member"}, []string{"k8s_admin"}, []string{"k8s_developer", "member"}
	nonres := func(roles []string, verb, path string) *Request {
		r := keystoneReq("demo", roles, verb, "", "")
		r.ResourceRequest, r.Path = false, path
		return r
	}
	sub := func(r *Request, s string) *Request { r.Subresource = s; return r }
	byID := func(r *Request, id string) *Request { r.Extra[ExtraProjectID] = []string{id}; return r }
	for name, c := range map[string]struct {
		req  *Request
		want bool
	}{
		"member lists pods in default":        {keystoneReq("demo", member, "list", "default", "pods"), true},
		"member deletes pods":                 {keystoneReq("demo", member, "delete", "default", "pods"), false},
		"member in other namespace":           {keystoneReq("demo", member, "list", "other", "pods"), false},
		"member of other project":             {keystoneReq("other", member, "list", "default", "pods"), false},
		"member pods/exec (subresource)":      {sub(keystoneReq("demo", member, "get", "default", "pods"), "exec"), false},
		"project by ID":                       {byID(keystoneReq("zzz", member, "get", "default", "pods"), "demo"), true},
		"member healthz":                      {nonres(member, "get", "/healthz"), true},
		"member /metrics":                     {nonres(member, "get", "/metrics"), false},
		"admin anything":                      {keystoneReq("demo", admin, "delete", "kube-system", "secrets"), true},
		"admin cluster-wide":                  {keystoneReq("demo", admin, "list", "", "nodes"), true},
		"admin post healthz":                  {nonres(admin, "post", "/healthz"), true},
		"developer pods in app ns":            {keystoneReq("demo", dev, "create", "app", "pods"), true},
		"developer pods in kube-system":       {keystoneReq("demo", dev, "create", "kube-system", "pods"), false},
		"developer secrets":                   {keystoneReq("demo", dev, "get", "app", "secrets"), false},
		"developer watches nodes":             {keystoneReq("demo", dev, "watch", "", "nodes"), true},
		"developer all namespaces' pods":      {keystoneReq("demo", dev, "list", "", "pods"), false}, // "!kube-system" ≠ cluster-wide
		"developer delete nodes":              {keystoneReq("demo", dev, "delete", "", "nodes"), false},
		"developer role alone, other project": {keystoneReq("x", dev, "create", "app", "pods"), false},
	} {
		if _, got := p.Allows(c.req); got != c.want {
			t.Errorf("%s: allowed=%v, want %v", name, got, c.want)
		}
	}
}

func TestPolicyMatchTypes(t *testing.T) {
	p, err := ParsePolicy([]byte(`[
	 {"resource": {"verbs": ["*"], "resources": ["configmaps", "pods/log", "deployments/*"], "version": "apps", "namespace": "ns"},
	  "match": [{"type": "user", "values": ["alice", "uid-bob"]}]},
	 {"resource": {"verbs": ["get"], "resources": ["*"], "version": "*", "namespace": "*"},
	  "match": [{"type": "group", "values": ["ops"]}, {"type": "project", "values": ["*"]}]},
	 {"nonresource": {"verbs": ["*"], "path": "/apis/*"}, "match": [{"type": "user", "values": ["*"]}]}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	r := func(user, uid, group, verb, apiGroup, res, sub string) *Request {
		return &Request{User: user, UID: uid, Groups: []string{group}, Extra: map[string][]string{ExtraProjectID: {"p"}},
			ResourceRequest: true, Verb: verb, APIGroup: apiGroup, Namespace: "ns", Resource: res, Subresource: sub}
	}
	for name, c := range map[string]struct {
		req  *Request
		want bool
	}{
		"user by name":          {r("alice", "x", "", "update", "apps", "configmaps", ""), true},
		"user by uid":           {r("bob", "uid-bob", "", "update", "apps", "configmaps", ""), true},
		"other user":            {r("eve", "x", "", "update", "apps", "configmaps", ""), false},
		"wrong api group":       {r("alice", "x", "", "update", "", "configmaps", ""), false},
		"exact subresource":     {r("alice", "x", "", "get", "apps", "pods", "log"), true},
		"other subresource":     {r("alice", "x", "", "create", "apps", "pods", "exec"), false},
		"wildcard subresource":  {r("alice", "x", "", "update", "apps", "deployments", "scale"), true},
		"group gets anything":   {r("eve", "x", "ops", "get", "", "secrets", ""), true},
		"group may not update":  {r("eve", "x", "ops", "update", "", "secrets", ""), false},
		"nonresource prefix":    {&Request{User: "eve", Extra: map[string][]string{ExtraProjectID: {"p"}}, Verb: "get", Path: "/apis/apps/v1"}, true},
		"nonresource elsewhere": {&Request{User: "eve", Extra: map[string][]string{ExtraProjectID: {"p"}}, Verb: "get", Path: "/api"}, false},
	} {
		if _, got := p.Allows(c.req); got != c.want {
			t.Errorf("%s: allowed=%v, want %v", name, got, c.want)
		}
	}
}

func TestParsePolicyErrorsNameTheFault(t *testing.T) {
	ok := `{"resource": {"verbs": ["get"], "resources": ["pods"], "version": "*", "namespace": "*"}, "match": [{"type": "role", "values": ["m"]}]}`
	for policy, want := range map[string]string{
		`{}`:                          "not a JSON list",
		`[` + ok + `, {"match": []}]`: "policy[1]: grants nothing",
		`[{"resource": {"verbs": ["get"], "resources": ["pods"], "version": "*", "namespace": "*"}, "match": [{"type": "team", "values": ["x"]}]}]`: `policy[0]: match[0].type "team"`,
		`[{"resource": {"verbs": ["get"], "resources": ["pods"], "namespace": "*"}, "match": [{"type": "role", "values": ["x"]}]}]`:                 "resource.version",
		`[{"resource": {"verbs": [], "resources": ["pods"], "version": "*", "namespace": "*"}, "match": [{"type": "role", "values": ["x"]}]}]`:      "resource.verbs is empty",
		`[{"resource": {"verbs": ["get"], "resources": ["pods"], "version": "*", "namespace": "*"}}]`:                                               "match is empty",
		`[{"nonresource": {"verbs": ["get"]}, "match": [{"type": "role", "values": ["x"]}]}]`:                                                       "nonresource.path",
		`[{"users": {"roles": ["r"]}, "resource_permissions": {"*/*": ["*"]}}]`:                                                                     "users.projects is empty",
		`[{"users": {"projects": ["p"]}, "resource_permissions": {"pods": ["*"]}}]`:                                                                 `key "pods"`,
		`[{"users": {"projects": ["p"]}, "resource_permissions": {"['a'/pods": ["*"]}}]`:                                                            "want ['a', 'b']",
		`[{"users": {"projects": ["p"]}, "resource_permissions": {"ns/pods": []}}]`:                                                                 "no verbs",
		`[{"users": {"projects": ["p"]}, "nonresource_permissions": {"healthz": ["get"]}}]`:                                                         "starting with /",
		`[{"users": {"projects": ["p"]}, "resource": {"verbs": ["get"]}}]`:                                                                          "mixes",
		`[{"users": {"projects": ["p"]}, "resource_permission": {}}]`:                                                                               `unknown field "resource_permission"`,
	} {
		_, err := ParsePolicy([]byte(policy))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", policy, err, want)
		}
	}
}
