package bench

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	cloudprovider "k8s.io/cloud-provider"
	cloudproviderapi "k8s.io/cloud-provider/api"
	nodecontroller "k8s.io/cloud-provider/controllers/node"
	controllersmetrics "k8s.io/component-base/metrics/prometheus/controllers"
	"k8s.io/klog/v2"

	nifccm "github.com/kumo-project/kumo/pkg/ccm/nifcloud"
	osccm "github.com/kumo-project/kumo/pkg/ccm/openstack"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// syncPeriod is the CCM's default --node-status-update-frequency; the
// benchmark advances the providers' clock by it between periodic syncs,
// so every period finds the instance cache expired (the worst case).
const syncPeriod = 5 * time.Minute

// NodeSyncResult is one node-sync run.
type NodeSyncResult struct {
	Cloud string `json:"cloud"`
	Nodes int    `json:"nodes"`
	// Initialization of all nodes by the cloud node controller.
	InitMillis float64 `json:"initMillis"`
	InitCalls  Counts  `json:"initCalls"`
	// Steady state: UpdateNodeStatus once per sync period.
	Periods         int     `json:"periods"`
	CallsPerPeriod  float64 `json:"callsPerPeriod"`
	ListsPerPeriod  float64 `json:"listsPerPeriod"`
	CallsPerNode    float64 `json:"callsPerNode"`
	PeriodMillis    float64 `json:"periodMillis"` // mean wall time of one periodic sync
	PeriodCalls     Counts  `json:"periodCalls"`  // all periods together
	HeapDeltaMiB    float64 `json:"heapDeltaMiB"`
	RSSDeltaMiB     float64 `json:"rssDeltaMiB"`
	RSSMiB          float64 `json:"rssMiB"`
	WorkerCount     int     `json:"workers"`
	StatusFrequency string  `json:"statusUpdateFrequency"`
}

// RunNodeSync starts a simulator with n servers of cloud, runs the real
// cloud node controller over n uninitialized Nodes until all are
// initialized, then runs periods periodic status syncs.
func RunNodeSync(ctx context.Context, cloud string, n, periods int, prof Profile) (*NodeSyncResult, error) {
	logger := klog.FromContext(ctx).WithValues("benchmark", "nodesync", "cloud", cloud, "nodes", n)
	clk := &clock{}
	var (
		provider cloudprovider.Interface
		controls *simcore.Controls
		names    []string
	)
	switch cloud {
	case CloudOpenStack:
		c, err := startOpenStack(ctx, prof.OpenStackLatency(), "")
		if err != nil {
			return nil, err
		}
		defer c.Close()
		svs, err := c.addServers("node", 0, n)
		if err != nil {
			return nil, err
		}
		for _, sv := range svs {
			names = append(names, sv.Name)
		}
		p, err := osccm.NewProvider(ctx, c.cfg, c.clients, osccm.Options{Now: clk.Now}, nil)
		if err != nil {
			return nil, err
		}
		provider, controls = p, c.controls
	case CloudNIFCLOUD:
		c, err := startNIFCLOUD(prof.NIFCLOUDLatency(), nil)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		if names, err = c.addInstances("node", 0, n); err != nil {
			return nil, err
		}
		p, err := nifccm.NewProvider(c.api, nifccm.ProviderConfig{Region: nifRegion, Now: clk.Now})
		if err != nil {
			return nil, err
		}
		provider, controls = p, c.controls
	default:
		return nil, fmt.Errorf("unknown cloud %q", cloud)
	}

	kube := fake.NewClientset()
	for _, name := range names {
		if _, err := kube.CoreV1().Nodes().Create(ctx, uninitializedNode(name), metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	memBefore := readMemory()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	factory := informers.NewSharedInformerFactory(kube, 0)
	if iu, ok := provider.(cloudprovider.InformerUser); ok {
		iu.SetInformers(factory)
	}
	// Production defaults: --concurrent-node-syncs=1, status updates with
	// as many workers; the periodic loop is driven by hand below.
	const workers = 1
	cnc, err := nodecontroller.NewCloudNodeController(factory.Core().V1().Nodes(), kube, provider, 24*time.Hour, workers, workers)
	if err != nil {
		return nil, err
	}
	lister := factory.Core().V1().Nodes().Lister()
	before := snapshot(controls)
	start := time.Now()
	factory.Start(ctx.Done())
	go cnc.RunWithContext(ctx, controllersmetrics.NewControllerManagerMetrics("kumo-bench"))
	if err := waitFor(ctx, 5*time.Minute, func() (bool, error) {
		list, err := lister.List(labels.Everything())
		if err != nil {
			return false, err
		}
		done := 0
		for _, node := range list {
			if initialized(node) {
				done++
			}
		}
		return done == n, nil
	}); err != nil {
		return nil, fmt.Errorf("%s: initializing %d nodes: %w", cloud, n, err)
	}
	res := &NodeSyncResult{Cloud: cloud, Nodes: n, InitMillis: ms(time.Since(start)), InitCalls: since(controls, before),
		Periods: periods, WorkerCount: workers, StatusFrequency: syncPeriod.String()}
	logger.Info("Nodes initialized", "took", time.Since(start), "calls", res.InitCalls)

	before = snapshot(controls)
	var spent time.Duration
	for range periods {
		clk.Advance(syncPeriod)
		t := time.Now()
		if err := cnc.UpdateNodeStatus(ctx); err != nil {
			return nil, fmt.Errorf("%s: periodic node status update: %w", cloud, err)
		}
		spent += time.Since(t)
	}
	res.PeriodCalls = since(controls, before)
	res.CallsPerPeriod = float64(res.PeriodCalls.Total()) / float64(periods)
	res.ListsPerPeriod = float64(res.PeriodCalls.Lists().Total()) / float64(periods)
	res.CallsPerNode = res.CallsPerPeriod / float64(n)
	res.PeriodMillis = ms(spent / time.Duration(periods))
	memAfter := readMemory()
	res.HeapDeltaMiB = deltaMiB(memAfter.HeapBytes, memBefore.HeapBytes)
	res.RSSDeltaMiB = deltaMiB(memAfter.RSSBytes, memBefore.RSSBytes)
	res.RSSMiB = mib(memAfter.RSSBytes)
	logger.Info("Periodic syncs done", "callsPerPeriod", res.CallsPerPeriod, "calls", res.PeriodCalls)
	return res, nil
}

// uninitializedNode is a Ready Node as kubelet registers it with
// --cloud-provider=external (no providerID: the node name is the server
// name / instance ID).
func uninitializedNode(name string) *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.Now()},
		Spec: v1.NodeSpec{Taints: []v1.Taint{{
			Key: cloudproviderapi.TaintExternalCloudProvider, Value: "true", Effect: v1.TaintEffectNoSchedule}}},
		Status: v1.NodeStatus{Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, LastHeartbeatTime: metav1.Now()}}},
	}
}

// initialized: the cloud taint is gone and the providerID and addresses
// are set.
func initialized(n *v1.Node) bool {
	if n.Spec.ProviderID == "" || len(n.Status.Addresses) == 0 {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Key == cloudproviderapi.TaintExternalCloudProvider {
			return false
		}
	}
	return true
}

// waitFor polls cond every 50ms until it holds, fails, or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done within %v", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
