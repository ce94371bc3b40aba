package bench

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	nifccm "github.com/kumo-project/kumo/pkg/ccm/nifcloud"
	"github.com/kumo-project/kumo/pkg/ccm/openstack/octavia"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

const benchCluster = "kumo"

// nifcloudL4MaxPorts: a NIFCLOUD L4 load balancer takes at most three
// listeners (the provider refuses more, see maxL4Ports in pkg/ccm/nifcloud),
// so the NIFCLOUD run uses min(ports, 3).
const nifcloudL4MaxPorts = 3

// LBStep is one load balancer operation.
type LBStep struct {
	Millis float64 `json:"millis"`
	Calls  Counts  `json:"calls"`
	Total  int64   `json:"total"`
	Writes int64   `json:"writes"`
}

// LBResult is one load balancer run: a Service with Ports ports on Nodes
// nodes is created, one node is added, nothing changes, it is deleted.
type LBResult struct {
	Cloud  string `json:"cloud"`
	Kind   string `json:"kind"`
	Nodes  int    `json:"nodes"`
	Ports  int    `json:"ports"`
	Create LBStep `json:"create"` // EnsureLoadBalancer until it returns the ingress IP
	// NodeAdd is UpdateLoadBalancer after one node joined; MinNodeAddWrites
	// is the least the cloud API allows (one member write per pool /
	// listener).
	NodeAdd          LBStep `json:"nodeAdd"`
	MinNodeAddWrites int64  `json:"minNodeAddWrites"`
	NoOp             LBStep `json:"noop"` // UpdateLoadBalancer with nothing changed
	Delete           LBStep `json:"delete"`
	Leaked           int    `json:"leaked"` // cloud objects left after the delete
	IngressIP        string `json:"ingressIP"`
}

// RunLoadBalancer runs the load balancer benchmark on cloud ("openstack":
// Octavia, "nifcloud": the L4 load balancer).
func RunLoadBalancer(ctx context.Context, cloud string, nodes, ports int, prof Profile) (*LBResult, error) {
	logger := klog.FromContext(ctx).WithValues("benchmark", "loadbalancer", "cloud", cloud)
	ctx = klog.NewContext(ctx, logger)
	var (
		lb       cloudprovider.LoadBalancer
		controls *simcore.Controls
		names    []string
		leaked   func() int
		res      = &LBResult{Cloud: cloud, Nodes: nodes, Ports: ports, MinNodeAddWrites: int64(ports)}
	)
	switch cloud {
	case CloudOpenStack:
		c, err := startOpenStack(ctx, prof.OpenStackLatency(), "")
		if err != nil {
			return nil, err
		}
		defer c.Close()
		// A public VIP, as most Services of type LoadBalancer have.
		cfg := c.cfg.LoadBalancer
		cfg.FloatingNetworkID = externalNetwork(c)
		svs, err := c.addServers("lbnode", 0, nodes+1)
		if err != nil {
			return nil, err
		}
		for _, sv := range svs {
			names = append(names, sv.Name)
		}
		o, err := octavia.New(octavia.Options{Clients: c.clients, Config: cfg, ClusterName: benchCluster})
		if err != nil {
			return nil, err
		}
		lb, controls, res.Kind = o, c.controls, "octavia"
		leaked = func() int {
			st := c.sim.Snapshot()
			return len(st.LoadBalancers) + len(st.Listeners) + len(st.Pools) + len(st.Members) + len(st.HealthMonitors) + len(st.FloatingIPs)
		}
	case CloudNIFCLOUD:
		ports = min(ports, nifcloudL4MaxPorts)
		res.Ports, res.MinNodeAddWrites = ports, int64(ports)
		c, err := startNIFCLOUD(prof.NIFCLOUDLatency(), nil)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		if names, err = c.addInstances("lbnode", 0, nodes+1); err != nil {
			return nil, err
		}
		p, err := nifccm.NewProvider(c.api, nifccm.ProviderConfig{Region: nifRegion})
		if err != nil {
			return nil, err
		}
		lb, controls, res.Kind = p, c.controls, "l4"
		leaked = func() int {
			st := c.sim.Snapshot()
			return len(st.LoadBalancers) + len(st.ElasticLBs)
		}
	default:
		return nil, fmt.Errorf("unknown cloud %q", cloud)
	}
	svc := lbService(ports)
	all := make([]*v1.Node, 0, len(names))
	for i, name := range names {
		all = append(all, lbNode(name, nodeIP(i)))
	}

	var st *v1.LoadBalancerStatus
	err := measure(controls, &res.Create, func() (err error) {
		st, err = lb.EnsureLoadBalancer(ctx, benchCluster, svc, all[:nodes])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: creating the load balancer: %w", cloud, err)
	}
	if st == nil || len(st.Ingress) == 0 {
		return nil, fmt.Errorf("%s: EnsureLoadBalancer returned no ingress: %+v", cloud, st)
	}
	res.IngressIP = st.Ingress[0].IP + st.Ingress[0].Hostname
	logger.Info("Load balancer ready", "step", res.Create)
	if err := measure(controls, &res.NodeAdd, func() error { return lb.UpdateLoadBalancer(ctx, benchCluster, svc, all) }); err != nil {
		return nil, fmt.Errorf("%s: adding a node: %w", cloud, err)
	}
	if err := measure(controls, &res.NoOp, func() error { return lb.UpdateLoadBalancer(ctx, benchCluster, svc, all) }); err != nil {
		return nil, fmt.Errorf("%s: no-op update: %w", cloud, err)
	}
	if err := measure(controls, &res.Delete, func() error { return lb.EnsureLoadBalancerDeleted(ctx, benchCluster, svc) }); err != nil {
		return nil, fmt.Errorf("%s: deleting the load balancer: %w", cloud, err)
	}
	res.Leaked = leaked()
	logger.Info("Load balancer benchmark done", "nodeAdd", res.NodeAdd, "delete", res.Delete, "leaked", res.Leaked)
	return res, nil
}

// measure runs fn and records its wall time and the calls it caused.
func measure(controls *simcore.Controls, step *LBStep, fn func() error) error {
	before := snapshot(controls)
	start := time.Now()
	err := fn()
	step.Millis = ms(time.Since(start))
	step.Calls = since(controls, before)
	step.Total = step.Calls.Total()
	step.Writes = step.Calls.Writes().Total()
	return err
}

// externalNetwork is the ID of the simulator's seeded external network.
func externalNetwork(c *osCloud) string {
	for id, n := range c.sim.Snapshot().Networks {
		if n.External {
			return id
		}
	}
	return ""
}

func lbService(ports int) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: types.UID("6b1f3c52-7d0e-4f8a-9c21-3e5d7a9b0c14")},
		Spec:       v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer},
	}
	for i := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, v1.ServicePort{Name: fmt.Sprintf("p%d", i), Protocol: v1.ProtocolTCP,
			Port: int32(8000 + i), TargetPort: intstr.FromInt32(8080), NodePort: int32(30000 + i)})
	}
	return svc
}

func lbNode(name, ip string) *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
		Status: v1.NodeStatus{
			Addresses:  []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: ip}},
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, LastHeartbeatTime: metav1.Now()}},
		},
	}
}
