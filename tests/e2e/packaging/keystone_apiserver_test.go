package packaging

import (
	"context"
	"slices"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kumo-project/kumo/pkg/keystoneauth"
)

// TestKeystoneManifestsAgainstAPIServer applies the keystone-auth
// renderings to a real kube-apiserver with server-side dry-run and strict
// validation, creates their RBAC for real, checks it with access reviews,
// and then runs the webhook's own policy watch and syncer as its
// ServiceAccount (impersonated): the RBAC is enough for what the code
// calls, and no more.
func TestKeystoneManifestsAgainstAPIServer(t *testing.T) {
	s := startAPIServer(t)
	for _, v := range keystoneVariants {
		t.Run("kustomize/"+v.name, func(t *testing.T) {
			objs := renderKeystoneKustomize(t, v.components...)
			if err := s.applyAll(objs, true); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d objects accepted", len(objs))
		})
	}
	t.Run("helm/all-values", func(t *testing.T) {
		objs := mustRender(t, keystoneChart, keystoneFullValues())
		if err := s.applyAll(objs, true); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d objects accepted (all optional values set)", len(objs))
	})
	t.Run("credentials", func(t *testing.T) {
		if err := s.applyAll(renderKustomize(t, keystoneDir+"/credentials"), true); err != nil {
			t.Fatal(err)
		}
	})

	// The sync variant holds the default's objects plus the sync ones.
	objs := renderKeystoneKustomize(t, keystoneSync)
	if err := s.applyAll(objs, false); err != nil {
		t.Fatal(err)
	}
	t.Run("rbac", func(t *testing.T) {
		perms := keystonePermissions()
		for _, p := range perms {
			if got := s.allowed(t, p); got != p.allow {
				t.Errorf("%s: allowed=%v, want %v (%s)", p, got, p.allow, p.why)
			}
		}
		t.Logf("%d access checks", len(perms))
	})
	cs := s.asServiceAccount(t, keystoneSA)
	t.Run("policy-watch", func(t *testing.T) { testKeystonePolicyWatch(t, s.ctx, cs) })
	t.Run("sync", func(t *testing.T) { testKeystoneSync(t, s, cs) })
	t.Run("webhook-runs", func(t *testing.T) { testKeystoneWebhookRuns(t, s, objs) })
}

// keystonePermissions: the policy ConfigMap and nothing else in the base;
// with sync, namespaces and RoleBindings but no cluster-wide grants.
func keystonePermissions() []permission {
	const sa, ns, cm = keystoneSA, "kube-system", "keystone-auth-policy"
	rbac := "rbac.authorization.k8s.io"
	p := func(verb, group, resource, namespace, name string, allow bool, why string) permission {
		return permission{sa: sa, verb: verb, group: group, resource: resource, namespace: namespace, name: name, allow: allow, why: why}
	}
	return []permission{
		p("get", "", "configmaps", ns, cm, true, "policy ConfigMap"),
		p("list", "", "configmaps", ns, cm, true, "informer list, fieldSelector metadata.name"),
		p("watch", "", "configmaps", ns, cm, true, "informer watch, fieldSelector metadata.name"),
		p("get", "", "configmaps", ns, "kube-proxy", false, "no other ConfigMap"),
		p("list", "", "configmaps", ns, "", false, "no listing of all ConfigMaps"),
		p("update", "", "configmaps", ns, cm, false, "the webhook only reads its policy"),
		p("get", "", "configmaps", "default", cm, false, "the policy lives in kube-system"),
		p("get", "", "secrets", ns, "keystone-auth-cloud-config", false, "Secrets come as volumes, never through the API"),
		p("list", "", "secrets", "", "", false, "no Secrets"),
		p("create", "", "namespaces", "", "", true, "sync: the project's namespace"),
		p("delete", "", "namespaces", "", "kumo-p1", false, "sync never deletes namespaces"),
		p("list", rbac, "rolebindings", "kumo-p1", "", true, "sync: the user's bindings"),
		p("create", rbac, "rolebindings", "kumo-p1", "", true, "sync: a binding per role"),
		p("delete", rbac, "rolebindings", "kumo-p1", "u1_reader", true, "sync: a role Keystone took away"),
		p("update", rbac, "rolebindings", "kumo-p1", "u1_reader", false, "sync only creates and deletes"),
		p("bind", rbac, "clusterroles", "kumo-p1", "member", true, "binding Keystone role member"),
		p("bind", rbac, "clusterroles", "kumo-p1", "cluster-admin", false, "never cluster-admin"),
		p("escalate", rbac, "clusterroles", "", "member", false, "no escalate"),
		p("create", rbac, "clusterrolebindings", "", "", false, "no cluster-wide bindings"),
		p("create", rbac, "roles", "kumo-p1", "", false, "no Roles"),
		p("create", "", "serviceaccounts/token", ns, "kumo-keystone-auth", false, "no tokens"),
	}
}

