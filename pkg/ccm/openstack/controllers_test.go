package openstack

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	cloudproviderapi "k8s.io/cloud-provider/api"
	nodecontroller "k8s.io/cloud-provider/controllers/node"
	"k8s.io/cloud-provider/controllers/nodelifecycle"
	controllersmetrics "k8s.io/component-base/metrics/prometheus/controllers"
)

// cluster is a fake API server with the real cloud-provider node
// controllers running against a provider.
type cluster struct {
	client *fake.Clientset
	cancel context.CancelFunc
}

// startControllers runs the cloud node controller (and, with lifecycle,
// the node lifecycle controller every 100ms) for nodes.
func startControllers(t *testing.T, e *env, p *Provider, lifecycle bool, nodes ...*v1.Node) *cluster {
	t.Helper()
	c := fake.NewClientset()
	for _, n := range nodes {
		if _, err := c.CoreV1().Nodes().Create(e.ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(e.ctx)
	t.Cleanup(cancel)
	f := informers.NewSharedInformerFactory(c, 0)
	p.SetInformers(f)
	cnc, err := nodecontroller.NewCloudNodeController(f.Core().V1().Nodes(), c, p, time.Minute, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	var lc *nodelifecycle.CloudNodeLifecycleController
	if lifecycle {
		if lc, err = nodelifecycle.NewCloudNodeLifecycleController(f.Core().V1().Nodes(), c, p, 100*time.Millisecond, 4); err != nil {
			t.Fatal(err)
		}
	}
	f.Start(ctx.Done())
	metrics := controllersmetrics.NewControllerManagerMetrics("test")
	go cnc.RunWithContext(ctx, metrics)
	if lc != nil {
		go lc.Run(ctx, metrics)
	}
	return &cluster{client: c, cancel: cancel}
}

func (c *cluster) node(t *testing.T, name string) *v1.Node {
	t.Helper()
	n, err := c.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func initialized(n *v1.Node) bool {
	if n == nil || n.Spec.ProviderID == "" {
		return false
	}
	for _, tt := range n.Spec.Taints {
		if tt.Key == cloudproviderapi.TaintExternalCloudProvider {
			return false
		}
	}
	return true
}

func hasTaint(n *v1.Node, key string) bool {
	for _, tt := range n.Spec.Taints {
		if tt.Key == key {
			return true
		}
	}
	return false
}

// TestNodeControllers drives the real cloud node and node lifecycle
// controllers: initialization, deleted server → Node deleted, SHUTOFF →
// shutdown taint.
func TestNodeControllers(t *testing.T) {
	e := newEnv(t, "")
	a := e.addServer(t, privateServer("node-a", "10.0.0.51"))
	b := e.addServer(t, privateServer("node-b", "10.0.0.52"))
	p := e.provider(t, Options{CacheMaxAge: 200 * time.Millisecond, MinRefresh: 50 * time.Millisecond})
	cl := startControllers(t, e, p, true,
		uninitializedNode("node-a", ""), uninitializedNode("node-b", "openstack://RegionOne/"+b.ID))

	eventually(t, 10*time.Second, "both nodes initialized", func() bool {
		a, b := cl.node(t, "node-a"), cl.node(t, "node-b")
		// Addresses are written by a status update after the taint goes.
		return initialized(a) && initialized(b) && len(a.Status.Addresses) > 0
	})
	n := cl.node(t, "node-a")
	if n.Spec.ProviderID != "openstack:///"+a.ID {
		t.Errorf("providerID = %q", n.Spec.ProviderID)
	}
	for k, want := range map[string]string{
		v1.LabelInstanceTypeStable: "m1.medium", v1.LabelTopologyZone: "nova", v1.LabelTopologyRegion: "RegionOne",
	} {
		if n.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, n.Labels[k], want)
		}
	}
	if len(n.Status.Addresses) != 1 || n.Status.Addresses[0] != internal("10.0.0.51") {
		t.Errorf("addresses = %v", n.Status.Addresses)
	}
	// node-b kept the kubelet-set regional providerID.
	if got := cl.node(t, "node-b").Spec.ProviderID; got != "openstack://RegionOne/"+b.ID {
		t.Errorf("node-b providerID = %q", got)
	}

	if err := e.sim.SetServerStatus(b.ID, "SHUTOFF"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.DeleteServer(a.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "node-a deleted and node-b tainted shutdown", func() bool {
		nb := cl.node(t, "node-b")
		return cl.node(t, "node-a") == nil && nb != nil && hasTaint(nb, cloudproviderapi.TaintNodeShutdown)
	})
}

// TestNodeSyncAPIBudget initializes 100 nodes through the real node
// controller and counts the simulator's API calls: one server list and
// one port list serve them all.
func TestNodeSyncAPIBudget(t *testing.T) {
	e := newEnv(t, "")
	const count = 100
	var nodes []*v1.Node
	for i := range count {
		name := fmt.Sprintf("worker-%03d", i)
		e.addServer(t, privateServer(name, fmt.Sprintf("10.0.0.%d", 100+i)))
		nodes = append(nodes, uninitializedNode(name, ""))
	}
	e.sim.Controls().ResetCounts()
	p := e.provider(t, Options{CacheMaxAge: time.Minute, MinRefresh: 10 * time.Second})
	start := time.Now()
	cl := startControllers(t, e, p, false, nodes...)
	eventually(t, 30*time.Second, "100 nodes initialized", func() bool {
		list, err := cl.client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			if !initialized(&list.Items[i]) || len(list.Items[i].Status.Addresses) == 0 {
				return false
			}
		}
		return len(list.Items) == count
	})
	counts := e.sim.Controls().Counts()
	t.Logf("%d nodes initialized in %v; API calls: %v", count, time.Since(start).Round(time.Millisecond), counts)
	for action, limit := range map[string]int64{
		"nova.server_list": 2, "neutron.port_list": 2, "nova.flavor_list": 1, "nova.server_get": 0, "nova.flavor_get": 0,
	} {
		if counts[action] > limit {
			t.Errorf("%s called %d times for %d nodes, budget %d", action, counts[action], count, limit)
		}
	}
	if counts["nova.server_list"] < 1 {
		t.Errorf("no server list recorded: counters not wired? %v", counts)
	}
}
