package framework

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"
)

// CCMOptions configure a cloud-controller-manager process.
type CCMOptions struct {
	Cloud       string // nifcloud | openstack
	CloudConfig string // --cloud-config path ("" = none)
	Env         []string
	ExtraArgs   []string
}

// CCM is a running cloud-controller-manager.
type CCM struct {
	*Process
	// Port is its secure port (healthz, metrics).
	Port int
}

// Metrics fetches the CCM's /metrics with the cluster admin's token (the
// CCM delegates authentication and authorization to the API server). The
// CCM's serving certificate is self-signed in its temp dir, so only this
// loopback probe skips verification.
func (c *CCM) Metrics(ctx context.Context, cp *ControlPlane) (string, error) {
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback test process
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/metrics", c.Port), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+cp.Config.BearerToken)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: HTTP %d: %.200s", resp.StatusCode, body)
	}
	return string(body), err
}

// StartCCM runs our cloud-controller-manager against the control plane.
func StartCCM(ctx context.Context, bins Binaries, cp *ControlPlane, opts CCMOptions) (*CCM, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--cloud-provider=" + opts.Cloud,
		"--kubeconfig=" + cp.Kubeconfig,
		"--authentication-kubeconfig=" + cp.Kubeconfig,
		"--authorization-kubeconfig=" + cp.Kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--configure-cloud-routes=false",
		"--cluster-name=kumo-e2e",
		"--node-monitor-period=2s",
		"--node-status-update-frequency=5s",
		"--concurrent-service-syncs=2",
		"--v=10", // the secrets scan wants everything that can be logged
	}
	if opts.CloudConfig != "" {
		args = append(args, "--cloud-config="+opts.CloudConfig)
	}
	args = append(args, opts.ExtraArgs...)
	p, err := StartProcess("ccm-"+opts.Cloud, cp.LogDir, bins.CCM, args, opts.Env)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := waitTCP(wctx, "cloud-controller-manager", port, p); err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	return &CCM{Process: p, Port: port}, nil
}

// CSIOptions configure a CSI driver process in controller mode.
type CSIOptions struct {
	Cloud       string
	CloudConfig string
	Env         []string
	ExtraArgs   []string
	// Capacity runs csi-provisioner with storage capacity tracking
	// (--enable-capacity): it publishes GetCapacity as CSIStorageCapacity
	// objects in kube-system, one per StorageClass and zone.
	Capacity bool
	// Snapshots also starts csi-snapshotter (the cluster needs the
	// VolumeSnapshot CRDs and snapshot-controller: InstallSnapshotCRDs,
	// StartSnapshotController).
	Snapshots bool
}

// CSIController is the CSI driver in controller mode with the real
// sidecars next to it, as deploy/ runs them: csi-provisioner (topology,
// --extra-create-metadata), csi-attacher, csi-resizer and, for clouds with
// snapshots, csi-snapshotter.
type CSIController struct {
	Driver      *Process
	Attacher    *Process
	Provisioner *Process
	Resizer     *Process
	Snapshotter *Process
	Socket      string
	Metrics     string // host:port of --http-endpoint
}

// Processes returns the running processes.
func (c *CSIController) Processes() []*Process {
	var out []*Process
	for _, p := range []*Process{c.Driver, c.Attacher, c.Provisioner, c.Resizer, c.Snapshotter} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// StartCSIController runs `csi-driver --mode=controller` and the sidecars
// next to it on a unix socket under dir.
func StartCSIController(ctx context.Context, bins Binaries, cp *ControlPlane, dir string, opts CSIOptions) (*CSIController, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "csi-"+opts.Cloud+".sock")
	metrics := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{
		"--cloud=" + opts.Cloud,
		"--mode=controller",
		"--endpoint=unix://" + sock,
		"--http-endpoint=" + metrics,
		"--v=10", // the secrets scan wants everything that can be logged
	}
	if opts.CloudConfig != "" {
		args = append(args, "--cloud-config="+opts.CloudConfig)
	}
	args = append(args, opts.ExtraArgs...)
	drv, err := StartProcess("csi-controller-"+opts.Cloud, cp.LogDir, bins.CSI, args, opts.Env)
	if err != nil {
		return nil, err
	}
	c := &CSIController{Driver: drv, Socket: sock, Metrics: metrics}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := waitTCP(wctx, "csi-driver metrics", port, drv); err != nil {
		drv.Stop(5 * time.Second)
		return nil, err
	}
	// The sidecars' flags are deploy/csi/base/controller.yaml's, with
	// shorter timeouts and no leader election (one replica).
	common := []string{"--kubeconfig=" + cp.Kubeconfig, "--csi-address=" + sock, "--leader-election=false", "--v=4"}
	type sidecar struct {
		p    **Process
		name string
		bin  string
		args []string
		env  []string
	}
	provisioner := sidecar{&c.Provisioner, "csi-provisioner", bins.Provisioner, []string{"--timeout=60s", "--extra-create-metadata", "--default-fstype=ext4", "--worker-threads=4"}, nil}
	if opts.Capacity {
		// No owner: the objects are not garbage-collected with a Pod.
		provisioner.args = append(provisioner.args, "--enable-capacity", "--capacity-ownerref-level=-1", "--capacity-poll-interval=3s")
		provisioner.env = []string{"NAMESPACE=kube-system"}
	}
	sidecars := []sidecar{
		{&c.Attacher, "csi-attacher", bins.Attacher, []string{"--timeout=60s", "--worker-threads=4"}, nil},
		provisioner,
		{&c.Resizer, "csi-resizer", bins.Resizer, []string{"--timeout=60s", "--handle-volume-inuse-error=false"}, nil},
	}
	if opts.Snapshots {
		sidecars = append(sidecars, sidecar{&c.Snapshotter, "csi-snapshotter", bins.Snapshotter, []string{"--timeout=60s", "--extra-create-metadata"}, nil})
	}
	for _, s := range sidecars {
		*s.p, err = StartProcess(s.name+"-"+opts.Cloud, cp.LogDir, s.bin, append(append([]string{}, common...), s.args...), s.env)
		if err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// Stop stops the sidecars and the driver.
func (c *CSIController) Stop() {
	for _, p := range []*Process{c.Snapshotter, c.Resizer, c.Provisioner, c.Attacher, c.Driver} {
		if p != nil {
			p.Stop(10 * time.Second)
		}
	}
}

func waitTCP(ctx context.Context, what string, port int, p *Process) error {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return WaitFor(ctx, fmt.Sprintf("%s on %s", what, addr), 200*time.Millisecond, p, func(ctx context.Context) (bool, error) {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, nil
		}
		conn.Close()
		return true, nil
	})
}

// FetchMetrics returns what the driver serves on --http-endpoint /metrics.
func (c *CSIController) FetchMetrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.Metrics+"/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}