// asServiceAccount is a client that impersonates a kube-system
// ServiceAccount, groups included, as its token would authenticate.
func (s *apiServer) asServiceAccount(t *testing.T, sa string) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(s.cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:kube-system:" + sa,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// testKeystonePolicyWatch runs the webhook's ConfigMap watch as its
// ServiceAccount: the informer's list and watch pass RBAC, and the sample
// policy lets demo's members into namespace demo only.
func testKeystonePolicyWatch(t *testing.T, parent context.Context, cs kubernetes.Interface) {
	ctx, cancel := context.WithTimeout(parent, 30*time.Second)
	defer cancel()
	authz := &keystoneauth.Authorizer{Metrics: keystoneauth.NewMetrics()}
	loader := &keystoneauth.PolicyLoader{Authorizer: authz}
	if err := loader.WatchConfigMap(ctx, cs, "kube-system", "keystone-auth-policy"); err != nil {
		t.Fatal(err)
	}
	// The informer's handler loads the policy just after the cache syncs.
	for !authz.HasPolicy() {
		select {
		case <-ctx.Done():
			t.Fatal("no policy in force after the watch synced")
		case <-time.After(50 * time.Millisecond):
		}
	}
	demo := func(ns string, roles ...string) *keystoneauth.Request {
		return &keystoneauth.Request{User: "alice", Extra: map[string][]string{
			keystoneauth.ExtraProjectID: {"p1"}, keystoneauth.ExtraProjectName: {"demo"}, keystoneauth.ExtraRoles: roles},
			ResourceRequest: true, Verb: "list", Resource: "pods", Namespace: ns}
	}
	for _, c := range []struct {
		req   *keystoneauth.Request
		allow bool
	}{
		{demo("demo", "member"), true},
		{demo("demo", "reader"), false},
		{demo("kube-system", "member"), false},
		{demo("", "member"), false},
	} {
		if got := authz.Decide(ctx, c.req).Allowed; got != c.allow {
			t.Errorf("%s in namespace %q with roles %v: allowed=%v, want %v", c.req.Verb, c.req.Namespace, c.req.Extra[keystoneauth.ExtraRoles], got, c.allow)
		}
	}
}

// testKeystoneSync runs pkg/keystoneauth's Syncer with the rendered sync
// configuration as the webhook's ServiceAccount.
func testKeystoneSync(t *testing.T, s *apiServer, cs kubernetes.Interface) {
	cm, err := s.client.CoreV1().ConfigMaps("kube-system").Get(s.ctx, "keystone-auth-sync", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := keystoneauth.ParseSyncConfig([]byte(cm.Data["sync-config.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	// The ClusterRoles are the administrator's; "reader" is left missing
	// on purpose: bind allows a binding to a role not created yet.
	member := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "member"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}}}
	if _, err := s.client.RbacV1().ClusterRoles().Create(s.ctx, member, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	syncer := &keystoneauth.Syncer{Config: conf, Client: cs}
	id := &keystoneauth.Identity{UserID: "u1", UserName: "alice", ProjectID: "p1", ProjectName: "demo", UserDomainID: "default", Roles: []string{"member", "reader"}}
	if err := syncer.Sync(s.ctx, id); err != nil {
		t.Fatalf("sync as %s: %v", keystoneSA, err)
	}
	bindings := func() []string {
		list, err := s.client.RbacV1().RoleBindings("kumo-p1").List(s.ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, rb := range list.Items {
			out = append(out, rb.Name)
		}
		slices.Sort(out)
		return out
	}
	if got := bindings(); !slices.Equal(got, []string{"u1_member", "u1_reader"}) {
		t.Errorf("RoleBindings in kumo-p1: %v, want u1_member u1_reader", got)
	}
	// A second login (namespace exists) after Keystone took reader away.
	id.Roles = []string{"member"}
	if err := syncer.Sync(s.ctx, id); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	if got := bindings(); !slices.Equal(got, []string{"u1_member"}) {
		t.Errorf("after losing reader: %v, want u1_member", got)
	}
	// Blacklisted projects are left alone.
	if err := syncer.Sync(s.ctx, &keystoneauth.Identity{UserID: "u2", UserName: "svc", ProjectID: "p2", ProjectName: "service", Roles: []string{"admin"}}); err != nil {
		t.Fatalf("blacklisted project: %v", err)
	}
	if _, err := s.client.CoreV1().Namespaces().Get(s.ctx, "kumo-p2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace of blacklisted project service: %v, want NotFound", err)
	}
	// A role outside the bind list is skipped, the login goes on: RBAC's
	// escalation check refuses the binding (NotFound for a missing
	// ClusterRole, Forbidden for one the ServiceAccount may not bind) and
	// a binding not made grants nothing.
	id.Roles = []string{"member", "load-balancer_member"}
	if err := syncer.Sync(s.ctx, id); err != nil {
		t.Errorf("role outside sync.roles, no ClusterRole: %v, want the login to go on", err)
	}
	lb := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "load-balancer_member"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get"}}}}
	if _, err := s.client.RbacV1().ClusterRoles().Create(s.ctx, lb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := syncer.Sync(s.ctx, id); err != nil {
		t.Errorf("role outside sync.roles, ClusterRole present: %v, want the login to go on", err)
	}
	if got := bindings(); !slices.Equal(got, []string{"u1_member"}) {
		t.Errorf("after an unbindable role: %v, want only u1_member", got)
	}
	// And the ServiceAccount cannot make itself an admin anywhere.
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "grab", Namespace: "kube-system"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: keystoneSA, Namespace: "kube-system"}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"}}
	if _, err := cs.RbacV1().RoleBindings("kube-system").Create(s.ctx, rb, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("binding cluster-admin in kube-system as %s: %v, want Forbidden", keystoneSA, err)
	}
}
