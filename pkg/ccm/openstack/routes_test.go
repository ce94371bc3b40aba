package openstack

import (
	"context"
	"net"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/controllers/route"
	controllersmetrics "k8s.io/component-base/metrics/prometheus/controllers"
	// The route controller reads the controller-manager feature gates.
	_ "k8s.io/controller-manager/pkg/features/register"
)

// routerEnv is a simulator whose seeded router is [Route] router-id.
func routerEnv(t *testing.T) (*env, string) {
	e := newEnv(t, "")
	var id string
	for rid := range e.sim.Snapshot().Routers {
		id = rid
	}
	if id == "" {
		t.Fatal("simulator has no router")
	}
	e.cfg.Route.RouterID = id
	return e, id
}

// routerRoutes is the router's routes as "dest via hop", sorted.
func routerRoutes(e *env, id string) []string {
	var out []string
	for _, r := range e.sim.Snapshot().Routers[id].Routes {
		out = append(out, r.Destination+" via "+r.NextHop)
	}
	sort.Strings(out)
	return out
}

// allowedPairs is the allowed address pairs of the port holding ip.
func allowedPairs(e *env, ip string) []string {
	var out []string
	for _, p := range e.sim.Snapshot().Ports {
		for _, f := range p.FixedIPs {
			if f.IPAddress == ip {
				for _, a := range p.AllowedAddressPairs {
					out = append(out, a.IPAddress)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestRouteController runs the real route controller (with the node
// controller filling in addresses) against the simulator's router.
func TestRouteController(t *testing.T) {
	e, rid := routerEnv(t)
	a := e.addServer(t, privateServer("r-a", "10.0.0.61"))
	b := e.addServer(t, privateServer("r-b", "10.0.0.62"))
	// A stale route into the cluster CIDR via an unknown hop (blackhole,
	// to be deleted) and a foreign one outside it (to be kept).
	stale := []routers.Route{{DestinationCIDR: "10.244.9.0/24", NextHop: "10.0.0.250"}, {DestinationCIDR: "192.168.100.0/24", NextHop: "10.0.0.250"}}
	if _, err := routers.Update(e.ctx, e.clients.Network, rid, routers.UpdateOpts{Routes: &stale}).Extract(); err != nil {
		t.Fatal(err)
	}
	p := e.provider(t, Options{})
	rts, ok := p.Routes()
	if !ok {
		t.Fatal("Routes() not supported with router-id set")
	}
	na, nb := uninitializedNode("r-a", "openstack:///"+a.ID), uninitializedNode("r-b", "openstack:///"+b.ID)
	na.Spec.PodCIDR, na.Spec.PodCIDRs = "10.244.1.0/24", []string{"10.244.1.0/24"}
	nb.Spec.PodCIDR, nb.Spec.PodCIDRs = "10.244.2.0/24", []string{"10.244.2.0/24"}
	cl := startControllers(t, e, p, false, na, nb)

	f := informers.NewSharedInformerFactory(cl.client, 0)
	_, cidr, _ := net.ParseCIDR("10.244.0.0/16")
	rc, err := route.New(rts, cl.client, f.Core().V1().Nodes(), "kumo", []*net.IPNet{cidr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	t.Cleanup(cancel)
	f.Start(ctx.Done())
	go rc.Run(ctx, 200*time.Millisecond, controllersmetrics.NewControllerManagerMetrics("test"))

	want := []string{"10.244.1.0/24 via 10.0.0.61", "10.244.2.0/24 via 10.0.0.62", "192.168.100.0/24 via 10.0.0.250"}
	eventually(t, 15*time.Second, "routes of both nodes", func() bool { return slices.Equal(routerRoutes(e, rid), want) })
	// The pair follows the route in CreateRoute.
	eventually(t, 5*time.Second, "pod CIDR allowed on r-a's port", func() bool {
		return slices.Equal(allowedPairs(e, "10.0.0.61"), []string{"10.244.1.0/24"})
	})
	eventually(t, 10*time.Second, "NetworkUnavailable=False on r-a", func() bool {
		for _, c := range cl.node(t, "r-a").Status.Conditions {
			if c.Type == v1.NodeNetworkUnavailable && c.Status == v1.ConditionFalse {
				return true
			}
		}
		return false
	})

	if err := cl.client.CoreV1().Nodes().Delete(e.ctx, "r-b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want = []string{"10.244.1.0/24 via 10.0.0.61", "192.168.100.0/24 via 10.0.0.250"}
	eventually(t, 15*time.Second, "route of deleted node removed", func() bool { return slices.Equal(routerRoutes(e, rid), want) })
	eventually(t, 5*time.Second, "address pair of deleted node removed", func() bool { return len(allowedPairs(e, "10.0.0.62")) == 0 })
}

// TestRoutesIdempotent checks both update modes (atomic extraroutes and
// read-modify-write of the full list) and the errors.
func TestRoutesIdempotent(t *testing.T) {
	for _, atomic := range []bool{true, false} {
		t.Run(map[bool]string{true: "atomic", false: "full-list"}[atomic], func(t *testing.T) {
			e, rid := routerEnv(t)
			e.addServer(t, privateServer("n1", "10.0.0.71"))
			p := e.provider(t, Options{})
			p.routes.atomic = atomic
			r := &cloudprovider.Route{TargetNode: "n1", DestinationCIDR: "10.244.7.0/24"} // no addresses: looked up in the cloud
			for range 2 {
				if err := p.routes.CreateRoute(e.ctx, "kumo", "hint", r); err != nil {
					t.Fatal(err)
				}
			}
			if got := routerRoutes(e, rid); !slices.Equal(got, []string{"10.244.7.0/24 via 10.0.0.71"}) {
				t.Errorf("routes after two creates = %v", got)
			}
			if got := allowedPairs(e, "10.0.0.71"); !slices.Equal(got, []string{"10.244.7.0/24"}) {
				t.Errorf("pairs after two creates = %v", got)
			}
			listed, err := p.routes.ListRoutes(e.ctx, "kumo")
			if err != nil || len(listed) != 1 || listed[0].TargetNode != types.NodeName("n1") || listed[0].Blackhole {
				t.Fatalf("ListRoutes = %+v, %v", listed, err)
			}
			for range 2 {
				if err := p.routes.DeleteRoute(e.ctx, "kumo", listed[0]); err != nil {
					t.Fatal(err)
				}
			}
			if got := routerRoutes(e, rid); len(got) != 0 {
				t.Errorf("routes after delete = %v", got)
			}
			if got := allowedPairs(e, "10.0.0.71"); len(got) != 0 {
				t.Errorf("pairs after delete = %v", got)
			}

			err = p.routes.CreateRoute(e.ctx, "kumo", "hint", &cloudprovider.Route{TargetNode: "n1", DestinationCIDR: "10.244.7.0/33"})
			if err == nil || !strings.Contains(err.Error(), "10.244.7.0/33") {
				t.Errorf("bad CIDR err = %v", err)
			}
			err = p.routes.CreateRoute(e.ctx, "kumo", "hint", &cloudprovider.Route{TargetNode: "n1", DestinationCIDR: "fd00:10::/64"})
			if err == nil || !strings.Contains(err.Error(), "IPv6 InternalIP") {
				t.Errorf("IPv6 route to an IPv4-only node err = %v", err)
			}
			if got := routerRoutes(e, rid); len(got) != 0 {
				t.Errorf("failed creates left routes %v", got)
			}
		})
	}
}

// TestRoutesDisabledWithoutRouterID: no [Route] router-id → no Routes.
func TestRoutesDisabledWithoutRouterID(t *testing.T) {
	e := newEnv(t, "")
	if _, ok := e.provider(t, Options{}).Routes(); ok {
		t.Error("Routes() supported without [Route] router-id")
	}
}
