package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// kubeletControllers are kube-controller-manager's controllers when real
// kubelets run: the node lifecycle controller removes the not-ready taint
// once they report Ready.
const kubeletControllers = "persistentvolume-binder-controller,persistentvolume-attach-detach-controller," +
	"persistentvolume-protection-controller,persistentvolumeclaim-protection-controller,node-lifecycle-controller," +
	"persistentvolume-expander-controller"

// podCluster is a test cluster with real nodes.
type podCluster struct {
	*env
	nodes map[string]*framework.KubeletNode
	// cloudIDs are the nodes' instance/server IDs by node name.
	cloudIDs map[string]string
}

// startNodes starts one real node per entry (kubelet, containerd, kumo's
// node plugin, registrar) in short directories (unix socket limits).
func (c *podCluster) startNodes(t *testing.T, nbins framework.NodeBinaries, images []string, opts []framework.NodeOptions) {
	t.Helper()
	base, err := os.MkdirTemp("/tmp", "kn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	for i, o := range opts {
		o.Images = images
		n, err := framework.StartKubeletNode(c.ctx, nbins, c.cp, fmt.Sprintf("%s/%d", base, i), o)
		if n != nil {
			c.nodes[o.Name] = n
			c.extra = append(c.extra, n.Processes()...)
			t.Cleanup(n.Stop)
		}
		if err != nil {
			t.Fatalf("node %s: %v", o.Name, err)
		}
	}
}

// busyboxPod runs script in the local busybox image on node with the
// claim mounted at /data.
func busyboxPod(name, node, claim, script string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1.PodSpec{
			// Scheduled, not bound by hand: WaitForFirstConsumer claims
			// are provisioned for the node the scheduler picks.
			NodeSelector:                  map[string]string{"kubernetes.io/hostname": node},
			HostNetwork:                   true,
			RestartPolicy:                 v1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []v1.Container{{
				Name: "app", Image: framework.BusyboxImageName, ImagePullPolicy: v1.PullNever,
				Command:      []string{"/bin/sh", "-c", script},
				VolumeMounts: []v1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
				PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
			}}},
		},
	}
}

