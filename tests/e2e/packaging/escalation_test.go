package packaging

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// ccmControllerServiceAccounts are the ServiceAccounts the CCM mints
// tokens for with --use-service-account-credentials: the client names
// cmd/cloud-controller-manager gives its controllers plus the provider's
// event client (pkg/ccm/<cloud>/provider.go eventComponent).
var ccmControllerServiceAccounts = []string{
	"kumo-cloud-node-controller",
	"kumo-cloud-node-lifecycle-controller",
	"kumo-service-controller",
	"kumo-route-controller",
}

// impersonate returns a client that acts as ServiceAccount kube-system/sa,
// so the API server's real authorizer judges every request.
func (s *apiServer) impersonate(t *testing.T, sa string) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(s.cfg)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:kube-system:" + sa,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testCCMTokenEscalation replays the escalation the old CCM Role allowed:
// acting as the CCM, create (or reuse) a privileged controller's
// ServiceAccount in kube-system and mint a token for it, e.g.
// clusterrole-aggregation-controller, whose ClusterRole may escalate to
// cluster-admin. The RBAC of the rendering under test must already be
// applied (both clouds' CCM overlays). Only the CCM's own controller ServiceAccounts may be read and
// get tokens.
func testCCMTokenEscalation(t *testing.T, s *apiServer) {
	const ns = "kube-system"
	ccm := s.impersonate(t, "kumo-cloud-controller-manager")
	sas := ccm.CoreV1().ServiceAccounts(ns)
	victim := "clusterrole-aggregation-controller"
	tokenReq := func() *authenticationv1.TokenRequest {
		return &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}
	}

	// 1. Create the privileged ServiceAccount as the CCM: forbidden.
	_, err := sas.Create(s.ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: victim, Namespace: ns}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if !apierrors.IsForbidden(err) {
		t.Errorf("CCM creating ServiceAccount %s/%s: got %v, want Forbidden", ns, victim, err)
	}
	// 2. A real cluster has that ServiceAccount (kube-controller-manager
	// creates it); mint a token for it as the CCM: forbidden.
	if _, err := s.client.CoreV1().ServiceAccounts(ns).Create(s.ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: victim, Namespace: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if tr, err := sas.CreateToken(s.ctx, victim, tokenReq(), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("CCM minting a token for %s/%s: got err=%v (token issued: %v), want Forbidden", ns, victim, err, tr != nil && tr.Status.Token != "")
	}
	if _, err := sas.Get(s.ctx, victim, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("CCM reading ServiceAccount %s/%s: got %v, want Forbidden", ns, victim, err)
	}
	// Nor any ServiceAccount listing, nor tokens elsewhere.
	if _, err := sas.List(s.ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("CCM listing ServiceAccounts in %s: got %v, want Forbidden", ns, err)
	}

	// 3. What --use-service-account-credentials needs still works: get
	// each controller's ServiceAccount and mint its token.
	for _, sa := range append(append([]string{}, ccmControllerServiceAccounts...), "nifcloud-cloud-provider", "openstack-cloud-provider") {
		if _, err := sas.Get(s.ctx, sa, metav1.GetOptions{}); err != nil {
			t.Errorf("CCM getting its controller ServiceAccount %s: %v", sa, err)
		}
		tr, err := sas.CreateToken(s.ctx, sa, tokenReq(), metav1.CreateOptions{})
		if err != nil || tr.Status.Token == "" {
			t.Errorf("CCM minting a token for its controller ServiceAccount %s: %v", sa, err)
		}
	}
}

// TestCCMTokenRoleMatchesClients: the names the CCM's Roles allow (get
// serviceaccounts, create serviceaccounts/token) are exactly the client
// names cmd/cloud-controller-manager gives its controllers plus the
// provider's event client, so a new controller cannot silently fail
// (or an old name linger) and ccmControllerServiceAccounts stays current.
func TestCCMTokenRoleMatchesClients(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "cmd", "cloud-controller-manager", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var clients []string
	for _, m := range regexp.MustCompile(`:\s*"(kumo-[a-z-]+)"`).FindAllStringSubmatch(string(src), -1) {
		clients = append(clients, m[1])
	}
	if got, want := sortedCopy(clients), sortedCopy(ccmControllerServiceAccounts); !slices.Equal(got, want) {
		t.Errorf("controller client names in main.go %v, ccmControllerServiceAccounts %v", got, want)
	}
	for _, cloud := range clouds {
		t.Run(cloud, func(t *testing.T) {
			prov, err := os.ReadFile(filepath.Join(repoRoot(t), "pkg", "ccm", cloud, "provider.go"))
			if err != nil {
				t.Fatal(err)
			}
			ev := regexp.MustCompile(`eventComponent = "([a-z-]+)"`).FindStringSubmatch(string(prov))
			if ev == nil {
				t.Fatal("no eventComponent in provider.go")
			}
			want := sortedCopy(append(append([]string{}, clients...), ev[1]))
			objs := renderKustomize(t, "deploy/ccm/overlays/"+cloud)
			// Names the CCM's ServiceAccount may read and mint tokens for.
			bound := map[string]bool{}
			for _, u := range objs.ofKind("RoleBinding") {
				b := convert[rbacv1.RoleBinding](t, u)
				for _, s := range b.Subjects {
					if s.Name == "kumo-cloud-controller-manager" && b.RoleRef.Kind == "Role" {
						bound[b.RoleRef.Name] = true
					}
				}
			}
			names := map[string][]string{}
			for _, u := range objs.ofKind("Role") {
				if !bound[u.GetName()] {
					continue
				}
				for _, r := range convert[rbacv1.Role](t, u).Rules {
					for _, res := range r.Resources {
						if res != "serviceaccounts" && res != "serviceaccounts/token" {
							continue
						}
						if len(r.ResourceNames) == 0 {
							t.Errorf("Role %s: %v %s without resourceNames", u.GetName(), r.Verbs, res)
						}
						if slices.Contains(r.Verbs, "create") && res == "serviceaccounts" {
							t.Errorf("Role %s: serviceaccounts create (cannot be limited by name)", u.GetName())
						}
						names[res] = append(names[res], r.ResourceNames...)
					}
				}
			}
			for _, res := range []string{"serviceaccounts", "serviceaccounts/token"} {
				if got := sortedCopy(names[res]); !slices.Equal(got, want) {
					t.Errorf("%s resourceNames %v, want the CCM's clients %v", res, got, want)
				}
			}
		})
	}
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}
