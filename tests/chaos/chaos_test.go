package chaos

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
	nifccm "github.com/kumo-project/kumo/pkg/ccm/nifcloud"
	osccm "github.com/kumo-project/kumo/pkg/ccm/openstack"
	"github.com/kumo-project/kumo/pkg/ccm/openstack/octavia"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/csi/cinderdisk"
	"github.com/kumo-project/kumo/pkg/csi/nifclouddisk"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
	"github.com/kumo-project/kumo/tests/ccmtest"
)

// envFull selects the full sizes.
const envFull = "KUMO_CHAOS_FULL"

// size is one run's workload per cloud.
type size struct {
	Mode     string
	LBs      int // Services of type LoadBalancer per cloud
	Volumes  int // CSI volumes per cloud
	Converge time.Duration
}

func runSize() size {
	if os.Getenv(envFull) == "1" {
		return size{Mode: "full", LBs: 50, Volumes: 100, Converge: 4 * time.Minute}
	}
	// The service controller retries a failed sync after 5s, 10s, 20s…
	// (fixed upstream), so the default run keeps the Service count small.
	return size{Mode: "default", LBs: 10, Volumes: 40, Converge: 100 * time.Second}
}

// chaosFaults is the 20%: 10% server errors, 5% throttling with
// Retry-After, 5% calls that hang past the clients' attempt timeout.
func chaosFaults(seed uint64) simcore.FaultConfig {
	return simcore.FaultConfig{ErrorRate: 0.10, ThrottleRate: 0.05, TimeoutRate: 0.05,
		RetryAfter: time.Second, Timeout: 2 * attemptTimeout, Seed: seed}
}

// Fault seeds, fixed so that runs are reproducible (up to scheduling).
const (
	nifcloudSeed  = 20240601
	openstackSeed = 20240602
)

// fastPoll replaces the production poll policies (seconds between polls
// of multi-second cloud transitions) to match the shortened transitions.
var fastPoll = backoff.Policy{Initial: 50 * time.Millisecond, Max: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.1}

// nodeCount nodes share the volumes: NIFCLOUD takes at most 14 disks per
// instance, so 100 volumes need at least 8.
const nodeCount = 10

