// Command demo is `make demo`: it starts a Kubernetes control plane, the
// cloud simulator and kumo's CCM and CSI controller as real processes,
// applies the example manifests (an nginx LoadBalancer Service; a
// StorageClass, PVC and Pod), shows what a user would look at on the
// cluster and in the cloud, and keeps running until interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	cloud := flag.String("cloud", "nifcloud", "cloud to simulate: nifcloud or openstack")
	dir := flag.String("dir", "", "working directory (default: a new temporary directory)")
	exit := flag.Bool("exit", false, "stop after printing instead of waiting for Ctrl-C (CI)")
	flag.Parse()
	c, ok := clouds[*cloud]
	if !ok {
		return fmt.Errorf("--cloud must be nifcloud or openstack, not %q", *cloud)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *dir == "" {
		d, err := os.MkdirTemp("", "kumo-demo-")
		if err != nil {
			return err
		}
		*dir = d
	}
	root, err := framework.RepoRoot()
	if err != nil {
		return err
	}
	say("Building binaries (the Kubernetes ones once, ~10 minutes on 2 cores the first time)…")
	bins, err := framework.PrepareBinaries(root)
	if err != nil {
		return err
	}
	d := &demo{ctx: ctx, cloud: c, dir: *dir, root: root}
	defer d.stop()
	if err := d.start(bins); err != nil {
		return err
	}
	if err := d.applyExamples(); err != nil {
		return err
	}
	if err := d.waitConverged(3 * time.Minute); err != nil {
		d.print()
		return err
	}
	d.print()
	if *exit {
		return nil
	}
	say("\nThe stack keeps running. Try:\n  kubectl --kubeconfig %s get svc,nodes,pv,pvc,volumeattachments\n  curl -s %s%scounters   # cloud API calls so far\nLogs: %s\nPress Ctrl-C to stop; everything is torn down.", d.cp.Kubeconfig, d.simURL(), d.cloud.admin, d.cp.LogDir)
	<-ctx.Done()
	say("\nStopping…")
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
	conn  *grpc.ClientConn
	// stopProvisioner ends the provisioning loop before the cluster goes.
	stopProvisioner context.CancelFunc
}

func (d *demo) stop() {
	if d.stopProvisioner != nil {
		d.stopProvisioner()
	}
	if d.conn != nil {
		d.conn.Close()
	}
	for i := len(d.procs) - 1; i >= 0; i-- {
		d.procs[i].Stop(10 * time.Second)
	}
	if d.cp != nil {
		d.cp.Stop()
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
		Scheduler:   true,
		Controllers: "deployment-controller,replicaset-controller,persistentvolume-binder-controller,persistentvolume-attach-detach-controller,persistentvolume-protection-controller,persistentvolumeclaim-protection-controller",
	})
	if err != nil {
		return err
	}
	d.cp = cp
	say("Starting the %s simulator…", d.cloud.title)
	d.sim, err = framework.StartCloudsim(d.ctx, bins, d.dir, cp.LogDir, framework.CloudsimOptions{
		Env:        framework.SimEnv(),
		Transition: "volume.create=500ms,volume.attach=500ms,volume.detach=500ms,octavia.create=1s,octavia.update=300ms,octavia.delete=300ms",
	})
	if err != nil {
		return err
	}
	d.procs = append(d.procs, d.sim.Proc)
	ccmOpts, csiOpts, nodeIDs, err := d.cloud.setup(d.ctx, d.sim, d.dir)
	if err != nil {
		return err
	}
	say("Starting kumo's cloud-controller-manager (--cloud-provider=%s)…", d.cloud.name)
	ccm, err := framework.StartCCM(d.ctx, bins, cp, ccmOpts)
	if err != nil {
		return err
	}
	d.procs = append(d.procs, ccm.Process)
	say("Registering %d nodes the way kubelet --cloud-provider=external does…", len(nodeIDs))
	for _, name := range d.cloud.nodes {
		if _, err := framework.RegisterNode(d.ctx, cp.Client, name); err != nil {
			return err
		}
		if err := framework.RegisterCSINode(d.ctx, cp.Client, name, d.cloud.driver, nodeIDs[name], d.cloud.topologyKey, d.cloud.zone); err != nil {
			return err
		}
	}
	say("Starting kumo's CSI controller (%s) and csi-attacher…", d.cloud.driver)
	csiCtl, err := framework.StartCSIController(d.ctx, bins, cp, d.dir, csiOpts)
	if err != nil {
		return err
	}
	d.procs = append(d.procs, csiCtl.Processes()...)
	d.conn, err = grpc.NewClient("unix://"+csiCtl.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	prov := &framework.Provisioner{Client: cp.Client, Controller: csi.NewControllerClient(d.conn), DriverName: d.cloud.driver, TopologyKey: d.cloud.topologyKey}
	pctx, cancel := context.WithCancel(klog.NewContext(d.ctx, klog.Background()))
	d.stopProvisioner = cancel
	go prov.Run(pctx, time.Second)
	return nil
}

func (d *demo) applyExamples() error {
	for _, f := range []string{"nginx-lb.yaml", "storage.yaml"} {
		path := filepath.Join(d.root, "examples", d.cloud.name, f)
		created, err := framework.ApplyFile(d.ctx, d.cp.Config, path)
		if err != nil {
			return err
		}
		say("Applied examples/%s/%s: %v", d.cloud.name, f, created)
	}
	return nil
}

var errNotYet = errors.New("not yet")
