package keystoneauth

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// tenantPolicy maps each project to its namespace.
const tenantPolicy = `[
 {"users": {"projects": ["project-a"], "roles": ["member"]}, "resource_permissions": {"ns-a/*": ["*"]}},
 {"users": {"projects": ["project-b"], "roles": ["member"]}, "resource_permissions": {"ns-b/*": ["*"]}},
 {"users": {"projects": ["project-b"], "roles": ["admin"]}, "resource_permissions": {"ns-b/*": ["get", "list"]}},
 {"nonresource": {"verbs": ["get"], "path": "/version"}, "match": [{"type": "project", "values": ["*"]}]}
]`

type sarAnswer struct {
	APIVersion string `json:"apiVersion"`
	Status     struct {
		Allowed bool   `json:"allowed"`
		Denied  bool   `json:"denied"`
		Reason  string `json:"reason"`
	} `json:"status"`
}

// sar builds the SubjectAccessReview the API server sends for a user the
// TokenReview authenticated.
func sar(u reviewAnswer, verb, ns, resource string) map[string]any {
	attrs := map[string]any{"verb": verb, "namespace": ns, "resource": resource, "version": "v1"}
	return map[string]any{"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
		"spec": map[string]any{"user": u.Status.User.Username, "uid": u.Status.User.UID, "groups": u.Status.User.Groups,
			"extra": u.Status.User.Extra, "resourceAttributes": attrs}}
}

func (w *world) authorize(t *testing.T, review map[string]any) sarAnswer {
	t.Helper()
	var ans sarAnswer
	if code := w.post(t, "/webhook", review, &ans); code != http.StatusOK {
		t.Fatalf("SubjectAccessReview: HTTP %d", code)
	}
	return ans
}

func TestTenantIsolationOverHTTP(t *testing.T) {
	w := newWorld(t, CacheOptions{TTL: time.Minute})
	p, err := ParsePolicy([]byte(tenantPolicy))
	if err != nil {
		t.Fatal(err)
	}
	w.authz.SetPolicy(p)
	alice := w.authenticate(t, w.login(t, "alice", "alice-pass", ""))
	bob := w.authenticate(t, w.login(t, "bob", "bob-pass", ""))
	carolB := w.authenticate(t, w.login(t, "carol", "carol-pass", "project-b"))
	carolA := w.authenticate(t, w.login(t, "carol", "carol-pass", "project-a"))
	for name, c := range map[string]struct {
		user              reviewAnswer
		verb, ns, res     string
		allowed, explicit bool
	}{
		"alice lists pods in ns-a":    {alice, "list", "ns-a", "pods", true, false},
		"alice deletes in ns-a":       {alice, "delete", "ns-a", "secrets", true, false},
		"alice lists pods in ns-b":    {alice, "list", "ns-b", "pods", false, true},
		"alice lists all pods":        {alice, "list", "", "pods", false, true},
		"bob lists pods in ns-b":      {bob, "list", "ns-b", "pods", true, false},
		"bob in ns-a":                 {bob, "get", "ns-a", "pods", false, true},
		"carol@b reads ns-b":          {carolB, "get", "ns-b", "pods", true, false},
		"carol@b may not delete ns-b": {carolB, "delete", "ns-b", "pods", false, true},
		"carol@a (reader) in ns-a":    {carolA, "get", "ns-a", "pods", false, true},
	} {
		ans := w.authorize(t, sar(c.user, c.verb, c.ns, c.res))
		if ans.Status.Allowed != c.allowed || ans.Status.Denied != c.explicit || ans.Status.Reason == "" {
			t.Errorf("%s: %+v", name, ans.Status)
		}
	}
	// non-resource path for any Keystone user
	nr := sar(alice, "", "", "")
	nr["spec"].(map[string]any)["resourceAttributes"] = nil
	nr["spec"].(map[string]any)["nonResourceAttributes"] = map[string]any{"verb": "get", "path": "/version"}
	if ans := w.authorize(t, nr); !ans.Status.Allowed {
		t.Errorf("/version: %+v", ans.Status)
	}
	// users the webhook did not authenticate get no opinion, so RBAC decides
	sa := map[string]any{"apiVersion": "authorization.k8s.io/v1beta1", "kind": "SubjectAccessReview",
		"spec": map[string]any{"user": "system:serviceaccount:kube-system:x", "group": []string{"system:serviceaccounts"},
			"resourceAttributes": map[string]any{"verb": "list", "namespace": "ns-a", "resource": "pods"}}}
	ans := w.authorize(t, sa)
	if ans.Status.Allowed || ans.Status.Denied || ans.APIVersion != "authorization.k8s.io/v1beta1" {
		t.Errorf("service account: %+v", ans)
	}
}

