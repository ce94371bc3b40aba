package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

const (
	nifcloudZone   = "east-11"
	nifcloudRegion = "jp-east-1"
)

// nifcloudState is the part of the simulator's state the scenarios check.
type nifcloudState struct {
	Instances map[string]struct {
		InstanceUniqueID string `json:"instanceUniqueId"`
		State            string `json:"state"`
	} `json:"instances"`
	Volumes map[string]struct {
		Status     string `json:"status"`
		Attachment *struct {
			InstanceID string `json:"instanceId"`
		} `json:"attachment"`
	} `json:"volumes"`
	ElasticLBs map[string]struct {
		DNSName   string        `json:"dnsName"`
		State     string        `json:"state"`
		Listeners []elbListener `json:"listeners"`
	} `json:"elasticLoadBalancers"`
	LoadBalancers map[string]struct {
		Name           string `json:"name"`
		DNSName        string `json:"dnsName"`
		AccountingType string `json:"accountingType"`
		Listeners      []struct {
			LoadBalancerPort int      `json:"loadBalancerPort"`
			InstancePort     int      `json:"instancePort"`
			Instances        []string `json:"instances"`
		} `json:"listeners"`
	} `json:"loadBalancers"`
}

type elbListener struct {
	Port          int `json:"elasticLoadBalancerPort"`
	InstancePort  int `json:"instancePort"`
	BalancingType int `json:"balancingType"`
	HealthCheck   struct {
		Target             string `json:"target"`
		Interval           int    `json:"interval"`
		UnhealthyThreshold int    `json:"unhealthyThreshold"`
	} `json:"healthCheck"`
	Instances []string `json:"instances"`
}

type nifcloudEnv struct{ *env }

func (n *nifcloudEnv) state(ctx context.Context) (nifcloudState, error) {
	var st nifcloudState
	err := n.sim.Admin(ctx, http.MethodGet, n.sim.NIFCLOUDURL, framework.NIFCLOUDAdmin+"state", nil, &st)
	return st, err
}

func (n *nifcloudEnv) addInstance(name string, ip int) {
	n.t.Helper()
	if err := framework.AddNIFCLOUDInstance(n.ctx, n.sim, name, nifcloudZone, ip); err != nil {
		n.t.Fatal(err)
	}
}

