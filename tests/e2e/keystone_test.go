package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// keystonePolicy gives each project its namespace.
const keystonePolicy = `[
 {"users": {"projects": ["project-a"], "roles": ["member"]}, "resource_permissions": {"ns-a/*": ["*"]}},
 {"users": {"projects": ["project-b"], "roles": ["member"]}, "resource_permissions": {"ns-b/*": ["*"]}}
]`

// keystoneEnv is a real API server whose token and authorization webhooks
// are the keystone-auth binary, backed by a simulated Keystone.
type keystoneEnv struct {
	cp       *framework.ControlPlane
	webhook  *framework.Process
	cloudURL string
	clockOff *atomic.Int64 // added to the simulated Keystone's clock
	binDir   string
	tokens   []string // every token issued, for the log check
}

func TestKeystoneWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	bins, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	e := startKeystoneEnv(ctx, t, bins)
	admin := e.cp.Client
	for _, ns := range []string{"ns-a", "ns-b"} {
		if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("a user of project A lists pods in A and is forbidden in B", func(t *testing.T) {
		alice := e.clientFor(t, e.login(t, "alice", "alice-pass"))
		if _, err := alice.CoreV1().Pods("ns-a").List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatalf("alice in ns-a: %v", err)
		}
		_, err := alice.CoreV1().Pods("ns-b").List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "no keystone policy rule allows this request") {
			t.Fatalf("alice in ns-b: %v", err)
		}
		_, err = alice.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("alice across namespaces: %v", err)
		}
		bob := e.clientFor(t, e.login(t, "bob", "bob-pass"))
		if _, err := bob.CoreV1().Pods("ns-b").List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatalf("bob in ns-b: %v", err)
		}
	})

	t.Run("logins sync projects to namespaces and roles to RoleBindings", func(t *testing.T) {
		nss, err := admin.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "kumo.io/keystone-project-id"})
		if err != nil || len(nss.Items) != 2 {
			t.Fatalf("synced namespaces: %v %d", err, len(nss.Items))
		}
		found := false
		for _, ns := range nss.Items {
			rbs, err := admin.RbacV1().RoleBindings(ns.Name).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, rb := range rbs.Items {
				if strings.HasSuffix(rb.Name, "_member") && rb.Subjects[0].Name == "alice" && rb.RoleRef.Name == "member" {
					found = ns.Name == "kumo-"+ns.Labels["kumo.io/keystone-project-id"]
				}
			}
		}
		if !found {
			t.Fatalf("no RoleBinding of alice's member role in her project's namespace")
		}
	})

	t.Run("bad and revoked tokens are refused", func(t *testing.T) {
		_, err := e.clientFor(t, "gAAAAABbogus-token-for-e2e").CoreV1().Pods("ns-a").List(ctx, metav1.ListOptions{})
		if !apierrors.IsUnauthorized(err) {
			t.Fatalf("bogus token: %v", err)
		}
		tok := e.login(t, "bob", "bob-pass")
		bob := e.clientFor(t, tok)
		if _, err := bob.CoreV1().Pods("ns-b").List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		e.revoke(t, tok)
		waitUntil(t, 20*time.Second, "revoked token refused", func() bool {
			_, err := bob.CoreV1().Pods("ns-b").List(ctx, metav1.ListOptions{})
			return apierrors.IsUnauthorized(err)
		})
	})

	t.Run("a policy change in the ConfigMap takes effect without a restart", func(t *testing.T) {
		alice := e.clientFor(t, e.login(t, "alice", "alice-pass"))
		setPolicy(ctx, t, admin, `[{"users": {"projects": ["project-a"]}, "resource_permissions": {"['ns-a', 'ns-b']/pods": ["get", "list"]}}]`)
		waitUntil(t, 20*time.Second, "alice may list ns-b", func() bool {
			_, err := alice.CoreV1().Pods("ns-b").List(ctx, metav1.ListOptions{})
			return err == nil
		})
		setPolicy(ctx, t, admin, `[{"broken": "policy"}]`) // refused: the last good one stays
		time.Sleep(3 * time.Second)
		if _, err := alice.CoreV1().Pods("ns-b").List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatalf("a broken policy replaced the good one: %v", err)
		}
		setPolicy(ctx, t, admin, keystonePolicy)
		waitUntil(t, 20*time.Second, "alice forbidden in ns-b again", func() bool {
			_, err := alice.CoreV1().Pods("ns-b").List(ctx, metav1.ListOptions{})
			return apierrors.IsForbidden(err)
		})
	})

	t.Run("the exec plugin works with kubectl", func(t *testing.T) {
		// The real kubectl v1.37.2, built by hack/build-kube.sh.
		kubectl := bins.Kubectl
		kc := e.execKubeconfig(t, "alice")
		run := func(args ...string) (string, error) {
			cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig=" + kc}, args...)...)
			cmd.Env = append(os.Environ(), "OS_PASSWORD=alice-pass")
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		if out, err := run("get", "pods", "-n", "ns-a"); err != nil {
			t.Fatalf("kubectl get pods -n ns-a: %v\n%s", err, out)
		}
		out, err := run("get", "pods", "-n", "ns-b")
		if err == nil || !strings.Contains(out, "Forbidden") {
			t.Fatalf("kubectl get pods -n ns-b: %v\n%s", err, out)
		}
		entries, _ := os.ReadDir(filepath.Join(e.binDir, "kcache"))
		if len(entries) != 1 {
			t.Fatalf("token cache entries: %d", len(entries))
		}
		var c struct{ Token string }
		data, _ := os.ReadFile(filepath.Join(e.binDir, "kcache", entries[0].Name()))
		if json.Unmarshal(data, &c) == nil && c.Token != "" {
			e.tokens = append(e.tokens, c.Token)
		}
	})

	t.Run("malformed reviews get clear refusals", func(t *testing.T) {
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.webhookCA(t)}}}
		resp, err := hc.Post(e.webhookURL(t), "application/json", strings.NewReader(`{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"x"}}`))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		var st struct{ Message string }
		_ = json.NewDecoder(resp.Body).Decode(&st)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(st.Message, "neither resourceAttributes nor nonResourceAttributes") {
			t.Fatalf("malformed SubjectAccessReview: %d %q", resp.StatusCode, st.Message)
		}
	})

	t.Run("an expired token is refused", func(t *testing.T) {
		carol := e.clientFor(t, e.login(t, "carol", "carol-pass"))
		if _, err := carol.CoreV1().Pods("ns-a").List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		e.clockOff.Add(int64(2 * time.Hour)) // Keystone's clock passes the token's expiry
		waitUntil(t, 20*time.Second, "expired token refused", func() bool {
			_, err := carol.CoreV1().Pods("ns-a").List(ctx, metav1.ListOptions{})
			return apierrors.IsUnauthorized(err)
		})
	})

	t.Run("no log line holds a token or password", func(t *testing.T) {
		for _, p := range []string{e.webhook.LogPath, filepath.Join(e.cp.LogDir, "kube-apiserver.log")} {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range append([]string{"alice-pass", "bob-pass", "svc-pass"}, e.tokens...) {
				if bytes.Contains(data, []byte(secret)) {
					t.Errorf("%s holds a secret (%.6s…)", filepath.Base(p), secret)
				}
			}
		}
		// --logging-format=json: every line is one JSON object, and token
		// references (hash prefixes) are logged under "token".
		data, err := os.ReadFile(e.webhook.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		refs := 0
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			var rec map[string]any
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Errorf("webhook log line is not JSON: %.120s", line)
				continue
			}
			if _, ok := rec["token"]; ok {
				refs++
			}
		}
		if refs == 0 {
			t.Errorf("webhook log names no token reference; is -v=2 in effect?")
		}
	})
}

