// Command demo is `make demo`: it runs a cluster the way a cluster runs —
// a Kubernetes control plane, the cloud simulator, kumo's CCM, its CSI
// controller with the real csi-provisioner, csi-attacher, csi-resizer (and
// csi-snapshotter), and two real nodes (kubelet, containerd, runc, kumo's
// CSI node plugin and csi-node-registrar) — applies the example manifests
// (an nginx LoadBalancer Service; a StorageClass, PVC and Pod), shows what
// a user would look at on the cluster and in the cloud, and keeps running
// until interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// controllers are kube-controller-manager's controllers: the ones the e2e
// tests run with real kubelets (the node lifecycle controller removes the
// not-ready taint) plus what the nginx Deployment needs.
const controllers = "persistentvolume-binder-controller,persistentvolume-attach-detach-controller," +
	"persistentvolume-protection-controller,persistentvolumeclaim-protection-controller,node-lifecycle-controller," +
	"persistentvolume-expander-controller,deployment-controller,replicaset-controller"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() (err error) {
	cloud := flag.String("cloud", "nifcloud", "cloud to simulate: nifcloud or openstack")
	dir := flag.String("dir", "", "working directory, kept afterwards (default: a new temporary directory, removed on exit)")
	exit := flag.Bool("exit", false, "stop after printing instead of waiting for Ctrl-C (CI)")
	flag.Parse()
	c, ok := clouds[*cloud]
	if !ok {
		return fmt.Errorf("--cloud must be nifcloud or openstack, not %q", *cloud)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Ctrl-C at any point is a normal end: everything is torn down.
	defer func() {
		if err != nil && ctx.Err() != nil {
			say("Interrupted; stopped.")
			err = nil
		}
	}()
	removeDir := false
	if *dir == "" {
		d, err := os.MkdirTemp("", "kumo-demo-")
		if err != nil {
			return err
		}
		*dir, removeDir = d, true
	}
	root, err := framework.RepoRoot()
	if err != nil {
		return err
	}
	say("Building binaries (the Kubernetes ones, containerd and the CSI sidecars once: several minutes on 2 cores the first time)…")
	bins, err := framework.PrepareBinaries(root)
	if err != nil {
		return err
	}
	start := time.Now()
	d := &demo{ctx: ctx, cloud: c, dir: *dir, root: root}
	defer func() {
		d.stop()
		// A failed run keeps its logs; a finished or interrupted one
		// leaves nothing behind.
		if removeDir && (err == nil || ctx.Err() != nil) {
			removeAll(d.dir)
		} else if d.cp != nil {
			say("Logs kept in %s", d.cp.LogDir)
		}
	}()
	if err := d.start(bins); err != nil {
		return err
	}
	if err := d.applyExamples(); err != nil {
		return err
	}
	if err := d.waitConverged(5 * time.Minute); err != nil {
		d.print()
		return err
	}
	d.print()
	d.printVolumeContent()
	say("\nUp and converged in %s.", time.Since(start).Round(time.Second))
	if *exit {
		return nil
	}
	say("\nThe stack keeps running. Try:\n  kubectl --kubeconfig %s get pods,svc,nodes,pv,pvc,volumeattachments -o wide\n  curl -s %s%scounters   # cloud API calls so far\nLogs: %s\nPress Ctrl-C to stop; everything is torn down.", d.cp.Kubeconfig, d.simURL(), d.cloud.admin, d.cp.LogDir)
	<-ctx.Done()
	return nil
}

func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }

// demo is the running stack.
type demo struct {
	ctx   context.Context
	cloud cloudSpec
	dir   string
	root  string
	cp    *framework.ControlPlane
	sim   *framework.Cloudsim
	procs []*framework.Process
	// nodeDir holds the nodes' short directories (unix socket limits).
	nodeDir string
	nodes   []*framework.KubeletNode
}

// stop tears everything down: the nodes first (their Stop removes
// containers, shims, mounts and cgroups), then the controllers, the
// simulator (it releases its loop devices) and the control plane.
func (d *demo) stop() {
	say("\nStopping: nodes (containers, mounts, cgroups), controllers, simulator, control plane…")
	for i := len(d.nodes) - 1; i >= 0; i-- {
		d.nodes[i].Stop()
	}
	for i := len(d.procs) - 1; i >= 0; i-- {
		d.procs[i].Stop(10 * time.Second)
	}
	if d.cp != nil {
		d.cp.Stop()
	}
	if d.nodeDir != "" {
		removeAll(d.nodeDir)
	}
}

