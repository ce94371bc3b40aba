package badinput

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/klog/v2/ktesting"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/cinderdisk"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/csi/nifclouddisk"
	"github.com/kumo-project/kumo/pkg/csi/profile"
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

// serveController runs driver.Run in controller mode until the test ends
// and returns a gRPC client of it.
func serveController(t *testing.T, ctx context.Context, name string, prof backend.Profile, disks backend.Disks) csi.ControllerClient {
	t.Helper()
	sock := filepath.Join(t.TempDir(), name+".sock")
	d, err := driver.New(driver.Options{Mode: driver.ModeController, Endpoint: "unix://" + sock,
		Profile: prof, Disks: disks, Version: "badinput"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("driver %s: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("driver %s did not stop", name)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("driver %s did not create %s", name, sock)
		}
	}
	cc, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return csi.NewControllerClient(cc)
}

// mountCap is a valid single-node ext4 mount capability.
func mountCap() *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "ext4"}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
}

// validRequest is a CreateVolume request every cloud accepts.
func validRequest(name string) *csi.CreateVolumeRequest {
	return &csi.CreateVolumeRequest{Name: name, VolumeCapabilities: []*csi.VolumeCapability{mountCap()},
		CapacityRange: &csi.CapacityRange{RequiredBytes: profile.GiB}}
}
