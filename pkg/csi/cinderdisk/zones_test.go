package cinderdisk

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/tests/csitest"
)

// TestOneCinderZoneBesideNovaZones, against the simulator over HTTP and
// the driver's gRPC API: Cinder has the single zone "nova", the servers
// are in Nova zones zone-a and zone-b (a common layout). With
// ignore-volume-az the StorageClass's availability=nova provisions a
// WaitForFirstConsumer claim, the volume is accessible from the Pod's
// zones and attaches to a server of either. Without availability the Nova
// zone reaches Cinder, which refuses it; the error says where the zone
// came from and lists Cinder's zones (ResourceExhausted, so that the
// provisioner reschedules the claim). Without ignore-volume-az
// availability=nova is refused before Cinder is asked, with the hint.
func TestOneCinderZoneBesideNovaZones(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	e.sim.SetCinderZones("nova")
	var servers []string
	for i, az := range []string{"zone-a", "zone-b"} {
		sv, err := e.sim.AddServer(openstacksim.Server{Name: "worker-" + az, AZ: az,
			Addresses: map[string][]openstacksim.Address{"private": {{Addr: []string{"10.0.0.31", "10.0.0.32"}[i]}}}})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, sv.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key := profile.Cinder{}.TopologyKey()
	seg := func(z string) *csi.Topology { return &csi.Topology{Segments: map[string]string{key: z}} }
	// WaitForFirstConsumer, Pod scheduled to zone-b.
	wffc := &csi.TopologyRequirement{Requisite: []*csi.Topology{seg("zone-a"), seg("zone-b")}, Preferred: []*csi.Topology{seg("zone-b"), seg("zone-a")}}
	caps := []*csi.VolumeCapability{csitest.MountCapability()}

	serve := func(opts driver.Options) csi.ControllerClient {
		opts.Profile, opts.Disks = profile.Cinder{}, e.b
		conn, stop, err := csitest.ServeController(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		return csi.NewControllerClient(conn)
	}
	ignoring := serve(driver.Options{IgnoreDiskZone: true})
	resp, err := ignoring.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: caps,
		Parameters: map[string]string{"availability": "nova"}, AccessibilityRequirements: wffc})
	if err != nil {
		t.Fatal(err)
	}
	vol := resp.GetVolume()
	if az := e.sim.Snapshot().Volumes[vol.GetVolumeId()].AZ; az != "nova" {
		t.Errorf("volume is in Cinder zone %q, want nova", az)
	}
	var zones []string
	for _, top := range vol.GetAccessibleTopology() {
		zones = append(zones, top.GetSegments()[key])
	}
	if !slices.Equal(zones, []string{"zone-b", "zone-a"}) {
		t.Errorf("accessible topology %v, want the preferred Nova zones [zone-b zone-a]", zones)
	}
	for _, server := range servers {
		if _, err := ignoring.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: vol.GetVolumeId(), NodeId: server, VolumeCapability: caps[0]}); err != nil {
			t.Fatalf("attach to %s: %v", server, err)
		}
		if _, err := ignoring.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: vol.GetVolumeId(), NodeId: server}); err != nil {
			t.Fatalf("detach from %s: %v", server, err)
		}
	}

	// No availability: the Nova zone of the topology goes to Cinder.
	before := len(e.sim.Snapshot().Volumes)
	_, err = ignoring.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-2", VolumeCapabilities: caps, AccessibilityRequirements: wffc})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("create without availability: %v, want ResourceExhausted (the provisioner reschedules)", err)
	}
	for _, want := range []string{`no availability zone "zone-b"`, key + "=zone-b", "Cinder's availability zones are nova", `"availability"`, "ignore-volume-az"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}

	// A wrong availability parameter is InvalidArgument.
	_, err = ignoring.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-4", VolumeCapabilities: caps,
		Parameters: map[string]string{"availability": "nowhere"}, AccessibilityRequirements: wffc})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `the StorageClass parameter "availability"`) {
		t.Errorf("availability=nowhere: %v, want InvalidArgument naming the parameter", err)
	}

	// Zones matching by default: availability=nova fits no node.
	strict := serve(driver.Options{ZoneMismatchHint: "; set [BlockStorage] ignore-volume-az"})
	creates := e.calls("cinder.volume_create")
	_, err = strict.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-3", VolumeCapabilities: caps,
		Parameters: map[string]string{"availability": "nova"}, AccessibilityRequirements: wffc})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "ignore-volume-az") {
		t.Errorf("availability outside the topology: %v, want InvalidArgument with the hint", err)
	}
	if n := e.calls("cinder.volume_create") - creates; n != 0 {
		t.Errorf("%d creates sent for a refused zone", n)
	}
	if n := len(e.sim.Snapshot().Volumes); n != before {
		t.Errorf("refused creates left %d volumes", n-before)
	}
}