func TestMalformedReviewsGetClearRefusals(t *testing.T) {
	w := newWorld(t, CacheOptions{})
	w.authz.SetPolicy(Policy{})
	for name, c := range map[string]struct {
		path string
		body any
		code int
		want string
	}{
		"not JSON":            {"/webhook", "{{", 400, "not a JSON object"},
		"unknown kind":        {"/webhook", `{"apiVersion":"v1","kind":"Pod"}`, 400, `kind "Pod" is not served`},
		"old apiVersion":      {"/webhook", `{"apiVersion":"authentication.k8s.io/v2","kind":"TokenReview"}`, 400, `apiVersion "authentication.k8s.io/v2"`},
		"SAR at authenticate": {"/authenticate", `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview"}`, 400, "not served at /authenticate"},
		"token not a string":  {"/authenticate", `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":5}}`, 400, "TokenReview: json"},
		"SAR no attributes":   {"/authorize", `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"u"}}`, 400, "neither resourceAttributes nor nonResourceAttributes"},
		"SAR both":            {"/authorize", `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"u","resourceAttributes":{"verb":"get"},"nonResourceAttributes":{"verb":"get","path":"/"}}}`, 400, "both"},
		"SAR no user":         {"/authorize", `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"resourceAttributes":{"verb":"get"}}}`, 400, "spec.user and spec.groups are empty"},
		"SAR no verb":         {"/authorize", `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"u","resourceAttributes":{"resource":"pods"}}}`, 400, "resourceAttributes.verb"},
	} {
		var st struct {
			Kind, Message string
			Code          int
		}
		code := w.post(t, c.path, c.body, &st)
		if code != c.code || st.Kind != "Status" || st.Code != c.code || !strings.Contains(st.Message, c.want) {
			t.Errorf("%s: HTTP %d %+v, want %d %q", name, code, st, c.code, c.want)
		}
	}
	// wrong method and content type
	resp, err := w.webhook.Client().Get(w.webhook.URL + "/webhook")
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET /webhook: %v %v", err, resp)
	}
	_ = resp.Body.Close()
	resp, err = w.webhook.Client().Post(w.webhook.URL+"/webhook", "text/plain", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("text/plain: %v %v", err, resp)
	}
	_ = resp.Body.Close()
}

func TestServerHealthAndMetrics(t *testing.T) {
	w := newWorld(t, CacheOptions{TTL: time.Minute})
	get := func(path string) (int, string) {
		resp, err := w.webhook.Client().Get(w.webhook.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "no keystone policy") {
		t.Errorf("readyz before policy: %d %s", code, body)
	}
	w.authz.SetPolicy(Policy{})
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("readyz after policy: %d", code)
	}
	w.authenticate(t, w.login(t, "alice", "alice-pass", ""))
	w.authenticate(t, "bogus")
	_, body := get("/metrics")
	for _, want := range []string{`kumo_keystone_auth_token_reviews_total{result="authenticated"} 1`,
		`kumo_keystone_auth_token_reviews_total{result="rejected"} 1`,
		`kumo_keystone_auth_keystone_request_duration_seconds_count{code="200"} 1`,
		`kumo_keystone_auth_keystone_request_duration_seconds_count{code="404"} 1`,
		`kumo_keystone_auth_policy_rules 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestPolicyReloadFromFile(t *testing.T) {
	a := &Authorizer{Metrics: NewMetrics()}
	l := &PolicyLoader{Authorizer: a}
	path := filepath.Join(t.TempDir(), "policies")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	write(`[]`)
	if err := l.LoadFile(ctx, path); err != nil {
		t.Fatal(err)
	}
	req := keystoneReq("project-a", []string{"member"}, "list", "ns-a", "pods")
	if a.Decide(ctx, req).Allowed {
		t.Fatal("empty policy allowed")
	}
	go l.WatchFile(ctx, path, 10*time.Millisecond)
	write(tenantPolicy)
	waitFor(t, func() bool { return a.Decide(ctx, req).Allowed })
	write(`[{"broken": true}]`) // refused: the tenant policy stays
	time.Sleep(50 * time.Millisecond)
	if !a.Decide(ctx, req).Allowed {
		t.Fatal("broken policy replaced the good one")
	}
	write(`[]`)
	waitFor(t, func() bool { return !a.Decide(ctx, req).Allowed })
	write(`not json`)
	if err := l.LoadFile(ctx, path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("broken file at start-up: %v", err)
	}
}

func TestPolicyReloadFromConfigMap(t *testing.T) {
	a := &Authorizer{Metrics: NewMetrics()}
	l := &PolicyLoader{Authorizer: a}
	cs := fake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := l.WatchConfigMap(ctx, cs, "kube-system", "keystone-auth-policy"); err != nil {
		t.Fatal(err)
	}
	if !a.HasPolicy() {
		t.Fatal("a missing ConfigMap must leave an (empty) policy in force")
	}
	req := keystoneReq("project-a", []string{"member"}, "list", "ns-a", "pods")
	cms := cs.CoreV1().ConfigMaps("kube-system")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "keystone-auth-policy"}, Data: map[string]string{PolicyKey: tenantPolicy}}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return a.Decide(ctx, req).Allowed })
	// another ConfigMap in the namespace is not the policy
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Data: map[string]string{PolicyKey: `[]`}}
	if _, err := cms.Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm.Data[PolicyKey] = `[{"users": {"projects": ["project-a"]}, "resource_permissions": {"ns-a/pods": ["get"]}}]`
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !a.Decide(ctx, req).Allowed })
	get := keystoneReq("project-a", nil, "get", "ns-a", "pods")
	if !a.Decide(ctx, get).Allowed {
		t.Fatal("updated policy not in force")
	}
	if err := cms.Delete(ctx, cm.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !a.Decide(ctx, get).Allowed })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
