package hostile

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	nifccm "github.com/kumo-project/kumo/pkg/ccm/nifcloud"
	"github.com/kumo-project/kumo/pkg/ccm/openstack/octavia"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/tests/ccmtest"
)

const clusterName = "kumo-hostile"

// lbCloud is one cloud's load-balancer implementation of the CCM in front
// of its hostile simulator, with a fake recorder for its Events.
type lbCloud struct {
	name     string
	lb       cloudprovider.LoadBalancer
	events   *record.FakeRecorder
	nodes    []*v1.Node
	controls *simcore.Controls
	wire     *wire
	secrets  func() []string
	creating []string // hostile Actions of the calls that create the load balancer
}

func nifLB(t *testing.T) lbCloud {
	env := startNIFCLOUD(t)
	p, err := nifccm.NewProvider(env.api, nifccm.ProviderConfig{Region: "jp-east-1", PollPolicy: fastPoll})
	if err != nil {
		t.Fatal(err)
	}
	events := record.NewFakeRecorder(1000)
	p.SetEventRecorder(events)
	return lbCloud{name: "nifcloud", lb: p, events: events, controls: env.controls, wire: env.wire, secrets: env.secrets,
		nodes:    []*v1.Node{ccmtest.ReadyNode("node00", "10.1.0.11"), ccmtest.ReadyNode("node01", "10.1.0.12")},
		creating: []string{"CreateLoadBalancer", "RegisterInstancesWithLoadBalancer", "RegisterPortWithLoadBalancer"}}
}

func osLB(t *testing.T) lbCloud {
	env := startOpenStack(t)
	events := record.NewFakeRecorder(1000)
	lb, err := octavia.New(octavia.Options{Clients: env.clients, Config: env.cfg.LoadBalancer, ClusterName: clusterName, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(env.clients.LoadBalancer.ResourceBase)
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimRight(u.Path, "/")
	return lbCloud{name: "openstack", lb: lb, events: events, controls: env.controls, wire: env.wire, secrets: env.secrets,
		nodes:    []*v1.Node{ccmtest.ReadyNode("node00", "10.0.0.100"), ccmtest.ReadyNode("node01", "10.0.0.101")},
		creating: []string{"POST " + base + "/lbaas/loadbalancers", "POST " + base + "/lbaas/listeners", "POST " + base + "/lbaas/pools"}}
}

// TestCCMLoadBalancerUnderEchoingCloud runs the CCM load-balancer path of
// both providers while the cloud echoes every request (headers and body)
// in an HTTP 400 error body: on every call, on the creating calls only,
// on the update of an existing load balancer and on its deletion. Each
// call must fail after reaching the echo, with an error naming the HTTP
// status or the cloud's code; neither that error, nor any Event recorded
// (the provider's own and the SyncLoadBalancerFailed Event the service
// controller makes of the error), nor klog at -v=10 may carry a
// credential.
func TestCCMLoadBalancerUnderEchoingCloud(t *testing.T) {
	for _, start := range []func(*testing.T) lbCloud{nifLB, osLB} {
		c := start(t)
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			echoAll := simcore.HostileConfig{Rates: map[string]float64{simcore.HostileEcho: 1}}
			echoCreate := simcore.HostileConfig{Rates: map[string]float64{simcore.HostileEcho: 1}, Actions: c.creating}
			existing := ccmtest.LBService("hostile", 0x4057e000, 0)
			ensure := func(nodes []*v1.Node) func(context.Context, *v1.Service) error {
				return func(ctx context.Context, svc *v1.Service) error {
					_, err := c.lb.EnsureLoadBalancer(ctx, clusterName, svc, nodes)
					return err
				}
			}
			t.Run("ensure/all", func(t *testing.T) {
				runLBCall(t, c, echoAll, ccmtest.LBService("hostile", 0x4057e000, 1), ensure(c.nodes))
			})
			t.Run("ensure/creating", func(t *testing.T) {
				runLBCall(t, c, echoCreate, ccmtest.LBService("hostile", 0x4057e000, 2), ensure(c.nodes))
			})
			// An existing load balancer, then its update and deletion.
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if _, err := c.lb.EnsureLoadBalancer(cctx, clusterName, existing, c.nodes); err != nil {
				t.Fatalf("EnsureLoadBalancer without hostile answers: %v", err)
			}
			t.Run("update/all", func(t *testing.T) { runLBCall(t, c, echoAll, existing, ensure(c.nodes[:1])) })
			t.Run("delete/all", func(t *testing.T) {
				runLBCall(t, c, echoAll, existing, func(ctx context.Context, svc *v1.Service) error {
					return c.lb.EnsureLoadBalancerDeleted(ctx, clusterName, svc)
				})
			})
			for i := range 3 {
				if err := c.lb.EnsureLoadBalancerDeleted(cctx, clusterName, ccmtest.LBService("hostile", 0x4057e000, i)); err != nil {
					t.Errorf("cleanup of %s: %v", ccmtest.LBService("hostile", 0x4057e000, i).Name, err)
				}
			}
		})
	}
}

func runLBCall(t *testing.T, c lbCloud, h simcore.HostileConfig, svc *v1.Service, call func(context.Context, *v1.Service) error) {
	logs := captureKlog(t)
	_ = joinEvents(c.events.Events)
	hits0, echo0 := hostileHits(c.controls, simcore.HostileEcho), c.wire.echoes()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.controls.SetHostile(h)
	start := time.Now()
	err := call(ctx, svc)
	took := time.Since(start)
	c.controls.SetHostile(simcore.HostileConfig{})
	hit := newHits(c.controls, simcore.HostileEcho, hits0)
	if err != nil {
		// What the service controller records on the Service (readable
		// by the namespace's users) for a failed sync.
		c.events.Eventf(svc, v1.EventTypeWarning, "SyncLoadBalancerFailed", "Error syncing load balancer: failed to ensure load balancer: %v", err)
	}
	events := joinEvents(c.events.Events)
	t.Logf("error: %v in %v (hostile answers: %v); %d events", err, took.Round(time.Millisecond), hit, len(events))
	if err == nil {
		t.Fatal("the call succeeded although the cloud echoed")
	}
	if len(hit) == 0 {
		t.Errorf("failed (%v) before reaching the echo", err)
	}
	if c.wire.echoes() == echo0 {
		t.Error("no answer echoed a credential: the scan proves nothing")
	}
	if !strings.Contains(err.Error(), "400") && !strings.Contains(err.Error(), "Hostile") {
		t.Errorf("error %q names neither the HTTP status nor the cloud's error code", err)
	}
	if len(c.wire.secrets()) == 0 {
		t.Error("no Signature or X-Auth-Token seen on the wire: the scan misses them")
	}
	secrets := c.secrets()
	assertNoSecret(t, "error", err.Error(), secrets...)
	for _, ev := range events {
		t.Logf("event: %.300s", ev)
		assertNoSecret(t, "event", ev, secrets...)
	}
	klog.Flush()
	assertNoSecret(t, "logs", logs.String(), secrets...)
}
