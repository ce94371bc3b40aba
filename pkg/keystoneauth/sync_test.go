package keystoneauth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestSyncConfigErrors(t *testing.T) {
	for cfg, want := range map[string]string{
		"data-types-to-sync: [users]":       `"users" is not one of`,
		"namespace-format: '%n'":            "must contain %i",
		"namespace-format: 'Proj_%i'":       "does not make a namespace name",
		"role-mappings: []":                 "unknown field",
		"data-types-to-sync: projects: bad": "sync config",
	} {
		if _, err := ParseSyncConfig([]byte(cfg)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", cfg, err, want)
		}
	}
	c, err := ParseSyncConfig([]byte("data-types-to-sync: [projects, role_assignments]\nnamespace-format: 'kumo-%i'\n"))
	if err != nil || c.NamespaceFormat != "kumo-%i" || len(c.DataTypes) != 2 {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestSyncProjectsAndRoleBindings(t *testing.T) {
	w := newWorld(t, CacheOptions{TTL: time.Minute})
	cs := fake.NewClientset()
	var failCreate atomic.Bool
	cs.PrependReactor("create", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failCreate.Load() {
			return true, nil, errors.New("apiserver unavailable")
		}
		return false, nil, nil
	})
	cfg, err := ParseSyncConfig([]byte("data-types-to-sync: [projects, role_assignments]\nnamespace-format: '%n-%i'\nprojects-name-blacklist: [project-a]\n"))
	if err != nil {
		t.Fatal(err)
	}
	w.authn.Syncer = &Syncer{Config: cfg, Client: cs}
	ctx := context.Background()

	carol := w.authenticate(t, w.login(t, "carol", "carol-pass", "project-b"))
	uid, pid := carol.Status.User.UID, carol.Status.User.Extra[ExtraProjectID][0]
	ns := "project-b-" + pid
	got, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil || got.Labels["kumo.io/keystone-project-id"] != pid {
		t.Fatalf("namespace %s: %v %v", ns, err, got)
	}
	rb, err := cs.RbacV1().RoleBindings(ns).Get(ctx, uid+"_admin", metav1.GetOptions{})
	if err != nil || rb.RoleRef.Name != "admin" || rb.Subjects[0].Name != "carol" || rb.Subjects[0].Kind != "User" {
		t.Fatalf("role binding: %v %+v", err, rb)
	}

	// a role carol lost goes; other users' and admins' bindings stay
	for _, name := range []string{uid + "_member", "someone-else_member", "team-admins"} {
		if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "member"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w.authenticate(t, w.login(t, "carol", "carol-pass", "project-b"))
	list, _ := cs.RbacV1().RoleBindings(ns).List(ctx, metav1.ListOptions{})
	var names []string
	for _, rb := range list.Items {
		names = append(names, rb.Name)
	}
	slices.Sort(names)
	want := []string{"someone-else_member", "team-admins", uid + "_admin"}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("role bindings after sync: %v, want %v", names, want)
	}

	// blacklisted project: nothing made
	w.authenticate(t, w.login(t, "alice", "alice-pass", ""))
	if nss, _ := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); len(nss.Items) != 1 {
		t.Errorf("namespaces: %d", len(nss.Items))
	}

	// a failed sync fails the review and is not cached
	failCreate.Store(true)
	tok := w.login(t, "bob", "bob-pass", "")
	if ans := w.authenticate(t, tok); ans.Status.Authenticated || !strings.Contains(ans.Status.Error, "syncing the Keystone project") {
		t.Fatalf("failed sync: %+v", ans.Status)
	}
	failCreate.Store(false)
	if ans := w.authenticate(t, tok); !ans.Status.Authenticated {
		t.Fatalf("after the API server recovered: %+v", ans.Status)
	}
}
