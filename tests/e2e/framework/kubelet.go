package framework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodeOptions describe one real node: a containerd, a kubelet, kumo's CSI
// node plugin and its registrar, all on this machine under their own
// directories.
type NodeOptions struct {
	Name        string // Kubernetes node name (= the cloud instance's name)
	CloudID     string // CSI node ID: the instance / server ID
	Zone        string
	Cloud       string // nifcloud | openstack
	CloudConfig string // cloud.conf of the OpenStack node plugin
	DriverName  string
	// DeviceRoot is the node's view of /dev and /sys (the simulator's
	// local disk root for this instance).
	DeviceRoot string
	// Images are OCI archives imported into the node's containerd.
	Images []string
	// RegisterWithTaints are the kubelet's --register-with-taints
	// (key[=value]:effect).
	RegisterWithTaints []string
	// PluginKubeconfig gives the node plugin API access (--kubeconfig,
	// --node-name), e.g. to remove its startup taint.
	PluginKubeconfig string
	// HoldRegistrar starts no registrar: the kubelet does not know the
	// plugin until StartRegistrar, and StartKubeletNode waits for Ready
	// only.
	HoldRegistrar bool
}

// NodeBinaries are what a real node runs besides kumo's CSI driver.
type NodeBinaries struct {
	Kubelet, Containerd, ContainerdShim, Ctr string // built by hack/build-kube.sh
	Runc                                     string // Debian's runc
	CNIDir                                   string // Debian's containernetworking-plugins
	Registrar                                string // kumo's cmd/csi-node-registrar
	CSI                                      string // kumo's cmd/csi-driver
}

// PrepareNodeBinaries finds the node binaries next to bins (PrepareBinaries
// built them) and the host's runc and CNI plugins.
func PrepareNodeBinaries(root string, bins Binaries) (NodeBinaries, error) {
	kubeBin := filepath.Dir(bins.APIServer)
	kumoBin := filepath.Dir(bins.CSI)
	nb := NodeBinaries{
		Kubelet: filepath.Join(kubeBin, "kubelet"), Containerd: filepath.Join(kubeBin, "containerd"),
		ContainerdShim: filepath.Join(kubeBin, "containerd-shim-runc-v2"), Ctr: filepath.Join(kubeBin, "ctr"),
		Registrar: filepath.Join(kumoBin, "csi-node-registrar"), CSI: bins.CSI, CNIDir: "/usr/lib/cni",
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		return nb, fmt.Errorf("%w: runc (Debian's runc; KUMO_NEED_KUBELET=1 hack/install-deps.sh)", ErrMissingBinary)
	}
	nb.Runc = runc
	for _, f := range []string{nb.Kubelet, nb.Containerd, nb.ContainerdShim, nb.Ctr, filepath.Join(nb.CNIDir, "loopback")} {
		if _, err := os.Stat(f); err != nil {
			return nb, fmt.Errorf("%w: %s (hack/build-kube.sh, KUMO_NEED_KUBELET=1 hack/install-deps.sh)", ErrMissingBinary, f)
		}
	}
	build := exec.Command("go", "build", "-o", nb.Registrar, "./cmd/csi-node-registrar")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nb, fmt.Errorf("go build ./cmd/csi-node-registrar: %v\n%s", err, out)
	}
	return nb, nil
}

// KubeletNode is a running node.
type KubeletNode struct {
	Name string
	// Dir holds everything of the node; Root is the kubelet's --root-dir.
	Dir, Root  string
	bins       NodeBinaries
	logDir     string
	ctrSock    string
	cgroupRoot string

	containerd, kubelet, plugin, registrar *Process
	opts                                   NodeOptions
}

