package bench

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kumo-project/kumo/pkg/cloudmetrics"
	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/nifcloud"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// Simulator credentials: test-only values the in-process simulators accept.
const (
	nifAccessKey = "BENCHACCESSKEY01"
	nifSecretKey = "bench-secret-key-0123456789"
	nifRegion    = "jp-east-1"
	nifZone      = "east-11"
	osRegion     = "RegionOne"
	osZone       = "nova"
	// benchNetwork is a /16 so that a thousand servers get addresses.
	benchNetwork = "bench"
	benchCIDR    = "10.64.0.0/16"
)

// nodeIP is the address of the i-th bench server (i < 65000).
func nodeIP(i int) string { return fmt.Sprintf("10.64.%d.%d", i/250, i%250+2) }

// osCloud is an OpenStack simulator over real HTTP with production-style
// clients (retries on, metrics recorded).
type osCloud struct {
	sim      *openstacksim.Sim
	controls *simcore.Controls
	srv      *httptest.Server
	cfg      *config.Config
	clients  *client.Clients
	metrics  *prometheus.Registry
}

// startOpenStack starts the simulator with lat and authenticates; extra is
// appended to cloud.conf (e.g. a [LoadBalancer] section).
func startOpenStack(ctx context.Context, lat simcore.LatencyConfig, extra string) (*osCloud, error) {
	controls := simcore.NewControls()
	controls.SetLatency(lat)
	sim, err := openstacksim.New(openstacksim.Options{Controls: controls})
	if err != nil {
		return nil, err
	}
	if _, err := sim.AddNetwork(openstacksim.Network{Name: benchNetwork, Subnets: []openstacksim.Subnet{{
		Name: benchNetwork, CIDR: benchCIDR, IPVersion: 4, GatewayIP: "10.64.0.1"}}}); err != nil {
		return nil, fmt.Errorf("adding the bench network: %w", err)
	}
	srv := httptest.NewServer(sim.Handler())
	conf := fmt.Sprintf("[Global]\nauth-url = %s/identity/v3\nusername = admin\npassword = secret\n"+
		"user-domain-name = Default\nproject-name = demo\nproject-domain-name = Default\nregion = %s\n%s",
		srv.URL, osRegion, extra)
	cfg, err := config.Parse("cloud.conf", []byte(conf))
	if err != nil {
		srv.Close()
		return nil, err
	}
	reg, rec := newMetrics()
	clients, err := client.New(ctx, cfg, client.Options{Metrics: rec})
	if err != nil {
		srv.Close()
		return nil, err
	}
	controls.ResetCounts() // authentication is not part of any measurement
	return &osCloud{sim: sim, controls: controls, srv: srv, cfg: cfg, clients: clients, metrics: reg}, nil
}

func (c *osCloud) Close() { c.srv.Close() }

// addServers adds servers named <prefix>-NNNN with addresses nodeIP(from..).
func (c *osCloud) addServers(prefix string, from, n int) ([]openstacksim.Server, error) {
	out := make([]openstacksim.Server, 0, n)
	for i := from; i < from+n; i++ {
		sv, err := c.sim.AddServer(openstacksim.Server{Name: fmt.Sprintf("%s-%04d", prefix, i), AZ: osZone,
			Addresses: map[string][]openstacksim.Address{benchNetwork: {{Addr: nodeIP(i)}}}})
		if err != nil {
			return nil, err
		}
		out = append(out, sv)
	}
	return out, nil
}

// nifCloud is a NIFCLOUD simulator over real HTTP and a signed client with
// the production defaults (QPS 10, burst 20, retries) unless tuned.
type nifCloud struct {
	sim      *nifcloudsim.Sim
	controls *simcore.Controls
	srv      *httptest.Server
	api      *nifcloud.Client
	metrics  *prometheus.Registry
}

func startNIFCLOUD(lat simcore.LatencyConfig, tune func(*nifcloud.Config)) (*nifCloud, error) {
	controls := simcore.NewControls()
	controls.SetLatency(lat)
	sim, err := nifcloudsim.New(nifcloudsim.Options{Credentials: map[string]string{nifAccessKey: nifSecretKey},
		Region: nifRegion, Controls: controls})
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(sim.Handler())
	reg, rec := newMetrics()
	cfg := nifcloud.Config{Region: nifRegion, Endpoint: srv.URL + "/api/", AccessKeyID: nifAccessKey,
		SecretAccessKey: nifSecretKey, Metrics: rec}
	if tune != nil {
		tune(&cfg)
	}
	api, err := nifcloud.New(cfg)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &nifCloud{sim: sim, controls: controls, srv: srv, api: api, metrics: reg}, nil
}

func (c *nifCloud) Close() { c.srv.Close() }

// addInstances adds running instances named <prefix>NNNN in nifZone.
func (c *nifCloud) addInstances(prefix string, from, n int) ([]string, error) {
	out := make([]string, 0, n)
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("%s%04d", prefix, i)
		err := c.sim.AddInstance(nifcloudsim.Instance{InstanceID: id, InstanceUniqueID: fmt.Sprintf("i-%s%04d", prefix, i),
			InstanceType: "e-medium", Zone: nifZone, PrivateIP: nodeIP(i), State: "running"})
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// newMetrics builds a cloudmetrics recorder on a private registry, so the
// client-side view (throttles seen, retries) can be read back.
func newMetrics() (*prometheus.Registry, *cloudmetrics.Recorder) {
	reg := prometheus.NewRegistry()
	rec := cloudmetrics.New()
	_ = rec.Register(reg) // a fresh registry cannot hold duplicates
	return reg, rec
}

// metricSum sums a counter family of reg (0 when absent).
func metricSum(reg *prometheus.Registry, name string) int64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return int64(sum)
}

// Counts is a snapshot of per-action simulator counters.
type Counts map[string]int64

// Total is the number of calls.
func (c Counts) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// Writes are the calls that change cloud state.
func (c Counts) Writes() Counts {
	out := Counts{}
	for k, v := range c {
		if isWrite(k) {
			out[k] = v
		}
	}
	return out
}

// Lists are the collection reads (one call whatever the number of items).
func (c Counts) Lists() Counts {
	out := Counts{}
	for k, v := range c {
		if strings.HasSuffix(k, "_list") || strings.HasSuffix(k, "_list_detail") || k == "DescribeInstances" {
			out[k] = v
		}
	}
	return out
}

// isWrite classifies an action name of either simulator: OpenStack actions
// are "<service>.<resource>_<verb>", NIFCLOUD ones are API action names.
func isWrite(action string) bool {
	if svc, op, ok := strings.Cut(action, "."); ok {
		if svc == "keystone" || svc == "metadata" {
			return false
		}
		for _, s := range []string{"_create", "_update", "_delete", "_add", "_remove", "_extraroutes", "_action", "_attach", "_detach"} {
			if strings.HasSuffix(op, s) {
				return true
			}
		}
		return false
	}
	return !strings.HasPrefix(action, "Describe") && !strings.HasPrefix(action, "NiftyDescribe")
}

// since returns the counters gained since before.
func since(c *simcore.Controls, before Counts) Counts {
	out := Counts{}
	for k, v := range c.Counts() {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func snapshot(c *simcore.Controls) Counts { return Counts(c.Counts()) }

// ms rounds a duration to milliseconds for reports.
func ms(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Millisecond)
}