func startKeystoneEnv(ctx context.Context, t *testing.T, bins framework.Binaries) *keystoneEnv {
	t.Helper()
	e := &keystoneEnv{clockOff: &atomic.Int64{}, binDir: t.TempDir()}
	sim, err := openstacksim.New(openstacksim.Options{
		Users: []openstacksim.User{
			{Name: "k8s-keystone-auth", Password: "svc-pass", ProjectName: "service", Roles: []string{"service"}},
			{Name: "alice", Password: "alice-pass", ProjectName: "project-a", Roles: []string{"member"}},
			{Name: "bob", Password: "bob-pass", ProjectName: "project-b", Roles: []string{"member"}},
			{Name: "carol", Password: "carol-pass", ProjectName: "project-a", Roles: []string{"member"}},
		},
		TokenTTL: time.Hour,
		Now:      func() time.Time { return time.Now().Add(time.Duration(e.clockOff.Load())) },
	})
	if err != nil {
		t.Fatal(err)
	}
	cloud := httptest.NewServer(sim.Handler())
	t.Cleanup(cloud.Close)
	e.cloudURL = cloud.URL

	root, err := framework.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"keystone-auth", "client-keystone-auth"} {
		gb := exec.Command("go", "build", "-o", filepath.Join(e.binDir, cmd), "./cmd/"+cmd)
		gb.Dir, gb.Env = root, append(os.Environ(), "CGO_ENABLED=0")
		if out, err := gb.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/%s: %v\n%s", cmd, err, out)
		}
	}
	port, err := framework.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := e.binDir
	certFile, keyFile := writeServingPair(t, dir)
	hookConf := filepath.Join(dir, "webhook.kubeconfig")
	writeFile(t, hookConf, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: keystone-auth
  cluster:
    server: https://127.0.0.1:%d/webhook
    certificate-authority: %s
users:
- name: kube-apiserver
contexts:
- name: webhook
  context: {cluster: keystone-auth, user: kube-apiserver}
current-context: webhook
`, port, certFile))
	e.cp, err = framework.StartControlPlane(ctx, framework.Binaries{Etcd: bins.Etcd, APIServer: bins.APIServer}, t.TempDir(),
		framework.ControlPlaneOptions{APIServerOnly: true, APIServerExtraArgs: []string{
			"--authentication-token-webhook-config-file=" + hookConf,
			"--authentication-token-webhook-version=v1",
			"--authentication-token-webhook-cache-ttl=1s",
			"--authorization-webhook-config-file=" + hookConf,
			"--authorization-webhook-version=v1",
			"--authorization-webhook-cache-authorized-ttl=1s",
			"--authorization-webhook-cache-unauthorized-ttl=1s",
			// appended to the framework's Node,RBAC: RBAC first, then the policy
			"--authorization-mode=Webhook",
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.cp.Stop)
	setPolicy(ctx, t, e.cp.Client, keystonePolicy)

	conf := filepath.Join(dir, "cloud.conf")
	writeFile(t, conf, fmt.Sprintf("[Global]\nauth-url=%s/identity/v3\nusername=k8s-keystone-auth\npassword=svc-pass\nproject-name=service\ndomain-name=Default\n", cloud.URL))
	syncConf := filepath.Join(dir, "sync.yaml")
	writeFile(t, syncConf, "data-types-to-sync: [projects, role_assignments]\nnamespace-format: 'kumo-%i'\n")
	e.webhook, err = framework.StartProcess("keystone-auth", e.cp.LogDir, filepath.Join(dir, "keystone-auth"), []string{
		"--listen=127.0.0.1:" + strconv.Itoa(port),
		"--tls-cert-file=" + certFile, "--tls-private-key-file=" + keyFile,
		"--cloud-config=" + conf,
		"--policy-configmap-name=keystone-auth-policy",
		"--kubeconfig=" + e.cp.Kubeconfig,
		"--sync-config-file=" + syncConf,
		"--token-cache-ttl=1s", "--negative-cache-ttl=1s",
		"--logging-format=json", "-v=2",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keystone-auth log:\n%s", e.webhook.LogTail(40))
		}
		e.webhook.Stop(5 * time.Second)
	})
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.webhookCA(t)}}}
	waitUntil(t, 30*time.Second, "keystone-auth ready", func() bool {
		resp, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/readyz", port))
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return e
}

func (e *keystoneEnv) webhookURL(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.binDir, "webhook.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "server: "); ok {
			return v
		}
	}
	t.Fatal("no server in webhook kubeconfig")
	return ""
}

func (e *keystoneEnv) webhookCA(t *testing.T) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(e.binDir, "tls.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool
}

// login gets a Keystone token as the user, scoped to its default project.
func (e *keystoneEnv) login(t *testing.T, user, password string) string {
	t.Helper()
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"password":%q,"domain":{"name":"Default"}}}}}}`, user, password)
	resp, err := http.Post(e.cloudURL+"/identity/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	tok := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode != http.StatusCreated || tok == "" {
		t.Fatalf("login %s: %s", user, resp.Status)
	}
	e.tokens = append(e.tokens, tok)
	return tok
}