// removeAll removes dir unless something is still mounted below it
// (RemoveAll would descend into the mount).
func removeAll(dir string) {
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
				say("Not removing %s: %s is still mounted", dir, f[4])
				return
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		say("Removing %s: %v", dir, err)
	}
}

func (d *demo) simURL() string {
	if d.cloud.name == "nifcloud" {
		return d.sim.NIFCLOUDURL
	}
	return d.sim.OpenStackURL
}

func (d *demo) start(bins framework.Binaries) error {
	say("Starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler in %s…", d.dir)
	cp, err := framework.StartControlPlane(d.ctx, bins, d.dir, framework.ControlPlaneOptions{
		Scheduler: true, Controllers: controllers, Nodes: d.cloud.nodes,
	})
	if err != nil {
		return err
	}
	d.cp = cp
	say("Starting the %s simulator (disks of the nodes' instances are real loop devices)…", d.cloud.title)
	d.sim, err = framework.StartCloudsim(d.ctx, bins, d.dir, cp.LogDir, framework.CloudsimOptions{
		Env:           framework.SimEnv(),
		Transition:    "volume.create=500ms,volume.attach=500ms,volume.detach=500ms,octavia.create=1s,octavia.update=300ms,octavia.delete=300ms",
		LocalDiskRoot: filepath.Join(d.dir, "devices"),
	})
	if err != nil {
		return err
	}
	d.procs = append(d.procs, d.sim.Proc)
	ccmOpts, csiOpts, nodeConf, ids, err := d.cloud.setup(d.ctx, d.sim, d.dir, d.cloud.nodes)
	if err != nil {
		return err
	}
	say("Starting kumo's cloud-controller-manager (--cloud-provider=%s)…", d.cloud.name)
	ccm, err := framework.StartCCM(d.ctx, bins, cp, ccmOpts)
	if err != nil {
		return err
	}
	d.procs = append(d.procs, ccm.Process)
	sidecars := "csi-provisioner, csi-attacher, csi-resizer"
	if d.cloud.snapshots {
		say("Installing the VolumeSnapshot CRDs and starting snapshot-controller…")
		if err := framework.InstallSnapshotCRDs(d.ctx, cp, bins.CRDDir); err != nil {
			return err
		}
		sc, err := framework.StartSnapshotController(cp, bins.SnapshotController)
		if err != nil {
			return err
		}
		d.procs = append(d.procs, sc)
		sidecars += ", csi-snapshotter"
	}
	say("Starting kumo's CSI controller (%s) with %s…", d.cloud.driver, sidecars)
	csiCtl, err := framework.StartCSIController(d.ctx, bins, cp, d.dir, csiOpts)
	if err != nil {
		return err
	}
	d.procs = append(d.procs, csiCtl.Processes()...)

	nbins, err := framework.PrepareNodeBinaries(d.root, bins)
	if err != nil {
		return err
	}
	images, err := framework.ImportedImages(d.root, d.dir)
	if err != nil {
		return err
	}
	if d.nodeDir, err = os.MkdirTemp("/tmp", "kn"); err != nil {
		return err
	}
	for i, name := range d.cloud.nodes {
		say("Starting node %s: containerd, kubelet --cloud-provider=external, kumo's CSI node plugin and csi-node-registrar…", name)
		n, err := framework.StartKubeletNode(d.ctx, nbins, cp, fmt.Sprintf("%s/%d", d.nodeDir, i), framework.NodeOptions{
			Name: name, CloudID: ids[i], Zone: d.cloud.zone, Cloud: d.cloud.name, CloudConfig: nodeConf,
			DriverName: d.cloud.driver, DeviceRoot: filepath.Join(d.dir, "devices", ids[i]), Images: images,
		})
		if n != nil {
			d.nodes = append(d.nodes, n)
		}
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
	}
	return nil
}

func (d *demo) applyExamples() error {
	for _, f := range []string{"nginx-lb.yaml", "storage.yaml"} {
		path := filepath.Join(d.root, "examples", d.cloud.name, f)
		local := filepath.Join(d.dir, "local-"+f)
		if err := localizeManifest(path, local); err != nil {
			return err
		}
		created, err := framework.ApplyFile(d.ctx, d.cp.Config, local)
		if err != nil {
			return err
		}
		say("Applied examples/%s/%s (images → %s, imagePullPolicy Never, hostNetwork): %v", d.cloud.name, f, framework.BusyboxImageName, created)
	}
	return nil
}

var errNotYet = errors.New("not yet")
