package packaging

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// runAPIServer starts etcd and a kube-apiserver with RBAC under dir (no
// controller manager: dry-run and authorization need only the API server)
// and returns an admin config. Both stop when the test ends; on failure
// their log tails are printed.
func runAPIServer(ctx context.Context, t *testing.T, etcdBin, apiBin, dir string) (*rest.Config, error) {
	logDir := filepath.Join(dir, "logs")
	var ports [3]int
	for i := range ports {
		p, err := framework.FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	if ports[0] == ports[1] || ports[1] == ports[2] || ports[0] == ports[2] {
		return nil, fmt.Errorf("free port collision %v; rerun", ports)
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	etcd, err := framework.StartProcess("etcd", logDir, etcdBin, []string{
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=default=" + peerURL,
		"--unsafe-no-fsync",
	}, nil)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { etcd.Stop(10 * time.Second) })

	tokenBytes := make([]byte, 16)
	if _, err := rand.Read(tokenBytes); err != nil {
		return nil, err
	}
	token := hex.EncodeToString(tokenBytes)
	pki := filepath.Join(dir, "pki")
	if err := writePKI(pki, token); err != nil {
		return nil, err
	}
	api, err := framework.StartProcess("kube-apiserver", logDir, apiBin, []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// No "kubernetes" Service endpoints: nothing here needs them, and
		// the reconciler refuses a loopback advertise address.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(ports[2]),
		"--cert-dir=" + pki,
		"--token-auth-file=" + filepath.Join(pki, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + filepath.Join(pki, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		// The node plugin is privileged.
		"--allow-privileged=true",
	}, nil)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { api.Stop(10 * time.Second) })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kube-apiserver log tail:\n%s", api.LogTail(30))
		}
	})

	host := "https://127.0.0.1:" + strconv.Itoa(ports[2])
	if err := waitReady(ctx, host, token, api); err != nil {
		return nil, err
	}
	return &rest.Config{
		Host: host, BearerToken: token, QPS: 200, Burst: 400,
		// The API server self-signs its serving certificate into --cert-dir.
		TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(pki, "apiserver.crt")},
	}, nil
}

// waitReady polls /readyz, which also waits for the RBAC bootstrap roles.
func waitReady(ctx context.Context, host, token string, api *framework.Process) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		// Loopback readiness probe only; real clients verify the CA.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback test cluster
	}}
	return framework.WaitFor(ctx, "kube-apiserver /readyz", 200*time.Millisecond, api, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, host+"/readyz", nil)
		if err != nil {
			return false, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// writePKI writes the service-account key pair and the admin's static
// token (group system:masters).
func writePKI(dir, token string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"sa.key":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"sa.pub":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"tokens.csv": fmt.Appendf(nil, "%s,kumo-packaging-admin,1,\"system:masters\"\n", token),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}
