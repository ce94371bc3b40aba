package framework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Images the e2e kubelets run, made locally (no registry is reachable).
const (
	PauseImageName   = "kumo.local/pause:e2e"
	BusyboxImageName = "kumo.local/busybox:e2e"
)

// containerdConfig is containerd v2's config (version 4) for one node:
// everything under dir, the local pause image as sandbox, runc from the
// host with its own root, a loopback-only CNI (Pods use the host network),
// and restrict_oom_score_adj because the test processes lack
// CAP_SYS_RESOURCE (runc fails every sandbox otherwise).
func containerdConfig(dir, runc, cniBin string) string {
	return fmt.Sprintf(`version = 4
root = '%[1]s/containerd/root'
state = '%[1]s/containerd/state'
imports = []

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'native'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = '%[4]s'
  [plugins.'io.containerd.cri.v1.runtime']
    restrict_oom_score_adj = true
    enable_selinux = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = '%[2]s'
          Root = '%[1]s/runc'
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ['%[3]s']
      conf_dir = '%[1]s/cni'
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'
  [plugins.'io.containerd.nri.v1.nri']
    disable = true
  [plugins.'io.containerd.server.v1.grpc']
    address = '%[1]s/run/containerd.sock'
  [plugins.'io.containerd.server.v1.ttrpc']
    address = '%[1]s/run/containerd.sock.ttrpc'
`, dir, runc, cniBin, PauseImageName)
}

const loopbackCNI = `{"cniVersion": "1.0.0", "name": "kumo-e2e-lo", "plugins": [{"type": "loopback"}]}`

// startContainerd runs containerd for a node and imports the images.
func (n *KubeletNode) startContainerd(ctx context.Context, bins NodeBinaries, images []string) error {
	for _, d := range []string{"containerd", "run", "runc", "cni"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(n.Dir, "cni", "10-loopback.conflist"), []byte(loopbackCNI), 0o644); err != nil {
		return err
	}
	cfg := filepath.Join(n.Dir, "containerd.toml")
	if err := os.WriteFile(cfg, []byte(containerdConfig(n.Dir, bins.Runc, bins.CNIDir)), 0o644); err != nil {
		return err
	}
	// The runc shim is found on PATH.
	env := []string{"PATH=" + filepath.Dir(bins.ContainerdShim) + ":" + os.Getenv("PATH")}
	p, err := StartProcess("containerd-"+n.Name, n.logDir, bins.Containerd, []string{"--config=" + cfg}, env)
	if err != nil {
		return err
	}
	n.containerd = p
	n.ctrSock = filepath.Join(n.Dir, "run", "containerd.sock")
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := WaitFor(wctx, "containerd of "+n.Name, 200*time.Millisecond, p, func(context.Context) (bool, error) {
		_, err := os.Stat(n.ctrSock)
		return err == nil, nil
	}); err != nil {
		return err
	}
	for _, img := range images {
		if out, err := n.ctr(ctx, "images", "import", "--no-unpack", img); err != nil {
			return fmt.Errorf("importing %s on %s: %v: %s", img, n.Name, err, out)
		}
	}
	return nil
}

// ctr runs ctr against the node's containerd in the CRI namespace.
func (n *KubeletNode) ctr(ctx context.Context, args ...string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	all := append([]string{"--address", n.ctrSock, "--namespace", "k8s.io"}, args...)
	out, err := exec.CommandContext(cctx, n.bins.Ctr, all...).CombinedOutput()
	return string(out), err
}

// removeContainers kills and deletes every task and container of the node
// (containerd's shims outlive containerd, and the kubelet is gone).
func (n *KubeletNode) removeContainers(ctx context.Context) {
	out, err := n.ctr(ctx, "containers", "list", "--quiet")
	if err != nil {
		return
	}
	for _, id := range strings.Fields(out) {
		_, _ = n.ctr(ctx, "tasks", "kill", "--signal", "SIGKILL", id) // may have exited
		_, _ = n.ctr(ctx, "tasks", "delete", "--force", id)
		_, _ = n.ctr(ctx, "containers", "delete", id)
	}
}

// killShims kills runc shims left by this node's containerd: they run in
// their own process group and name the node's containerd address.
func (n *KubeletNode) killShims() {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 0 && strings.HasSuffix(args[0], "containerd-shim-runc-v2") && strings.Contains(string(cmdline), n.ctrSock) {
			var pid int
			if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err == nil {
				if proc, err := os.FindProcess(pid); err == nil {
					_ = proc.Kill() // best effort at teardown
				}
			}
		}
	}
}