// Processes returns the node's processes (for log dumps and scans).
func (n *KubeletNode) Processes() []*Process {
	var out []*Process
	for _, p := range []*Process{n.containerd, n.kubelet, n.plugin, n.registrar} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// PluginSocket is where the kubelet reaches kumo's node plugin.
func (n *KubeletNode) PluginSocket(driver string) string {
	return filepath.Join(n.Root, "plugins", driver, "csi.sock")
}

// StartKubeletNode starts the node and waits until it is registered, Ready
// and has kumo's CSI driver in its CSINode. dir must be short: unix socket
// paths under it are limited to 108 bytes.
func StartKubeletNode(ctx context.Context, bins NodeBinaries, cp *ControlPlane, dir string, opts NodeOptions) (*KubeletNode, error) {
	n := &KubeletNode{Name: opts.Name, Dir: dir, Root: filepath.Join(dir, "kubelet"), bins: bins, logDir: cp.LogDir,
		cgroupRoot: "/kumo-e2e-" + opts.Name, opts: opts}
	// On failure the stopped node is returned too: its logs tell why.
	if err := n.start(ctx, cp, opts); err != nil {
		n.Stop()
		return n, err
	}
	return n, nil
}

func (n *KubeletNode) start(ctx context.Context, cp *ControlPlane, opts NodeOptions) error {
	if len(n.PluginSocket(opts.DriverName)) > 100 || len(filepath.Join(n.Root, "plugins_registry", opts.DriverName+"-reg.sock")) > 104 {
		return fmt.Errorf("node directory %s is too long for unix sockets", n.Dir)
	}
	if err := n.startContainerd(ctx, n.bins, opts.Images); err != nil {
		return err
	}
	if err := makeCgroupRoot(n.cgroupRoot); err != nil {
		return err
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	kubeconfig, err := cp.NodeKubeconfig(opts.Name, filepath.Join(n.Dir, "kubeconfig"))
	if err != nil {
		return err
	}
	for _, d := range []string{n.Root, filepath.Join(n.Dir, "logs"), filepath.Join(n.Dir, "volume-plugins")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return err
		}
	}
	cfg := filepath.Join(n.Dir, "kubelet.yaml")
	if err := os.WriteFile(cfg, []byte(n.kubeletConfig(ports[0], ports[1])), 0o644); err != nil {
		return err
	}
	kubeletArgs := []string{
		"--config=" + cfg,
		"--kubeconfig=" + kubeconfig,
		"--root-dir=" + n.Root,
		"--cert-dir=" + filepath.Join(n.Dir, "pki"),
		"--hostname-override=" + opts.Name,
		"--cloud-provider=external",
		"--v=2",
	}
	if len(opts.RegisterWithTaints) > 0 {
		kubeletArgs = append(kubeletArgs, "--register-with-taints="+strings.Join(opts.RegisterWithTaints, ","))
	}
	n.kubelet, err = StartProcess("kubelet-"+opts.Name, n.logDir, n.bins.Kubelet, kubeletArgs, nil)
	if err != nil {
		return err
	}
	if err := n.startPlugin(ctx, opts); err != nil {
		return err
	}
	return n.waitReady(ctx, cp, opts)
}

// kubeletConfig is the node's KubeletConfiguration: cgroup v1 with
// cgroupfs, no OOM score changes (no CAP_SYS_RESOURCE), everything under
// the node directory, thresholds low enough for a busy test machine.
func (n *KubeletNode) kubeletConfig(port, healthz int) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupRoot: %s
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
containerRuntimeEndpoint: unix://%s
podLogsDir: %s
volumePluginDir: %s
evictionHard: {memory.available: "1Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusUpdateFrequency: 5s
nodeStatusReportFrequency: 10s
syncFrequency: 10s
makeIPTablesUtilChains: false
localStorageCapacityIsolation: false
serializeImagePulls: false
registerNode: true
resolvConf: ""
`, port, healthz, n.cgroupRoot, n.ctrSock, filepath.Join(n.Dir, "logs"), filepath.Join(n.Dir, "volume-plugins"))
}

// startPlugin runs kumo's CSI node plugin and the registrar that
// announces it to the kubelet through plugins_registry.
func (n *KubeletNode) startPlugin(ctx context.Context, opts NodeOptions) error {
	sock := n.PluginSocket(opts.DriverName)
	if err := os.MkdirAll(filepath.Dir(sock), 0o750); err != nil {
		return err
	}
	args := []string{
		"--cloud=" + opts.Cloud,
		"--mode=node",
		"--endpoint=unix://" + sock,
		"--kubelet-root-dir=" + n.Root,
		"--node-id=" + opts.CloudID,
		"--zone=" + opts.Zone,
		"--device-root=" + opts.DeviceRoot,
		"--v=5",
	}
	if opts.CloudConfig != "" {
		args = append(args, "--cloud-config="+opts.CloudConfig)
	}
	if opts.PluginKubeconfig != "" {
		args = append(args, "--kubeconfig="+opts.PluginKubeconfig, "--node-name="+opts.Name)
	}
	var err error
	n.plugin, err = StartProcess("csi-node-"+opts.Name, n.logDir, n.bins.CSI, args, nil)
	if err != nil || opts.HoldRegistrar {
		return err
	}
	return n.StartRegistrar()
}

// StartRegistrar announces the node plugin to the kubelet (started by
// StartKubeletNode unless NodeOptions.HoldRegistrar).
func (n *KubeletNode) StartRegistrar() error {
	if n.registrar != nil {
		return fmt.Errorf("node %s: registrar already started", n.Name)
	}
	sock := n.PluginSocket(n.opts.DriverName)
	var err error
	n.registrar, err = StartProcess("csi-registrar-"+n.Name, n.logDir, n.bins.Registrar, []string{
		"--csi-address=" + sock,
		"--kubelet-registration-path=" + sock,
		"--plugin-registration-path=" + filepath.Join(n.Root, "plugins_registry"),
		"--v=2",
	}, nil)
	return err
}

// waitReady waits for the Node to be Ready with kumo's driver in CSINode.
func (n *KubeletNode) waitReady(ctx context.Context, cp *ControlPlane, opts NodeOptions) error {
	wctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	return WaitFor(wctx, "node "+opts.Name+" Ready with CSI driver "+opts.DriverName, 500*time.Millisecond, n.kubelet, func(ctx context.Context) (bool, error) {
		node, err := cp.Client.CoreV1().Nodes().Get(ctx, opts.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("not registered yet")
		} else if err != nil {
			return false, err
		}
		ready := false
		for _, c := range node.Status.Conditions {
			if c.Type == v1.NodeReady {
				ready = c.Status == v1.ConditionTrue
				if !ready {
					err = fmt.Errorf("NodeReady %s: %s", c.Status, c.Message)
				}
			}
		}
		if !ready || opts.HoldRegistrar {
			return ready, err
		}
		csiNode, err := cp.Client.StorageV1().CSINodes().Get(ctx, opts.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, d := range csiNode.Spec.Drivers {
			if d.Name == opts.DriverName && d.NodeID == opts.CloudID {
				return true, nil
			}
		}
		return false, fmt.Errorf("CSINode drivers %v", csiNode.Spec.Drivers)
	})
}

// Stop tears the node down completely, or the next run inherits shims,
// mounts and cgroups: the kubelet first, then the pods' containers through
// containerd, containerd, leftover shims, every mount under the node
// directory and the node's cgroups.
func (n *KubeletNode) Stop() {
	for _, p := range []*Process{n.registrar, n.kubelet} {
		if p != nil {
			p.Stop(10 * time.Second)
		}
	}
	if n.containerd != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		n.removeContainers(ctx)
		cancel()
		n.containerd.Stop(10 * time.Second)
	}
	n.killShims()
	if n.plugin != nil {
		n.plugin.Stop(10 * time.Second)
	}
	unmountUnder(n.Dir)
	removeCgroupRoot(n.cgroupRoot)
}

// ContainerLog returns the log of a Pod's container from the node's
// podLogsDir (the API server cannot reach the kubelets for `kubectl logs`).
func (n *KubeletNode) ContainerLog(pod *v1.Pod, container string) (string, error) {
	dir := filepath.Join(n.Dir, "logs", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID), container)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return "", err
		}
		b.WriteString(criLogText(string(data)))
	}
	return b.String(), nil
}

// criLogText strips the CRI log format ("<time> <stream> <P|F> <text>"):
// F ends a line, P is a partial line continued by the next entry.
func criLogText(log string) string {
	var b strings.Builder
	for _, line := range strings.Split(log, "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) < 3 {
			continue
		}
		if len(f) == 4 {
			b.WriteString(f[3])
		}
		if f[2] == "F" {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// unmountUnder unmounts every mount below dir, deepest first (the kubelet
// bind-mounts its root onto itself; pods' volumes are mounted below it).
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			mounts = append(mounts, f[4])
		}
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	for _, m := range mounts {
		if err := syscall.Unmount(m, 0); err != nil {
			_ = syscall.Unmount(m, syscall.MNT_DETACH) // busy: detach it
		}
	}
}

// cgroupHierarchies lists the mounted v1 hierarchies (cpu, cpuacct,
// memory, ..., systemd, unified): the kubelet wants its root in each.
func cgroupHierarchies() []string {
	entries, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || e.Type()&os.ModeSymlink != 0 {
			out = append(out, e.Name())
		}
	}
	return out
}

// makeCgroupRoot creates the node's cgroup root in every v1 hierarchy; a
// new cpuset cgroup starts with no CPUs or memory nodes, so it inherits
// its parent's.
func makeCgroupRoot(root string) error {
	for _, c := range cgroupHierarchies() {
		base := filepath.Join("/sys/fs/cgroup", c)
		if _, err := os.Stat(base); err != nil {
			continue
		}
		if err := os.MkdirAll(filepath.Join(base, root), 0o755); err != nil {
			return fmt.Errorf("cgroup %s%s: %w", c, root, err)
		}
		if c == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, err := os.ReadFile(filepath.Join(base, f))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(base, root, f), v, 0o644); err != nil {
					return fmt.Errorf("cgroup cpuset%s/%s: %w", root, f, err)
				}
			}
		}
	}
	return nil
}

// removeCgroupRoot removes the node's cgroups, deepest first.
func removeCgroupRoot(root string) {
	for _, c := range cgroupHierarchies() {
		base := filepath.Join("/sys/fs/cgroup", c, root)
		var dirs []string
		_ = filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			_ = os.Remove(d) // a cgroup with tasks stays; nothing more to do
		}
	}
}

// ImportedImages builds the local images once into dir and returns their
// archives: the sandbox image from tests/e2e/cmd/pause and busybox from
// the host's busybox-static.
func ImportedImages(root, dir string) ([]string, error) {
	pause := filepath.Join(dir, "pause")
	build := exec.Command("go", "build", "-o", pause, "./cmd/pause")
	build.Dir = filepath.Join(root, "tests", "e2e")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building pause: %v: %s", err, out)
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return nil, fmt.Errorf("%w: busybox (Debian's busybox-static; hack/install-deps.sh installs it)", ErrMissingBinary)
	}
	out := []string{filepath.Join(dir, "pause.tar"), filepath.Join(dir, "busybox.tar")}
	if err := WriteOCIArchive(out[0], PauseImage(PauseImageName, pause)); err != nil {
		return nil, err
	}
	if err := WriteOCIArchive(out[1], BusyboxImage(BusyboxImageName, busybox)); err != nil {
		return nil, err
	}
	return out, nil
}

// nodeTokenLine is a static token file line with the node's identity for
// the Node authorizer and NodeRestriction.
func nodeTokenLine(name, token string) string {
	return token + ",system:node:" + name + ",node-" + name + ",\"system:nodes\"\n"
}
