package packaging

import (
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
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
