package framework

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// ServiceAccountKubeconfig mints a one-hour token for ServiceAccount
// namespace/name through the TokenRequest API (the ServiceAccount must
// exist) and writes a kubeconfig with it to path, so a component runs with
// the identity and RBAC the manifests give it instead of the admin's. The
// token is returned for the secrets scan.
func (cp *ControlPlane) ServiceAccountKubeconfig(ctx context.Context, namespace, name, path string) (string, error) {
	tr, err := cp.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	return tr.Status.Token, writeKubeconfig(path, cp.Config.Host, cp.Config.CAFile, tr.Status.Token)
}
