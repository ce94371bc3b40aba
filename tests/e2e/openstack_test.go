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

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

const (
	openstackZone = "nova"
)

// openstackState is the part of the simulator's state the scenarios check.
type openstackState struct {
	Servers map[string]struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"servers"`
	Networks map[string]struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		External bool   `json:"external"`
		Subnets  []struct {
			ID string `json:"id"`
		} `json:"subnets"`
	} `json:"networks"`
	FloatingIPs map[string]struct {
		FloatingIPAddress string `json:"floating_ip_address"`
		PortID            string `json:"port_id"`
	} `json:"floating_ips"`
	Snapshots map[string]struct {
		ID       string            `json:"id"`
		Metadata map[string]string `json:"metadata"`
	} `json:"snapshots"`
	Backups map[string]struct {
		ID       string            `json:"id"`
		Metadata map[string]string `json:"metadata"`
	} `json:"backups"`
	Volumes map[string]struct {
		Status      string `json:"status"`
		AZ          string `json:"availability_zone"`
		Attachments []struct {
			ServerID string `json:"server_id"`
		} `json:"attachments"`
	} `json:"volumes"`
	LoadBalancers map[string]struct {
		ID         string `json:"id"`
		VipAddress string `json:"vip_address"`
	} `json:"load_balancers"`
	Listeners map[string]struct {
		LoadBalancerID string `json:"loadbalancer_id"`
		ProtocolPort   int    `json:"protocol_port"`
		DefaultPoolID  string `json:"default_pool_id"`
	} `json:"listeners"`
	Members map[string]struct {
		PoolID       string `json:"pool_id"`
		Address      string `json:"address"`
		ProtocolPort int    `json:"protocol_port"`
	} `json:"members"`
}

type openstackEnv struct {
	*env
	servers map[string]string // node name → server ID
}

func (o *openstackEnv) state(ctx context.Context) (openstackState, error) {
	var st openstackState
	err := o.sim.Admin(ctx, http.MethodGet, o.sim.OpenStackURL, framework.OpenStackAdmin+"state", nil, &st)
	return st, err
}

func (o *openstackEnv) addServer(name string, ip int) {
	o.t.Helper()
	id, err := framework.AddOpenStackServer(o.ctx, o.sim, name, openstackZone, ip)
	if err != nil {
		o.t.Fatal(err)
	}
	o.servers[name] = id
}

func TestOpenStack(t *testing.T) {
	e := newEnv(t, framework.CloudsimOptions{
		Transition: "volume.create=200ms,volume.attach=200ms,volume.detach=200ms,octavia.create=300ms,octavia.update=200ms,octavia.delete=200ms",
		Env:        framework.SimEnv(),
	})
	o := &openstackEnv{env: e, servers: map[string]string{}}
	workers := []string{"os-worker-1", "os-worker-2", "os-worker-3"}
	for i, w := range workers {
		o.addServer(w, 11+i)
	}
	conf, err := framework.WriteOpenStackCloudConf(e.ctx, e.sim, e.dir)
	if err != nil {
		t.Fatal(err)
	}
	ccm, err := framework.StartCCM(e.ctx, e.bins, e.cp, framework.CCMOptions{Cloud: "openstack", CloudConfig: conf})
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
		for _, w := range workers {
			waitNodeInitialized(e, w, "openstack:///"+o.servers[w], map[string]string{
				v1.LabelTopologyZone:       openstackZone,
				v1.LabelTopologyRegion:     "RegionOne",
				v1.LabelInstanceTypeStable: "m1.medium",
			})
		}
	})

	t.Run("load balancer follows the Service and the nodes", func(t *testing.T) {
		openstackLoadBalancerScenario(t, o, workers)
	})

	t.Run("a shared load balancer goes with its last Service", func(t *testing.T) {
		openstackSharedScenario(t, o)
	})

	t.Run("a cloud echoing requests in its errors leaks nothing into Events", func(t *testing.T) {
		hostileCloudScenario(t, e, hostileCase{base: o.sim.OpenStackURL, admin: framework.OpenStackAdmin, cleanedUp: o.lbCleanedUp})
	})

	t.Run("cloud API calls are measured on the CCM's /metrics", func(t *testing.T) {
		body, err := ccm.Metrics(e.ctx, e.cp)
		if err != nil {
			t.Fatal(err)
		}
		want := `kumo_cloud_api_requests_total{cloud="openstack",request="server_list"}`
		if !strings.Contains(body, want) {
			t.Errorf("CCM /metrics lacks %s", want)
		}
	})

	t.Run("deleted and stopped servers", func(t *testing.T) {
		stopped, deleted := workers[1], workers[2]
		if err := o.sim.Admin(e.ctx, http.MethodPut, o.sim.OpenStackURL, framework.OpenStackAdmin+"servers/"+o.servers[stopped]+"/status", map[string]string{"status": "SHUTOFF"}, nil); err != nil {
			t.Fatal(err)
		}
		if err := o.sim.Admin(e.ctx, http.MethodDelete, o.sim.OpenStackURL, framework.OpenStackAdmin+"servers/"+o.servers[deleted], nil, nil); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{stopped, deleted} {
			if err := framework.SetNodeReady(e.ctx, e.cp.Client, name, v1.ConditionUnknown); err != nil {
				t.Fatal(err)
			}
		}
		waitNodeGoneAndShutdown(e, deleted, stopped)
	})
}

func openstackLoadBalancerScenario(t *testing.T, o *openstackEnv, workers []string) {
	nodeIP := func(name string) string {
		for i, w := range []string{"os-worker-1", "os-worker-2", "os-worker-3", "os-worker-4"} {
			if w == name {
				return fmt.Sprintf("10.0.0.%d", 11+i)
			}
		}
		return ""
	}
	loadBalancerScenario(t, o.env, workers, lbCase{
		annotations:   map[string]string{"loadbalancer.openstack.org/lb-method": "LEAST_CONNECTIONS"},
		timeout:       120 * time.Second,
		deleteTimeout: 90 * time.Second,
		newNode:       "os-worker-4",
		addNode:       func(name string) { o.addServer(name, 14) },
		converged: func(ctx context.Context, s *v1.Service, backends []string) (bool, error) {
			var want []string
			for _, b := range backends {
				want = append(want, nodeIP(b))
			}
			slices.Sort(want)
			st, err := o.state(ctx)
			if err != nil {
				return false, err
			}
			if len(st.LoadBalancers) != 1 {
				return false, fmt.Errorf("%d load balancers", len(st.LoadBalancers))
			}
			fips := map[string]bool{}
			for _, f := range st.FloatingIPs {
				if f.PortID != "" {
					fips[f.FloatingIPAddress] = true
				}
			}
			if len(s.Status.LoadBalancer.Ingress) != 1 || !fips[s.Status.LoadBalancer.Ingress[0].IP] {
				return false, fmt.Errorf("ingress %v, associated floating IPs %v", s.Status.LoadBalancer.Ingress, fips)
			}
			for _, p := range s.Spec.Ports {
				pool := ""
				for _, l := range st.Listeners {
					if l.ProtocolPort == int(p.Port) {
						pool = l.DefaultPoolID
					}
				}
				if pool == "" {
					return false, fmt.Errorf("no listener for port %d", p.Port)
				}
				var got []string
				for _, m := range st.Members {
					if m.PoolID == pool {
						if m.ProtocolPort != int(p.NodePort) {
							return false, fmt.Errorf("member %s on port %d, NodePort %d", m.Address, m.ProtocolPort, p.NodePort)
						}
						got = append(got, m.Address)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					return false, fmt.Errorf("port %d: members %v, want %v", p.Port, got, want)
				}
			}
			if len(st.Listeners) != len(s.Spec.Ports) {
				return false, fmt.Errorf("%d listeners for %d ports", len(st.Listeners), len(s.Spec.Ports))
			}
			return true, nil
		},
		cleanedUp: o.lbCleanedUp,
	})
}

// lbCleanedUp reports whether no load balancer, listener, member or
// floating IP is left in the cloud.
func (o *openstackEnv) lbCleanedUp(ctx context.Context) (bool, error) {
	st, err := o.state(ctx)
	if err != nil {
		return false, err
	}
	if len(st.LoadBalancers) != 0 || len(st.Listeners) != 0 || len(st.Members) != 0 || len(st.FloatingIPs) != 0 {
		return false, fmt.Errorf("left: %d LBs, %d listeners, %d members, %d floating IPs",
			len(st.LoadBalancers), len(st.Listeners), len(st.Members), len(st.FloatingIPs))
	}
	return true, nil
}