func TestNIFCLOUD(t *testing.T) {
	e := newEnv(t, framework.CloudsimOptions{
		Transition: "volume.create=200ms,volume.attach=200ms,volume.detach=200ms",
		Env:        framework.SimEnv(),
	})
	n := &nifcloudEnv{env: e}
	clientEnv := framework.NIFCLOUDClientEnv(e.sim, nifcloudRegion)

	workers := []string{"kumoworker1", "kumoworker2", "kumoworker3"}
	for i, w := range workers {
		n.addInstance(w, 11+i)
	}
	ccm, err := framework.StartCCM(e.ctx, e.bins, e.cp, framework.CCMOptions{Cloud: "nifcloud", Env: clientEnv})
	if err != nil {
		t.Fatal(err)
	}
	e.track(ccm.Process)
	e.metrics["ccm"] = func(ctx context.Context) (string, error) { return ccm.Metrics(ctx, e.cp) }
	for _, w := range workers {
		if _, err := framework.RegisterNode(e.ctx, e.cp.Client, w); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("nodes are initialized", func(t *testing.T) {
		st, err := n.state(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range workers {
			want := "nifcloud:///" + nifcloudZone + "/" + st.Instances[w].InstanceUniqueID
			waitNodeInitialized(e, w, want, map[string]string{
				v1.LabelTopologyZone:       nifcloudZone,
				v1.LabelTopologyRegion:     nifcloudRegion,
				v1.LabelInstanceTypeStable: "e-medium",
			})
		}
	})

	t.Run("elastic load balancer changes balancing type, health check and ports", func(t *testing.T) {
		nifcloudElasticLBScenario(t, n, workers)
	})

	t.Run("load balancer follows the Service and the nodes", func(t *testing.T) {
		nifcloudLoadBalancerScenario(t, n, workers)
	})

	t.Run("a cloud echoing requests in its errors leaks nothing into Events", func(t *testing.T) {
		hostileCloudScenario(t, e, hostileCase{base: n.sim.NIFCLOUDURL, admin: framework.NIFCLOUDAdmin,
			extraSecrets: []string{framework.NIFCLOUDAccessKeyID}, cleanedUp: n.lbCleanedUp})
	})

	t.Run("cloud API calls are measured on the CCM's /metrics", func(t *testing.T) {
		body, err := ccm.Metrics(e.ctx, e.cp)
		if err != nil {
			t.Fatal(err)
		}
		want := `kumo_cloud_api_requests_total{cloud="nifcloud",request="DescribeInstances"}`
		if !strings.Contains(body, want) {
			t.Errorf("CCM /metrics lacks %s", want)
		}
	})

	t.Run("deleted and stopped instances", func(t *testing.T) {
		nifcloudLifecycleScenario(t, n, workers)
	})
}

// waitNodeInitialized waits until the cloud node controller set the
// providerID, the labels and an InternalIP, and removed the taint.
func waitNodeInitialized(e *env, name, providerID string, labels map[string]string) {
	e.t.Helper()
	e.eventually("node "+name+" initialized", 60*time.Second, func(ctx context.Context) (bool, error) {
		node, err := e.cp.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if node.Spec.ProviderID != providerID || framework.HasTaint(node, framework.TaintUninitialized) {
			return false, fmt.Errorf("providerID %q, taints %v", node.Spec.ProviderID, node.Spec.Taints)
		}
		for k, v := range labels {
			if node.Labels[k] != v {
				return false, fmt.Errorf("label %s=%q, want %q", k, node.Labels[k], v)
			}
		}
		for _, a := range node.Status.Addresses {
			if a.Type == v1.NodeInternalIP {
				return true, nil
			}
		}
		return false, fmt.Errorf("no InternalIP in %v", node.Status.Addresses)
	})
}

func nifcloudLoadBalancerScenario(t *testing.T, n *nifcloudEnv, workers []string) {
	loadBalancerScenario(t, n.env, workers, lbCase{
		annotations:   map[string]string{"service.beta.kubernetes.io/nifcloud-load-balancer-accounting-type": "2"},
		timeout:       90 * time.Second,
		deleteTimeout: 60 * time.Second,
		newNode:       "kumoworker4",
		addNode:       func(name string) { n.addInstance(name, 14) },
		converged: func(ctx context.Context, s *v1.Service, backends []string) (bool, error) {
			st, err := n.state(ctx)
			if err != nil {
				return false, err
			}
			if len(st.LoadBalancers) != 1 {
				return false, fmt.Errorf("%d load balancers in the cloud", len(st.LoadBalancers))
			}
			for _, lb := range st.LoadBalancers {
				if len(s.Status.LoadBalancer.Ingress) != 1 || s.Status.LoadBalancer.Ingress[0].IP != lb.DNSName {
					return false, fmt.Errorf("ingress %v, VIP %s", s.Status.LoadBalancer.Ingress, lb.DNSName)
				}
				if lb.AccountingType != "2" {
					return false, fmt.Errorf("accounting type %q", lb.AccountingType)
				}
				if len(lb.Listeners) != len(s.Spec.Ports) {
					return false, fmt.Errorf("%d listeners for %d ports", len(lb.Listeners), len(s.Spec.Ports))
				}
				for _, p := range s.Spec.Ports {
					i := slices.IndexFunc(lb.Listeners, func(l struct {
						LoadBalancerPort int      `json:"loadBalancerPort"`
						InstancePort     int      `json:"instancePort"`
						Instances        []string `json:"instances"`
					}) bool {
						return l.LoadBalancerPort == int(p.Port)
					})
					if i < 0 {
						return false, fmt.Errorf("no listener for port %d", p.Port)
					}
					l := lb.Listeners[i]
					got := slices.Clone(l.Instances)
					slices.Sort(got)
					if l.InstancePort != int(p.NodePort) || !slices.Equal(got, backends) {
						return false, fmt.Errorf("port %d: instance port %d (NodePort %d), instances %v, want %v", p.Port, l.InstancePort, p.NodePort, got, backends)
					}
				}
			}
			return true, nil
		},
		cleanedUp: n.lbCleanedUp,
	})
}

// lbCleanedUp reports whether no load balancer is left in the cloud.
func (n *nifcloudEnv) lbCleanedUp(ctx context.Context) (bool, error) {
	st, err := n.state(ctx)
	if err != nil {
		return false, err
	}
	return len(st.LoadBalancers) == 0, fmt.Errorf("%d load balancers left", len(st.LoadBalancers))
}

// nifcloudLifecycleScenario: a stopped instance's NotReady node gets the
// shutdown taint; a deleted instance's node is deleted.
func nifcloudLifecycleScenario(t *testing.T, n *nifcloudEnv, workers []string) {
	e := n.env
	stopped, deleted := workers[1], workers[2]
	if err := n.sim.Admin(e.ctx, http.MethodPut, n.sim.NIFCLOUDURL, framework.NIFCLOUDAdmin+"instances/"+stopped+"/state", map[string]string{"state": "stopped"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := n.sim.Admin(e.ctx, http.MethodDelete, n.sim.NIFCLOUDURL, framework.NIFCLOUDAdmin+"instances/"+deleted, nil, nil); err != nil {
		t.Fatal(err)
	}
	// Without kubelet heartbeats the nodes would become NotReady; do it now.
	for _, name := range []string{stopped, deleted} {
		if err := framework.SetNodeReady(e.ctx, e.cp.Client, name, v1.ConditionUnknown); err != nil {
			t.Fatal(err)
		}
	}
	waitNodeGoneAndShutdown(e, deleted, stopped)
}

func waitNodeGoneAndShutdown(e *env, deleted, stopped string) {
	e.t.Helper()
	e.eventually("node of the deleted instance removed", 60*time.Second, func(ctx context.Context) (bool, error) {
		_, err := e.cp.Client.CoreV1().Nodes().Get(ctx, deleted, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	e.eventually("node of the stopped instance tainted", 60*time.Second, func(ctx context.Context) (bool, error) {
		node, err := e.cp.Client.CoreV1().Nodes().Get(ctx, stopped, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return framework.HasTaint(node, framework.TaintShutdown), fmt.Errorf("taints %v", node.Spec.Taints)
	})
}

// elbWant is the listener state nifcloudElasticLBScenario waits for.
type elbWant struct {
	balancingType, interval, unhealthy int
}

// nifcloudElasticLBScenario: an elastic LB Service; its balancing type and
// health check change through annotations, a port is added and a NodePort
// moves. The simulator refuses request keys outside the computing model, so
// convergence shows every change went through model-valid calls
// (NiftyModifyElasticLoadBalancerAttributes, NiftyConfigureElasticLoadBalancerHealthCheck,
// NiftyRegisterPortWithElasticLoadBalancer).
func nifcloudElasticLBScenario(t *testing.T, n *nifcloudEnv, workers []string) {
	e := n.env
	const pfx = "service.beta.kubernetes.io/nifcloud-load-balancer-"
	c := e.cp.Client.CoreV1()
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: "default", Annotations: map[string]string{
			pfx + "type": "elb", pfx + "balancing-type": "1"}},
		Spec: v1.ServiceSpec{
			Type:     v1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "nginx"},
			Ports:    []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP}},
		},
	}
	if _, err := c.Services("default").Create(e.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	backends := slices.Clone(workers)
	slices.Sort(backends)
	expect := func(what string, want elbWant) {
		t.Helper()
		e.eventually(what, 90*time.Second, func(ctx context.Context) (bool, error) {
			s, err := c.Services("default").Get(ctx, "nginx", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			st, err := n.state(ctx)
			if err != nil {
				return false, err
			}
			if len(st.ElasticLBs) != 1 {
				return false, fmt.Errorf("%d elastic load balancers", len(st.ElasticLBs))
			}
			for _, elb := range st.ElasticLBs {
				if len(s.Status.LoadBalancer.Ingress) != 1 || s.Status.LoadBalancer.Ingress[0].IP != elb.DNSName {
					return false, fmt.Errorf("ingress %v, VIP %s", s.Status.LoadBalancer.Ingress, elb.DNSName)
				}
				if len(elb.Listeners) != len(s.Spec.Ports) {
					return false, fmt.Errorf("%d listeners for %d ports", len(elb.Listeners), len(s.Spec.Ports))
				}
				for _, p := range s.Spec.Ports {
					i := slices.IndexFunc(elb.Listeners, func(l elbListener) bool { return l.Port == int(p.Port) })
					if i < 0 {
						return false, fmt.Errorf("no listener for port %d", p.Port)
					}
					l := elb.Listeners[i]
					got := slices.Clone(l.Instances)
					slices.Sort(got)
					switch {
					case l.InstancePort != int(p.NodePort):
						return false, fmt.Errorf("port %d: instance port %d, NodePort %d", p.Port, l.InstancePort, p.NodePort)
					case l.BalancingType != want.balancingType:
						return false, fmt.Errorf("port %d: balancing type %d, want %d", p.Port, l.BalancingType, want.balancingType)
					case l.HealthCheck.Interval != want.interval || l.HealthCheck.UnhealthyThreshold != want.unhealthy:
						return false, fmt.Errorf("port %d: health check %+v, want %+v", p.Port, l.HealthCheck, want)
					case !slices.Equal(got, backends):
						return false, fmt.Errorf("port %d: instances %v, want %v", p.Port, got, backends)
					}
				}
			}
			return true, nil
		})
	}
	expect("elastic LB created", elbWant{balancingType: 1, interval: 10, unhealthy: 1})

	updateService(t, e, func(s *v1.Service) {
		s.Annotations[pfx+"balancing-type"] = "2"
		s.Annotations[pfx+"healthcheck-interval"] = "30"
		s.Annotations[pfx+"healthcheck-unhealthy-threshold"] = "3"
	})
	expect("balancing type and health check changed in place", elbWant{balancingType: 2, interval: 30, unhealthy: 3})

	updateService(t, e, func(s *v1.Service) {
		s.Spec.Ports[0].NodePort = 31999
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "https", Port: 443, Protocol: v1.ProtocolTCP})
	})
	expect("NodePort moved and a listener added", elbWant{balancingType: 2, interval: 30, unhealthy: 3})

	if err := c.Services("default").Delete(e.ctx, "nginx", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("elastic LB deleted with its Service", 60*time.Second, func(ctx context.Context) (bool, error) {
		_, err := c.Services("default").Get(ctx, "nginx", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("service still there (%v)", err)
		}
		st, err := n.state(ctx)
		if err != nil {
			return false, err
		}
		return len(st.ElasticLBs) == 0, fmt.Errorf("%d elastic load balancers left", len(st.ElasticLBs))
	})
}
