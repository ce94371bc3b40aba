package packaging

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// testKeystoneWebhookRuns starts the real keystone-auth binary with the
// exact arguments of the rendered DaemonSet (sync variant), its mounts
// replaced by files holding what the Secrets and ConfigMaps would, and the
// API credentials of its ServiceAccount's token: the flags exist, the pod
// becomes ready on its probe path, a Keystone user of project demo logs
// in, and the login creates the project's namespace and RoleBindings.
// Only --listen moves to a free loopback port, and --kubeconfig stands in
// for the in-cluster configuration.
func testKeystoneWebhookRuns(t *testing.T, s *apiServer, objs objects) {
	dir := t.TempDir()
	sim, err := openstacksim.New(openstacksim.Options{Users: []openstacksim.User{
		{Name: "k8s-keystone-auth", Password: "svc-pass", ProjectName: "service", Roles: []string{"service"}},
		{ID: "u-alice", Name: "alice", Password: "alice-pass", ProjectID: "demo0001", ProjectName: "demo", Roles: []string{"member"}},
	}, TokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cloud := httptest.NewServer(sim.Handler())
	t.Cleanup(cloud.Close)

	spec := podSpecs(t, objs)["kumo-keystone-auth"]
	c := spec.Containers[0]
	// What the kubelet would mount: Secrets and ConfigMaps as files.
	files := map[string]map[string]string{}
	cert, key := servingPair(t)
	for _, v := range spec.Volumes {
		switch {
		case v.Secret != nil && v.Secret.SecretName == "keystone-auth-tls":
			files[v.Name] = map[string]string{"tls.crt": cert, "tls.key": key}
		case v.Secret != nil && v.Secret.SecretName == "keystone-auth-cloud-config":
			files[v.Name] = map[string]string{"cloud.conf": fmt.Sprintf("[Global]\nauth-url = %s/identity/v3\nusername = k8s-keystone-auth\npassword = svc-pass\nproject-name = service\ndomain-name = Default\n", cloud.URL)}
		case v.ConfigMap != nil:
			files[v.Name] = convert[corev1.ConfigMap](t, objs["v1/ConfigMap/kube-system/"+v.ConfigMap.Name]).Data
		default:
			t.Fatalf("volume %s: no stand-in", v.Name)
		}
	}
	replacer := []string{}
	for _, m := range c.VolumeMounts {
		d := filepath.Join(dir, m.Name)
		for name, data := range files[m.Name] {
			writeTestFile(t, filepath.Join(d, name), data)
		}
		replacer = append(replacer, m.MountPath+"/", d+"/")
	}
	port, err := framework.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--listen=") {
			a = fmt.Sprintf("--listen=127.0.0.1:%d", port)
		}
		args = append(args, strings.NewReplacer(replacer...).Replace(a))
	}
	args = append(args, "--kubeconfig="+s.serviceAccountKubeconfig(t, dir, keystoneSA))

	bin := buildCommand(t, dir, "keystone-auth")
	p, err := framework.StartProcess("keystone-auth", dir, bin, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keystone-auth %v log:\n%s", args, p.LogTail(40))
		}
		p.Stop(5 * time.Second)
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(cert))
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	ready := c.ReadinessProbe.HTTPGet.Path
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get(base + ready)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if exited, _ := p.Exited(); exited || time.Now().After(deadline) {
			t.Fatalf("keystone-auth never answered 200 on %s (last error %v)", ready, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	review := authnv1.TokenReview{TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "TokenReview"},
		Spec: authnv1.TokenReviewSpec{Token: keystoneLogin(t, cloud.URL, "alice", "alice-pass")}}
	body, _ := json.Marshal(review)
	resp, err := hc.Post(base+"/webhook", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var got authnv1.TokenReview
	if err := json.Unmarshal(data, &got); err != nil || !got.Status.Authenticated || got.Status.User.Username != "alice" {
		t.Fatalf("TokenReview of alice's token: HTTP %d %s (%v)", resp.StatusCode, data, err)
	}
	ns, err := s.client.CoreV1().Namespaces().Get(s.ctx, "kumo-demo0001", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the login created no namespace for project demo: %v", err)
	}
	if _, err := s.client.RbacV1().RoleBindings(ns.Name).Get(s.ctx, "u-alice_member", metav1.GetOptions{}); err != nil {
		t.Errorf("the login created no RoleBinding for alice's member role: %v", err)
	}
	t.Logf("alice authenticated as %v; namespace %s and RoleBinding u-alice_member created by %s", got.Status.User.Groups, ns.Name, keystoneSA)
}

// serviceAccountKubeconfig writes a kubeconfig holding a fresh token of
// the ServiceAccount: the identity the pod's in-cluster config would use.
func (s *apiServer) serviceAccountKubeconfig(t *testing.T, dir, sa string) string {
	t.Helper()
	tr, err := s.client.CoreV1().ServiceAccounts("kube-system").CreateToken(s.ctx, sa,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca := s.cfg.CAData
	if len(ca) == 0 {
		if ca, err = os.ReadFile(s.cfg.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	caFile := filepath.Join(dir, "apiserver-ca.crt")
	writeTestFile(t, caFile, string(ca))
	path := filepath.Join(dir, "sa.kubeconfig")
	writeTestFile(t, path, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: %q, certificate-authority: %q}
users:
- name: u
  user: {token: %q}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
`, s.cfg.Host, caFile, tr.Status.Token))
	return path
}

// buildCommand builds ./cmd/<name> of the repository into dir.
func buildCommand(t *testing.T, dir, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, "./cmd/"+name)
	cmd.Dir, cmd.Env = repoRoot(t), append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, b)
	}
	return out
}

// keystoneLogin gets a project-scoped Keystone token from the simulator.
func keystoneLogin(t *testing.T, cloudURL, user, password string) string {
	t.Helper()
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"password":%q,"domain":{"name":"Default"}}}}}}`, user, password)
	resp, err := http.Post(cloudURL+"/identity/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	tok := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode != http.StatusCreated || tok == "" {
		t.Fatalf("login %s: %s", user, resp.Status)
	}
	return tok
}

// servingPair is a self-signed certificate for 127.0.0.1, as the TLS
// Secret must hold for the apiserver's webhook kubeconfig.
func servingPair(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "kumo-keystone-auth"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
