package framework

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
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// ControlPlane is etcd + kube-apiserver + kube-controller-manager.
type ControlPlane struct {
	Dir        string
	LogDir     string
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	procs      []*Process
	// nodeTokens are the kubelets' credentials (ControlPlaneOptions.Nodes).
	nodeTokens map[string]string
}

// ControlPlaneOptions tune the control plane.
type ControlPlaneOptions struct {
	// Controllers is kube-controller-manager's --controllers (default: the
	// attach/detach and persistent volume controllers only).
	Controllers string
	// Scheduler also starts kube-scheduler.
	Scheduler bool
	// APIServerOnly starts etcd and kube-apiserver only (manifest
	// dry-runs and authorization checks need nothing else); Binaries then
	// needs only Etcd and APIServer.
	APIServerOnly bool
	// Nodes are the names of real kubelets that will join: each gets a
	// token with its node identity (system:node:<name>, system:nodes).
	Nodes []string
	// APIServerExtraArgs are appended to kube-apiserver's flags (webhook
	// config files; a repeated --authorization-mode adds modes).
	APIServerExtraArgs []string
}

// StartControlPlane starts the three processes under dir and waits until
// the API server is ready. Stop it with Stop, also on failure.
func StartControlPlane(ctx context.Context, bins Binaries, dir string, opts ControlPlaneOptions) (*ControlPlane, error) {
	cp := &ControlPlane{Dir: dir, LogDir: filepath.Join(dir, "logs")}
	if err := cp.start(ctx, bins, opts); err != nil {
		cp.Stop()
		return nil, err
	}
	return cp, nil
}

func (cp *ControlPlane) start(ctx context.Context, bins Binaries, opts ControlPlaneOptions) error {
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort, kcmPort := ports[0], ports[1], ports[2], ports[3]
	etcd, err := StartProcess("etcd", cp.LogDir, bins.Etcd, []string{
		"--data-dir=" + filepath.Join(cp.Dir, "etcd"),
		"--listen-client-urls=http://127.0.0.1:" + strconv.Itoa(etcdClient),
		"--advertise-client-urls=http://127.0.0.1:" + strconv.Itoa(etcdClient),
		"--listen-peer-urls=http://127.0.0.1:" + strconv.Itoa(etcdPeer),
		"--initial-advertise-peer-urls=http://127.0.0.1:" + strconv.Itoa(etcdPeer),
		"--initial-cluster=default=http://127.0.0.1:" + strconv.Itoa(etcdPeer),
		"--unsafe-no-fsync",
	}, nil)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, etcd)

	token, err := randomHex(16)
	if err != nil {
		return err
	}
	pki := filepath.Join(cp.Dir, "pki")
	cp.nodeTokens = map[string]string{}
	var nodeLines string
	for _, n := range opts.Nodes {
		if cp.nodeTokens[n], err = randomHex(16); err != nil {
			return err
		}
		nodeLines += nodeTokenLine(n, cp.nodeTokens[n])
	}
	if err := writePKI(pki, token, nodeLines); err != nil {
		return err
	}
	api, err := StartProcess("kube-apiserver", cp.LogDir, bins.APIServer, append([]string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(etcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// No kubernetes Service endpoints: a loopback address is refused by
		// the endpoint reconciler, and nothing in-cluster needs them.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(apiPort),
		"--cert-dir=" + pki,
		"--token-auth-file=" + filepath.Join(pki, "tokens.csv"),
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + filepath.Join(pki, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--allow-privileged=true",
		// No service-account or namespace controllers run, so pods must not
		// need a "default" ServiceAccount to exist.
		"--disable-admission-plugins=ServiceAccount",
	}, opts.APIServerExtraArgs...), nil)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, api)

	host := "https://127.0.0.1:" + strconv.Itoa(apiPort)
	if err := waitReady(ctx, host, token, api); err != nil {
		return err
	}
	// The API server wrote its self-signed serving certificate (with its
	// CA) into --cert-dir; clients verify against it.
	caFile := filepath.Join(pki, "apiserver.crt")
	cp.Config = &rest.Config{Host: host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAFile: caFile}, QPS: 100, Burst: 200}
	cp.Kubeconfig = filepath.Join(cp.Dir, "kubeconfig")
	if err := writeKubeconfig(cp.Kubeconfig, host, caFile, token); err != nil {
		return err
	}
	cp.Client, err = kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return err
	}
	if opts.APIServerOnly {
		return nil
	}

	controllers := opts.Controllers
	if controllers == "" {
		controllers = "persistentvolume-binder-controller,persistentvolume-attach-detach-controller,persistentvolume-protection-controller,persistentvolumeclaim-protection-controller"
	}
	kcm, err := StartProcess("kube-controller-manager", cp.LogDir, bins.ControllerManager, []string{
		"--kubeconfig=" + cp.Kubeconfig,
		"--authentication-skip-lookup",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(kcmPort),
		"--leader-elect=false",
		"--controllers=" + controllers,
		"--use-service-account-credentials=false",
		// The attach/detach controller reconciles quickly in tests, and a
		// node whose kubelet stopped is NotReady after 20s, not 50s.
		"--attach-detach-reconcile-sync-period=5s",
		"--node-monitor-grace-period=20s",
	}, nil)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, kcm)
	kctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := waitTCP(kctx, "kube-controller-manager", kcmPort, kcm); err != nil {
		return err
	}
	if !opts.Scheduler {
		return nil
	}
	schedPort, err := FreePort()
	if err != nil {
		return err
	}
	sched, err := StartProcess("kube-scheduler", cp.LogDir, bins.Scheduler, []string{
		"--kubeconfig=" + cp.Kubeconfig,
		"--authentication-kubeconfig=" + cp.Kubeconfig,
		"--authorization-kubeconfig=" + cp.Kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(schedPort),
		"--leader-elect=false",
	}, nil)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, sched)
	return nil
}

// Stop stops the processes in reverse order.
func (cp *ControlPlane) Stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		cp.procs[i].Stop(10 * time.Second)
	}
	cp.procs = nil
}

// Processes returns the running processes (for log dumps).
func (cp *ControlPlane) Processes() []*Process { return cp.procs }

func waitReady(ctx context.Context, host, token string, api *Process) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		// The API server's serving certificate is self-signed in a temp dir;
		// only this loopback readiness probe skips verification.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback test cluster
	}}
	return WaitFor(ctx, "kube-apiserver /readyz", 250*time.Millisecond, api, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

func freePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for len(out) < n {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// writePKI writes the service-account key pair and the static token file
// of the test cluster's admin (group system:masters).
func writePKI(dir, token, nodeLines string) error {
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
		"tokens.csv": []byte(fmt.Sprintf("%s,kumo-e2e-admin,1,\"system:masters\"\n", token) + nodeLines),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// NodeKubeconfig writes the kubeconfig of node name (one of
// ControlPlaneOptions.Nodes) to path.
func (cp *ControlPlane) NodeKubeconfig(name, path string) (string, error) {
	token, ok := cp.nodeTokens[name]
	if !ok {
		return "", fmt.Errorf("node %s was not in ControlPlaneOptions.Nodes", name)
	}
	return path, writeKubeconfig(path, cp.Config.Host, cp.Config.TLSClientConfig.CAFile, token)
}

func writeKubeconfig(path, host, caFile, token string) error {
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: e2e
  context: {cluster: e2e, user: admin}
current-context: e2e
`, host, caFile, token)
	return os.WriteFile(path, []byte(cfg), 0o600)
}