// TestChaos creates and deletes load balancers and volumes on both clouds
// with 20% of all API calls failing, a few more answered by a hostile
// endpoint (truncated, error inside a 200, non-JSON/XML, request echoed)
// and a few mutating calls' answers lost after the call took effect, and
// requires that everything converges and that the simulators hold no
// leaked object at the end.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short mode")
	}
	sz := runSize()
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), klog.Background().WithValues("test", "chaos")))
	defer cancel()

	nif := startNIFCLOUD(t)
	nodeIDs := nif.addInstances(t, "node", 0, nodeCount)
	nif.addInstances(t, "ctrl", 1, 1)
	osc := startOpenStack(t, ctx)
	servers := osc.addServers(t, "node", nodeCount)
	nifRulesBefore := nifcloudRules(nif.sim.Snapshot())
	osBase := takeOSBaseline(osc.sim.Snapshot())

	nifProvider, err := nifccm.NewProvider(nif.api, nifccm.ProviderConfig{Region: nifRegion, PollPolicy: fastPoll,
		ELBWaitTimeout: time.Minute, SGWaitTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	osProvider, err := osccm.NewProvider(ctx, osc.cfg, osc.clients, osccm.Options{}, octaviaFactory)
	if err != nil {
		t.Fatal(err)
	}
	nifDisks, err := nifclouddisk.New(nif.api, nifclouddisk.Options{PreferredInstances: []string{"ctrl00"}, Poll: fastPoll})
	if err != nil {
		t.Fatal(err)
	}
	cinder, err := cinderdisk.New(osc.clients, cinderdisk.Options{ClusterID: clusterName, Poll: fastPoll})
	if err != nil {
		t.Fatal(err)
	}
	var nifNodes, osNodes []*v1.Node
	var osNodeIDs []string
	for i := range nodeCount {
		nifNodes = append(nifNodes, ccmtest.ReadyNode(nodeIDs[i], fmt.Sprintf("10.1.0.%d", 10+i)))
		osNodes = append(osNodes, ccmtest.ReadyNode(servers[i].Name, fmt.Sprintf("10.0.0.%d", 100+i)))
		osNodeIDs = append(osNodeIDs, servers[i].ID)
	}
	// Half of the NIFCLOUD Services get elastic load balancers, which also
	// open the nodes' security group.
	nifSvcs := lbServices("nifcloud", sz.LBs, func(i int) map[string]string {
		if i%2 == 1 {
			return map[string]string{nifccm.AnnotationLBType: nifccm.LBTypeElastic}
		}
		return nil
	})
	osSvcs := lbServices("openstack", sz.LBs, nil)

	nif.controls.ResetCounts()
	osc.controls.ResetCounts()
	nif.controls.SetFaults(chaosFaults(nifcloudSeed))
	osc.controls.SetFaults(chaosFaults(openstackSeed))
	nif.controls.SetHostile(chaosHostile())
	osc.controls.SetHostile(chaosHostile())
	osc.cinderHostile.SetHostile(chaosHostileCinder())
	nif.lost.set(lostRate)
	osc.lost.set(lostRate)
	start := time.Now()

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []string
		lbs     []*lbResult
		volumes []*volResult
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err.Error())
	}
	goLB := func(cloud string, p cloudprovider.Interface, nodes []*v1.Node, svcs []*v1.Service) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := runLoadBalancers(ctx, cloud, p, nodes, svcs, sz.Converge)
			if err != nil {
				fail(err)
			}
			if r != nil {
				mu.Lock()
				lbs = append(lbs, r)
				mu.Unlock()
			}
		}()
	}
	goVolumes := func(vc volumeCloud) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := runVolumes(ctx, vc, sz.Volumes)
			if err != nil {
				fail(fmt.Errorf("%s volumes: %w", vc.name, err))
			}
			if r != nil {
				mu.Lock()
				volumes = append(volumes, r)
				mu.Unlock()
			}
		}()
	}
	goLB("nifcloud", nifProvider, nifNodes, nifSvcs)
	goLB("openstack", osProvider, osNodes, osSvcs)
	goVolumes(volumeCloud{name: "nifcloud", disks: nifDisks, profile: profile.NIFCLOUD{}, nodes: nodeIDs,
		creates: nif.creates, wireName: nifclouddisk.Description, disksByName: func(names []string) map[string]int {
			byDesc := map[string]int{}
			for _, v := range nif.sim.Snapshot().Volumes {
				byDesc[v.Description]++
			}
			out := map[string]int{}
			for _, n := range names {
				out[n] = byDesc[nifclouddisk.Description(n)]
			}
			return out
		}})
	goVolumes(volumeCloud{name: "openstack", disks: cinder, profile: profile.Cinder{}, nodes: osNodeIDs,
		creates: osc.creates, wireName: func(s string) string { return s }, disksByName: func([]string) map[string]int {
			out := map[string]int{}
			for _, v := range osc.sim.Snapshot().Volumes {
				out[v.Name]++
			}
			return out
		}})
	wg.Wait()
	wall := time.Since(start)

	// The audit sees the clouds as an operator would after the storm.
	nif.controls.SetFaults(simcore.FaultConfig{})
	osc.controls.SetFaults(simcore.FaultConfig{})
	nif.controls.SetHostile(simcore.HostileConfig{})
	osc.controls.SetHostile(simcore.HostileConfig{})
	osc.cinderHostile.SetHostile(simcore.HostileConfig{})
	nifLost, osLost := nif.lost.counts(), osc.lost.counts()
	nif.lost.set(0)
	osc.lost.set(0)
	leaks := append(auditNIFCLOUD(nif.sim.Snapshot(), nifRulesBefore), auditOpenStack(osc.sim.Snapshot(), osBase)...)

	rep := report{Size: sz, Wall: wall, LBs: lbs, Volumes: volumes, Leaks: leaks, Errors: errs,
		Clouds: []cloudCalls{callsOf("nifcloud", nif.controls, nifLost), callsOf("openstack", osc.controls, osLost, osc.cinderHostile.FaultsInjected())}}
	text := rep.markdown()
	t.Log("\n" + text)
	if err := writeResults("RESULTS.md", sz.Mode, text); err != nil {
		t.Errorf("writing RESULTS.md: %v", err)
	}

	for _, e := range errs {
		t.Errorf("did not converge: %s", e)
	}
	for _, l := range leaks {
		t.Errorf("leak: %s", l)
	}
	for _, v := range volumes {
		if len(v.Duplicate) > 0 {
			t.Errorf("%s: %d volume names have two or more disks: %s", v.Cloud, len(v.Duplicate), strings.Join(first(v.Duplicate, 5), ", "))
		}
		if v.WireCreates < v.Created {
			t.Errorf("%s: the wire log saw %d disk creations for %d disks: the create log is not wired", v.Cloud, v.WireCreates, v.Created)
		}
		if v.Created != v.Volumes {
			t.Errorf("%s: %d of %d volumes have a disk after the create phase", v.Cloud, v.Created, v.Volumes)
		}
	}
	for _, c := range rep.Clouds {
		if c.Faults["error"]+c.Faults["throttle"]+c.Faults["timeout"] == 0 {
			t.Errorf("%s: no fault was injected (%d calls): the chaos run tested nothing", c.Cloud, c.Calls)
		}
		if c.hostile() == 0 {
			t.Errorf("%s: no hostile answer was injected (%d requests): the hostile modes are not wired", c.Cloud, c.Requests())
		}
		if c.Faults[lostKind] == 0 {
			t.Errorf("%s: no answer was lost after its call (%d requests): the lost-answer wrapper is not wired", c.Cloud, c.Requests())
		}
	}
	if len(lbs) != 2 || len(volumes) != 2 {
		t.Errorf("got %d load balancer and %d volume results, want 2 each", len(lbs), len(volumes))
	}
}

// octaviaFactory wires Octavia exactly as the provider's Register() does
// (pkg/ccm/openstack/lb_wiring.go).
func octaviaFactory(clients *client.Clients, cfg *config.Config, events record.EventRecorder, services octavia.ServicePatcher) (cloudprovider.LoadBalancer, error) {
	return octavia.New(octavia.Options{Clients: clients, Config: cfg.LoadBalancer, Classes: cfg.LoadBalancerClasses, Events: events, Services: services})
}