// revoke revokes a token as its bearer (DELETE /v3/auth/tokens).
func (e *keystoneEnv) revoke(t *testing.T, tok string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, e.cloudURL+"/identity/v3/auth/tokens", nil)
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("X-Subject-Token", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: %s", resp.Status)
	}
}

// clientFor is a client that sends only the Keystone token.
func (e *keystoneEnv) clientFor(t *testing.T, token string) kubernetes.Interface {
	t.Helper()
	cfg := rest.AnonymousClientConfig(e.cp.Config)
	cfg.BearerToken = token
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// execKubeconfig is a kubeconfig whose user runs client-keystone-auth.
func (e *keystoneEnv) execKubeconfig(t *testing.T, user string) string {
	t.Helper()
	path := filepath.Join(e.binDir, user+".kubeconfig")
	writeFile(t, path, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %s
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: %s
      args: ["--cache-dir=%s"]
      interactiveMode: Never
      env:
      - {name: OS_AUTH_URL, value: "%s/identity/v3"}
      - {name: OS_USERNAME, value: %s}
      - {name: OS_USER_DOMAIN_NAME, value: Default}
      - {name: OS_PROJECT_NAME, value: project-a}
      - {name: OS_PROJECT_DOMAIN_NAME, value: Default}
contexts:
- name: e2e
  context: {cluster: e2e, user: %s}
current-context: e2e
`, e.cp.Config.Host, e.cp.Config.CAFile, user, filepath.Join(e.binDir, "client-keystone-auth"), filepath.Join(e.binDir, "kcache"), e.cloudURL, user, user))
	return path
}

func setPolicy(ctx context.Context, t *testing.T, admin kubernetes.Interface, policy string) {
	t.Helper()
	cms := admin.CoreV1().ConfigMaps("kube-system")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "keystone-auth-policy"}, Data: map[string]string{"policies": policy}}
	_, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeServingPair writes a self-signed serving pair for 127.0.0.1 as
// tls.crt/tls.key in dir; the certificate is its own CA.
func writeServingPair(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "keystone-auth"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
	return certFile, keyFile
}