// runPod creates the Pod, waits for it to succeed and returns its log.
func (c *podCluster) runPod(t *testing.T, pod *v1.Pod) string {
	t.Helper()
	pods := c.cp.Client.CoreV1().Pods(pod.Namespace)
	created, err := pods.Create(c.ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var last *v1.Pod
	c.eventually("pod "+pod.Name+" succeeded", 3*time.Minute, func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = p
		switch p.Status.Phase {
		case v1.PodSucceeded:
			return true, nil
		case v1.PodFailed:
			return false, fmt.Errorf("pod failed: %s", c.podLog(p))
		}
		return false, fmt.Errorf("phase %s %v", p.Status.Phase, containerStates(p))
	})
	log := c.podLog(last)
	if err := pods.Delete(c.ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	c.eventually("pod "+pod.Name+" gone", 2*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := pods.Get(ctx, created.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	return log
}

func (c *podCluster) podLog(p *v1.Pod) string {
	n, ok := c.nodes[p.Spec.NodeName]
	if !ok {
		return "(not on a real node)"
	}
	log, err := n.ContainerLog(p, "app")
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return log
}

func containerStates(p *v1.Pod) []string {
	var out []string
	for _, s := range p.Status.ContainerStatuses {
		switch {
		case s.State.Waiting != nil:
			out = append(out, s.Name+": waiting "+s.State.Waiting.Reason+" "+s.State.Waiting.Message)
		case s.State.Terminated != nil:
			out = append(out, s.Name+": terminated "+s.State.Terminated.Reason)
		default:
			out = append(out, s.Name+": running")
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Status != v1.ConditionTrue && c.Message != "" {
			out = append(out, string(c.Type)+": "+c.Message)
		}
	}
	return out
}

// podCloud is one cloud's part of the real-node tests.
type podCloud struct {
	cloud, driver, topologyKey, zone string
	params                           map[string]string
	growTo                           string
	// snapshots: the cloud has them (csi-snapshotter, snapshot-controller
	// and the VolumeSnapshot CRDs run).
	snapshots bool
	// addNodes creates the nodes' instances/servers (names[i] in
	// zones[i]) in the simulator, marks them local (real loop devices)
	// and returns their CSI node IDs.
	addNodes func(e *env, names, zones []string) ([]string, error)
	// configure returns the CCM's and CSI controller's options and the
	// node plugin's cloud.conf.
	configure func(e *env) (framework.CCMOptions, framework.CSIOptions, string, error)
	disks     func(e *env, ctx context.Context) (int, error)
	// otherZone hosts a third node: claims of zone stay out of it.
	otherZone string
	// nodeZones, when set, is the zone of each node.
	nodeZones []string
	// lbCleanedUp reports whether no load balancer is left in the cloud.
	lbCleanedUp func(e *env, ctx context.Context) (bool, error)
	// stopInstance and deleteInstance shut down and delete a node's
	// instance/server in the simulator.
	stopInstance, deleteInstance func(e *env, id string) error
}

// startPodCluster starts a control plane with the scheduler and the node
// lifecycle controller, the simulator with real loop devices, kumo's CCM,
// its CSI controller with the real sidecars, and real nodes.
// The last of names is placed in pc.otherZone.
func startPodCluster(t *testing.T, pc podCloud, names []string) *podCluster {
	t.Helper()
	c, opts := preparePodCluster(t, pc, names)
	nbins, images := c.nodeInputs(t)
	c.startNodes(t, nbins, images, opts)
	return c
}

// preparePodCluster is startPodCluster without the nodes: it starts all
// the rest and returns the nodes' options, for callers that adjust them.
func preparePodCluster(t *testing.T, pc podCloud, names []string) (*podCluster, []framework.NodeOptions) {
	t.Helper()
	dir := t.TempDir()
	e := newEnvWith(t, framework.CloudsimOptions{
		Transition:    "volume.create=200ms,volume.attach=200ms,volume.detach=200ms,octavia.create=300ms",
		Env:           framework.SimEnv(),
		LocalDiskRoot: dir + "/devices",
	}, framework.ControlPlaneOptions{Scheduler: true, Controllers: kubeletControllers, Nodes: names})
	c := &podCluster{env: e, nodes: map[string]*framework.KubeletNode{}, cloudIDs: map[string]string{}}
	var zones []string
	for i := range names {
		zones = append(zones, pc.zoneOf(i, len(names)))
	}
	ids, err := pc.addNodes(e, names, zones)
	if err != nil {
		t.Fatal(err)
	}
	ccmOpts, csiOpts, nodeConf, err := pc.configure(e)
	if err != nil {
		t.Fatal(err)
	}
	ccm, err := framework.StartCCM(e.ctx, e.bins, e.cp, ccmOpts)
	if err != nil {
		t.Fatal(err)
	}
	e.track(ccm.Process)
	if pc.snapshots {
		if err := framework.InstallSnapshotCRDs(e.ctx, e.cp, e.bins.CRDDir); err != nil {
			t.Fatal(err)
		}
		sc, err := framework.StartSnapshotController(e.cp, e.bins.SnapshotController)
		if err != nil {
			t.Fatal(err)
		}
		e.track(sc)
		csiOpts.Snapshots = true
	}
	csiCtl, err := framework.StartCSIController(e.ctx, e.bins, e.cp, e.dir, csiOpts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range csiCtl.Processes() {
		e.track(p)
	}
	e.metrics["csi-controller"] = csiCtl.FetchMetrics
	var opts []framework.NodeOptions
	for i, n := range names {
		c.cloudIDs[n] = ids[i]
		opts = append(opts, framework.NodeOptions{Name: n, CloudID: ids[i], Zone: zones[i], Cloud: pc.cloud, CloudConfig: nodeConf,
			DriverName: pc.driver, DeviceRoot: dir + "/devices/" + ids[i]})
	}
	return c, opts
}

// nodeInputs are the node binaries and the imported images.
func (c *podCluster) nodeInputs(t *testing.T) (framework.NodeBinaries, []string) {
	t.Helper()
	root := mustRepoRoot(t)
	nbins, err := framework.PrepareNodeBinaries(root, c.bins)
	if err != nil {
		t.Fatal(err)
	}
	images, err := framework.ImportedImages(root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return nbins, images
}

// zoneOf puts the last of n nodes into the other zone, unless the cloud
// lists each node's zone.
func (pc podCloud) zoneOf(i, n int) string {
	if i < len(pc.nodeZones) {
		return pc.nodeZones[i]
	}
	if i == n-1 && n > 2 {
		return pc.otherZone
	}
	return pc.zone
}

var openstackPods = podCloud{
	cloud: "openstack", driver: "cinder.csi.openstack.org", topologyKey: "topology.cinder.csi.openstack.org/zone",
	zone: openstackZone, params: map[string]string{"availability": openstackZone}, growTo: "2Gi", snapshots: true,
	addNodes: func(e *env, names, zones []string) ([]string, error) {
		var ids []string
		for i, n := range names {
			id, err := framework.AddOpenStackServer(e.ctx, e.sim, n, zones[i], 21+i)
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, e.sim.Admin(e.ctx, http.MethodPost, e.sim.OpenStackURL, framework.OpenStackAdmin+"local-servers", map[string]any{"servers": ids}, nil)
	},
	configure: func(e *env) (framework.CCMOptions, framework.CSIOptions, string, error) {
		conf, err := framework.WriteOpenStackCloudConf(e.ctx, e.sim, e.dir)
		return framework.CCMOptions{Cloud: "openstack", CloudConfig: conf}, framework.CSIOptions{Cloud: "openstack", CloudConfig: conf}, conf, err
	},
	disks: func(e *env, ctx context.Context) (int, error) {
		st, err := (&openstackEnv{env: e}).state(ctx)
		return len(st.Volumes) + len(st.Snapshots) + len(st.Backups), err
	},
	otherZone:   "zone-b",
	lbCleanedUp: func(e *env, ctx context.Context) (bool, error) { return (&openstackEnv{env: e}).lbCleanedUp(ctx) },
	stopInstance: func(e *env, id string) error {
		return e.sim.Admin(e.ctx, http.MethodPut, e.sim.OpenStackURL, framework.OpenStackAdmin+"servers/"+id+"/status", map[string]string{"status": "SHUTOFF"}, nil)
	},
	deleteInstance: func(e *env, id string) error {
		return e.sim.Admin(e.ctx, http.MethodDelete, e.sim.OpenStackURL, framework.OpenStackAdmin+"servers/"+id, nil, nil)
	},
}

var nifcloudPods = podCloud{
	cloud: "nifcloud", driver: "additional-storage.csi.nifcloud.com", topologyKey: "topology.additional-storage.csi.nifcloud.com/zone",
	zone: nifcloudZone, params: map[string]string{"type": "high-speed", "accountingtype": "hourly"}, growTo: "200Gi",
	addNodes: func(e *env, names, zones []string) ([]string, error) {
		for i, n := range names {
			if err := framework.AddNIFCLOUDInstance(e.ctx, e.sim, n, zones[i], 21+i); err != nil {
				return nil, err
			}
		}
		return names, e.sim.Admin(e.ctx, http.MethodPost, e.sim.NIFCLOUDURL, framework.NIFCLOUDAdmin+"local-instances", map[string]any{"instanceIds": names}, nil)
	},
	configure: func(e *env) (framework.CCMOptions, framework.CSIOptions, string, error) {
		env := framework.NIFCLOUDClientEnv(e.sim, nifcloudRegion)
		return framework.CCMOptions{Cloud: "nifcloud", Env: env}, framework.CSIOptions{Cloud: "nifcloud", Env: env}, "", nil
	},
	disks: func(e *env, ctx context.Context) (int, error) {
		st, err := (&nifcloudEnv{env: e}).state(ctx)
		return len(st.Volumes), err
	},
	otherZone:   "east-12",
	lbCleanedUp: func(e *env, ctx context.Context) (bool, error) { return (&nifcloudEnv{env: e}).lbCleanedUp(ctx) },
	stopInstance: func(e *env, id string) error {
		return e.sim.Admin(e.ctx, http.MethodPut, e.sim.NIFCLOUDURL, framework.NIFCLOUDAdmin+"instances/"+id+"/state", map[string]string{"state": "stopped"}, nil)
	},
	deleteInstance: func(e *env, id string) error {
		return e.sim.Admin(e.ctx, http.MethodDelete, e.sim.NIFCLOUDURL, framework.NIFCLOUDAdmin+"instances/"+id, nil, nil)
	},
}

func TestOpenStackPods(t *testing.T) {
	c := startPodCluster(t, openstackPods, []string{"os-node-1", "os-node-2", "os-node-3"})
	podScenarios(t, c, openstackPods)
}

func TestNIFCLOUDPods(t *testing.T) {
	c := startPodCluster(t, nifcloudPods, []string{"nifnode1", "nifnode2", "nifnode3"})
	podScenarios(t, c, nifcloudPods)
}

func podScenarios(t *testing.T, c *podCluster, pc podCloud) {
	var names []string
	for n := range c.nodes {
		names = append(names, n)
	}
	slices.Sort(names)
	t.Run("a pod runs on a real kubelet", func(t *testing.T) {
		pod := busyboxPod("hello", names[0], "", "echo hello from $(cat /proc/sys/kernel/hostname)")
		pod.Spec.Volumes = nil
		pod.Spec.Containers[0].VolumeMounts = nil
		if log := c.runPod(t, pod); !strings.Contains(log, "hello from") {
			t.Errorf("log %q", log)
		}
	})
	t.Run("a LoadBalancer Service gets an external IP on the real nodes", func(t *testing.T) {
		loadBalancerOnRealNodes(t, c, pc)
	})
	podStorageScenario(t, c, podStorageCase{
		driverName: pc.driver, topologyKey: pc.topologyKey, zone: pc.zone, params: pc.params, nodes: names[:2], growTo: pc.growTo,
		snapshots: pc.snapshots, otherZoneNode: names[2],
		disks: func(ctx context.Context) (int, error) { return pc.disks(c.env, ctx) },
	})
	t.Run("a shut-down machine's node is tainted, a deleted one's removed", func(t *testing.T) {
		nodeLifecycleOnRealNodes(t, c, pc, names[2])
	})
}

func mustRepoRoot(t *testing.T) string {
	t.Helper()
	root, err := framework.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// loadBalancerOnRealNodes: the seed's nginx story — a LoadBalancer Service
// gets an EXTERNAL-IP with the real nodes as backends, and deleting it
// leaves no load balancer in the cloud.
func loadBalancerOnRealNodes(t *testing.T, c *podCluster, pc podCloud) {
	svcs := c.cp.Client.CoreV1().Services("default")
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: "default"},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "nginx"},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP}}},
	}
	if _, err := svcs.Create(c.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ip string
	c.eventually("EXTERNAL-IP assigned", 2*time.Minute, func(ctx context.Context) (bool, error) {
		s, err := svcs.Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if len(s.Status.LoadBalancer.Ingress) == 1 {
			ip = s.Status.LoadBalancer.Ingress[0].IP
		}
		return ip != "", fmt.Errorf("ingress %v", s.Status.LoadBalancer.Ingress)
	})
	t.Logf("nginx EXTERNAL-IP %s", ip)
	if err := svcs.Delete(c.ctx, "nginx", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.eventually("Service and its load balancer deleted", 2*time.Minute, func(ctx context.Context) (bool, error) {
		if _, err := svcs.Get(ctx, "nginx", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("service still there (%v)", err)
		}
		return pc.lbCleanedUp(c.env, ctx)
	})
}
