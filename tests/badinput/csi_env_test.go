package badinput

import (
	"context"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"k8s.io/klog/v2/ktesting"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/cinderdisk"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/csi/nifclouddisk"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/tests/csitest"
)

// csiCloud is the real CSI controller of one cloud, served on a unix
// socket in front of its simulator.
type csiCloud struct {
	name        string
	ctrl        csi.ControllerClient
	topologyKey string
	zone        string
	// mutations returns and resets the mutating calls since the last look.
	mutations func() []string
	// disks counts the disks in the cloud.
	disks func() int
}

// startControllers serves both clouds' CSI controllers (controller mode
// only: no node plugin is involved in CreateVolume).
func startControllers(t *testing.T) []csiCloud {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	nif := startNIFCLOUD(t)
	nifDisks, err := nifclouddisk.New(nif.api, nifclouddisk.Options{PreferredInstances: []string{"ctrl00"},
		Poll: fastPoll, BatchInterval: 2 * time.Millisecond, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	osc := startOpenStack(t, ctx)
	cinder, err := cinderdisk.New(osc.clients, cinderdisk.Options{ClusterID: clusterName, Poll: fastPoll, WaitTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	out := []csiCloud{
		{name: "nifcloud", ctrl: serveController(t, ctx, "nif", profile.NIFCLOUD{}, nifDisks),
			topologyKey: profile.NIFCLOUD{}.TopologyKey(), zone: nifZone, mutations: nif.mutations,
			disks: func() int { return len(nif.sim.Snapshot().Volumes) }},
		{name: "openstack", ctrl: serveController(t, ctx, "os", profile.Cinder{}, cinder),
			topologyKey: profile.Cinder{}.TopologyKey(), zone: osZone, mutations: osc.mutations,
			disks: func() int { return len(osc.sim.Snapshot().Volumes) }},
	}
	// Starting may have listed things; only what the cases do counts.
	for _, c := range out {
		c.mutations()
	}
	return out
}

// validRequest is a CreateVolume request every cloud accepts.
func validRequest(name string) *csi.CreateVolumeRequest {
	return &csi.CreateVolumeRequest{Name: name, VolumeCapabilities: []*csi.VolumeCapability{csitest.MountCapability()},
		CapacityRange: &csi.CapacityRange{RequiredBytes: profile.GiB}}
}

// serveController serves the driver in controller mode until the test
// ends and returns a gRPC client of it.
func serveController(t *testing.T, ctx context.Context, name string, prof backend.Profile, disks backend.Disks) csi.ControllerClient {
	t.Helper()
	cc, stop, err := csitest.ServeController(ctx, driver.Options{Profile: prof, Disks: disks, Version: "badinput"})
	if err != nil {
		t.Fatalf("driver %s: %v", name, err)
	}
	t.Cleanup(stop)
	return csi.NewControllerClient(cc)
}
