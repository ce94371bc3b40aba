package nifcloud

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	cloudproviderapi "k8s.io/cloud-provider/api"
	nodecontroller "k8s.io/cloud-provider/controllers/node"
	"k8s.io/cloud-provider/controllers/nodelifecycle"
	servicecontroller "k8s.io/cloud-provider/controllers/service"
	controllersmetrics "k8s.io/component-base/metrics/prometheus/controllers"

	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
)

// eventually polls cond every 20ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, detail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func uninitializedNode(name string) *v1.Node {
	n := testNode(name, "")
	n.Spec.Taints = []v1.Taint{{Key: cloudproviderapi.TaintExternalCloudProvider, Value: "true", Effect: v1.TaintEffectNoSchedule}}
	return n
}

func hasTaint(n *v1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

// TestCloudNodeControllerInitializes100Nodes runs the real cloud node
// controller over 100 uninitialized nodes: each gets its providerID,
// addresses and topology labels, loses the uninitialized taint, and the
// whole sync costs at most two DescribeInstances calls (the cache).
func TestCloudNodeControllerInitializes100Nodes(t *testing.T) {
	const n = 100
	e := newSimEnv(t, nil)
	var objs []*v1.Node
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("node%03d", i)
		e.addInstances(nifcloudsim.Instance{InstanceID: name, InstanceUniqueID: fmt.Sprintf("i-node%04d", i),
			InstanceType: "h2-large16", PrivateIP: fmt.Sprintf("10.0.%d.%d", i/200, i%200+1), PublicIP: fmt.Sprintf("203.0.113.%d", i+1)})
		objs = append(objs, uninitializedNode(name))
	}
	client := fake.NewSimpleClientset()
	for _, o := range objs {
		if _, err := client.CoreV1().Nodes().Create(context.Background(), o, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	cnc, err := nodecontroller.NewCloudNodeController(factory.Core().V1().Nodes(), client, e.p, time.Minute, 10, 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.sim.Controls().ResetCounts()
	factory.Start(ctx.Done())
	go cnc.RunWithContext(ctx, controllersmetrics.NewControllerManagerMetrics("test"))

	eventually(t, 20*time.Second, "all nodes initialized", func() (bool, string) {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		pending := 0
		for _, nd := range list.Items {
			// Addresses land in a status update after the taint goes.
			if nd.Spec.ProviderID == "" || hasTaint(&nd, cloudproviderapi.TaintExternalCloudProvider) || len(nd.Status.Addresses) == 0 {
				pending++
			}
		}
		return pending == 0, fmt.Sprintf("%d of %d nodes pending", pending, len(list.Items))
	})
	nd, err := client.CoreV1().Nodes().Get(ctx, "node007", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if nd.Spec.ProviderID != "nifcloud:///east-11/i-node0007" {
		t.Fatalf("providerID = %q", nd.Spec.ProviderID)
	}
	for k, want := range map[string]string{
		v1.LabelTopologyZone:       testZone,
		v1.LabelTopologyRegion:     testRegion,
		v1.LabelInstanceTypeStable: "h2-large16",
	} {
		if got := nd.Labels[k]; got != want {
			t.Fatalf("label %s = %q, want %q", k, got, want)
		}
	}
	addrs := map[v1.NodeAddressType]string{}
	for _, a := range nd.Status.Addresses {
		addrs[a.Type] = a.Address
	}
	if addrs[v1.NodeInternalIP] != "10.0.0.8" || addrs[v1.NodeExternalIP] != "203.0.113.8" || addrs[v1.NodeHostName] != "node007" {
		t.Fatalf("addresses = %v", nd.Status.Addresses)
	}
	calls := e.sim.Controls().Count("DescribeInstances")
	t.Logf("DescribeInstances calls for %d nodes: %d (all calls: %v)", n, calls, e.sim.Controls().Counts())
	if calls > 2 {
		t.Fatalf("node sync of %d nodes made %d DescribeInstances calls, want <= 2", n, calls)
	}
}

// TestNodeLifecycleController runs the real lifecycle controller: a node
// whose instance is deleted is deleted, a stopped one gets the shutdown
// taint, a running one is left alone.
func TestNodeLifecycleController(t *testing.T) {
	e := newSimEnv(t, func(c *ProviderConfig) { c.InstanceCacheMaxAge = 50 * time.Millisecond })
	e.addInstances(
		nifcloudsim.Instance{InstanceID: "gone1", InstanceUniqueID: "i-gone0001"},
		nifcloudsim.Instance{InstanceID: "stop1", InstanceUniqueID: "i-stop0001"},
		nifcloudsim.Instance{InstanceID: "keep1", InstanceUniqueID: "i-keep0001"},
	)
	client := fake.NewSimpleClientset()
	for _, name := range []string{"gone1", "stop1", "keep1"} {
		nd := testNode(name, "nifcloud:///east-11/i-"+name[:4]+"0001")
		nd.Status.Conditions[0].Status = v1.ConditionUnknown // kubelet stopped posting
		if _, err := client.CoreV1().Nodes().Create(context.Background(), nd, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.sim.DeleteInstance("gone1"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetInstanceState("stop1", "stopped"); err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	lc, err := nodelifecycle.NewCloudNodeLifecycleController(factory.Core().V1().Nodes(), client, e.p, 100*time.Millisecond, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	go lc.Run(ctx, controllersmetrics.NewControllerManagerMetrics("test"))

	eventually(t, 10*time.Second, "gone1 deleted and stop1 tainted", func() (bool, string) {
		_, errGone := client.CoreV1().Nodes().Get(ctx, "gone1", metav1.GetOptions{})
		stop, err := client.CoreV1().Nodes().Get(ctx, "stop1", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return errGone != nil && hasTaint(stop, cloudproviderapi.TaintNodeShutdown),
			fmt.Sprintf("gone1 lookup err=%v, stop1 taints=%v", errGone, stop.Spec.Taints)
	})
	keep, err := client.CoreV1().Nodes().Get(ctx, "keep1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("keep1 (running instance) was deleted: %v", err)
	}
	if hasTaint(keep, cloudproviderapi.TaintNodeShutdown) {
		t.Fatal("keep1 (running instance) got the shutdown taint")
	}

	// An instance deleted while the provider holds a snapshot listing it
	// is noticed once the snapshot is older than InstanceCacheMaxAge.
	if err := e.sim.DeleteInstance("keep1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "keep1 deleted", func() (bool, string) {
		_, err := client.CoreV1().Nodes().Get(ctx, "keep1", metav1.GetOptions{})
		return err != nil, "keep1 still present"
	})
}

// TestServiceControllerDrivesL4 runs the real service controller: create
// (before any node exists), nodes added, port change, node added, then
// type ClusterIP deletes the LB. Steps are sequenced on the simulator's
// state: the upstream controller's cache is not safe when a service sync
// and a node sync of the same service overlap (see the report).
func TestServiceControllerDrivesL4(t *testing.T) {
	e := newSimEnv(t, nil)
	e.addInstances(webInstances()...)
	client := fake.NewSimpleClientset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc := testService(testUID, nil, port{80, 30080})
	if _, err := client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	name := loadBalancerName(svc)
	factory := informers.NewSharedInformerFactory(client, 0)
	sc, err := servicecontroller.New(e.p, client, factory.Core().V1().Services(), factory.Core().V1().Nodes(), "kube", nil)
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	go sc.Run(ctx, 2, controllersmetrics.NewControllerManagerMetrics("test"))

	lbState := func() []listenerView {
		if lb := e.state().LoadBalancers[name]; lb != nil {
			return l4Listeners(lb)
		}
		return nil
	}
	eventually(t, 10*time.Second, "service status with the VIP", func() (bool, string) {
		cur, err := client.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		lb := e.state().LoadBalancers[name]
		ok := lb != nil && len(cur.Status.LoadBalancer.Ingress) == 1 && cur.Status.LoadBalancer.Ingress[0].IP == lb.DNSName
		return ok, fmt.Sprintf("status %+v, listeners %+v", cur.Status.LoadBalancer, lbState())
	})

	for _, nd := range testNodes("web1", "web2") {
		if _, err := client.CoreV1().Nodes().Create(ctx, nd, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "web1 and web2 registered", func() (bool, string) {
		ls := lbState()
		return len(ls) == 1 && len(ls[0].Instances) == 2, fmt.Sprintf("%+v", ls)
	})

	cur, err := client.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Spec.Ports[0].NodePort = 30081
	if _, err := client.CoreV1().Services("default").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "listener moved to node port 30081", func() (bool, string) {
		ls := lbState()
		return len(ls) == 1 && ls[0].InstancePort == 30081 && ls[0].Target == "TCP:30081", fmt.Sprintf("%+v", ls)
	})

	if _, err := client.CoreV1().Nodes().Create(ctx, testNode("web3", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "web3 registered", func() (bool, string) {
		ls := lbState()
		return len(ls) == 1 && reflect.DeepEqual(ls[0].Instances, []string{"web1", "web2", "web3"}), fmt.Sprintf("%+v", ls)
	})

	cur, err = client.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Spec.Type = v1.ServiceTypeClusterIP
	for i := range cur.Spec.Ports {
		cur.Spec.Ports[i].NodePort = 0
	}
	if _, err := client.CoreV1().Services("default").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "load balancer deleted", func() (bool, string) {
		return len(e.state().LoadBalancers) == 0, fmt.Sprintf("%+v", lbState())
	})
}
