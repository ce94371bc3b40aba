package badinput

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/nifcloud"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// Test-only credentials the in-process simulators accept.
const (
	nifAccessKey = "BADINPUTACCESSKEY"
	nifSecretKey = "badinput-secret-key-0123456789"
	nifRegion    = "jp-east-1"
	nifZone      = "east-11"
	osZone       = "nova"
	clusterName  = "kumo-badinput"
)

// Short transitions and polls: a case that wrongly reaches the cloud
// still finishes quickly, and its calls are then visible.
var (
	transitions = map[string]time.Duration{"*": 5 * time.Millisecond}
	fastPoll    = backoff.Policy{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, Factor: 1.5}
)

// nifCloud is the NIFCLOUD simulator over real HTTP with a signed client.
type nifCloud struct {
	sim      *nifcloudsim.Sim
	controls *simcore.Controls
	api      *nifcloud.Client
	wire     *wireLog
}

// startNIFCLOUD starts the simulator with running instances ctrl00 and
// node00..node01 in one zone.
func startNIFCLOUD(t *testing.T) *nifCloud {
	t.Helper()
	controls := simcore.NewControls()
	controls.SetLatency(simcore.LatencyConfig{Transitions: transitions})
	sim, err := nifcloudsim.New(nifcloudsim.Options{Credentials: map[string]string{nifAccessKey: nifSecretKey},
		Region: nifRegion, Controls: controls})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"ctrl00", "node00", "node01"} {
		if err := sim.AddInstance(nifcloudsim.Instance{InstanceID: id, InstanceUniqueID: "i-" + id, InstanceType: "e-medium",
			Zone: nifZone, PrivateIP: fmt.Sprintf("10.1.0.%d", 10+i), SecurityGroup: "fwnode", State: "running"}); err != nil {
			t.Fatal(err)
		}
	}
	wire := &wireLog{}
	srv := httptest.NewServer(watchNIFCLOUD(sim.Handler(), wire))
	t.Cleanup(srv.Close)
	api, err := nifcloud.New(nifcloud.Config{Region: nifRegion, Endpoint: srv.URL + "/api/",
		AccessKeyID: nifAccessKey, SecretAccessKey: nifSecretKey, Timeout: 5 * time.Second, QPS: -1, MaxAttempts: 2,
		Retry: backoff.Policy{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 2}})
	if err != nil {
		t.Fatal(err)
	}
	controls.ResetCounts()
	return &nifCloud{sim: sim, controls: controls, api: api, wire: wire}
}

// mutations returns and resets the mutating calls since the last look.
func (c *nifCloud) mutations() []string { return mutations(c.controls, c.wire, isMutatingNIFCLOUD) }

// osCloud is the OpenStack simulator over real HTTP with authenticated
// production clients.
type osCloud struct {
	sim      *openstacksim.Sim
	controls *simcore.Controls
	cfg      *config.Config
	clients  *client.Clients
	wire     *wireLog
}

// startOpenStack starts the simulator with servers node00..node01 and a
// cloud.conf whose floating IPs come from the seeded external network.
func startOpenStack(t *testing.T, ctx context.Context) *osCloud {
	t.Helper()
	controls := simcore.NewControls()
	controls.SetLatency(simcore.LatencyConfig{Transitions: transitions})
	sim, err := openstacksim.New(openstacksim.Options{Controls: controls})
	if err != nil {
		t.Fatal(err)
	}
	wire := &wireLog{}
	srv := httptest.NewServer(watchOpenStack(sim.Handler(), wire))
	t.Cleanup(srv.Close)
	var extNet string
	for id, n := range sim.Snapshot().Networks {
		if n.External {
			extNet = id
		}
	}
	if extNet == "" {
		t.Fatal("the OpenStack simulator seeded no external network")
	}
	for i := range 2 {
		if _, err := sim.AddServer(openstacksim.Server{Name: fmt.Sprintf("node%02d", i), AZ: osZone,
			Addresses: map[string][]openstacksim.Address{"private": {{Addr: fmt.Sprintf("10.0.0.%d", 100+i)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf("[Global]\nauth-url = %s/identity/v3\nusername = admin\npassword = secret\n"+
		"user-domain-name = Default\nproject-name = demo\nproject-domain-name = Default\nregion = RegionOne\n"+
		"[LoadBalancer]\nfloating-network-id = %s\n", srv.URL, extNet)
	cfg, err := config.Parse("cloud.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	clients, err := client.New(ctx, cfg, client.Options{HTTPTimeout: 5 * time.Second, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	controls.ResetCounts()
	wire.take()
	return &osCloud{sim: sim, controls: controls, cfg: cfg, clients: clients, wire: wire}
}

func (c *osCloud) mutations() []string { return mutations(c.controls, c.wire, isMutatingOpenStack) }
