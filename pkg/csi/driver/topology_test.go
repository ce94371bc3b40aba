package driver

import (
	"context"
	"slices"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

func cinderSeg(z string) *csi.Topology {
	return &csi.Topology{Segments: map[string]string{(profile.Cinder{}).TopologyKey(): z}}
}

func zonesOf(top []*csi.Topology) []string {
	key := (profile.Cinder{}).TopologyKey()
	var out []string
	for _, t := range top {
		out = append(out, t.GetSegments()[key])
	}
	return out
}

// TestZoneParameterOutsideTopology: by default a zone parameter that no
// node's zone matches is refused before anything is created, naming the
// parameter, the zone, the topology and the configured hint.
func TestZoneParameterOutsideTopology(t *testing.T) {
	cloud := newFakeCloud()
	c := newTestDriver(t, Options{Mode: ModeController, Profile: profile.Cinder{}, Disks: cloud,
		ZoneMismatchHint: "; see ignore-volume-az"}).Controller()
	_, err := c.CreateVolume(context.Background(), &csi.CreateVolumeRequest{Name: "pv-1", VolumeCapabilities: rwo(),
		Parameters:                map[string]string{"availability": "nova"},
		AccessibilityRequirements: &csi.TopologyRequirement{Requisite: []*csi.Topology{cinderSeg("zone-a"), cinderSeg("zone-b")}}})
	wantCode(t, err, codes.InvalidArgument, `"availability"`, `"nova"`,
		"topology.cinder.csi.openstack.org/zone=zone-a, topology.cinder.csi.openstack.org/zone=zone-b", "no node could use", "see ignore-volume-az")
	if len(cloud.created) != 0 {
		t.Errorf("%d disks created by a refused request", len(cloud.created))
	}
}

// TestIgnoreDiskZone: storage zones that are not compute zones (one Cinder
// zone "nova" beside Nova zones zone-a/zone-b). The zone parameter is
// used as is, the volume is accessible from the requested topology
// (preferred, else requisite) rather than from "nova", a clone stays in
// its source's storage zone whatever the topology, and existing volumes
// report no topology (their zone is not a topology zone).
func TestIgnoreDiskZone(t *testing.T) {
	ctx := context.Background()
	cloud := newFakeCloud()
	c := newTestDriver(t, Options{Mode: ModeController, Profile: profile.Cinder{}, Disks: cloud, IgnoreDiskZone: true}).Controller()
	wffc := &csi.TopologyRequirement{
		Requisite: []*csi.Topology{cinderSeg("zone-a"), cinderSeg("zone-b")},
		Preferred: []*csi.Topology{cinderSeg("zone-b"), cinderSeg("zone-a")},
	}
	resp, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pv-1", VolumeCapabilities: rwo(),
		Parameters: map[string]string{"availability": "nova"}, AccessibilityRequirements: wffc})
	mustNoErr(t, err)
	srcID := resp.GetVolume().GetVolumeId()
	if z := cloud.created[0].Zone; z != "nova" {
		t.Errorf("created in %q, want the availability parameter nova", z)
	}
	if got := zonesOf(resp.GetVolume().GetAccessibleTopology()); !slices.Equal(got, []string{"zone-b", "zone-a"}) {
		t.Errorf("accessible topology %v, want the preferred [zone-b zone-a]", got)
	}

	// Requisite only; no zone parameter: the topology's zone is passed on
	// (as cinder-csi does), and the requisite is the accessible topology.
	resp, err = c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pv-2", VolumeCapabilities: rwo(),
		AccessibilityRequirements: &csi.TopologyRequirement{Requisite: []*csi.Topology{cinderSeg("zone-a")}}})
	mustNoErr(t, err)
	if z := cloud.created[1].Zone; z != "zone-a" {
		t.Errorf("created in %q, want zone-a from the topology", z)
	}
	if got := zonesOf(resp.GetVolume().GetAccessibleTopology()); !slices.Equal(got, []string{"zone-a"}) {
		t.Errorf("accessible topology %v, want the requisite [zone-a]", got)
	}

	// A clone of the "nova" volume into a topology without "nova".
	_, err = c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pv-3", VolumeCapabilities: rwo(),
		VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
			Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: srcID}}},
		AccessibilityRequirements: &csi.TopologyRequirement{Requisite: []*csi.Topology{cinderSeg("zone-a")}}})
	mustNoErr(t, err)
	if z := cloud.created[2].Zone; z != "nova" {
		t.Errorf("clone created in %q, want its source's nova", z)
	}

	got, err := c.ControllerGetVolume(ctx, &csi.ControllerGetVolumeRequest{VolumeId: srcID})
	mustNoErr(t, err)
	if at := got.GetVolume().GetAccessibleTopology(); at != nil {
		t.Errorf("ControllerGetVolume reports topology %v for a volume in a storage-only zone", at)
	}
}

// TestWithoutTopology (--with-topology=false): no topology capability, no
// node topology, no volume topology, and a requested topology does not
// choose the zone (the zone parameter does, else the cloud's default).
func TestWithoutTopology(t *testing.T) {
	ctx := context.Background()
	cloud := newFakeCloud()
	d := newTestDriver(t, Options{Mode: ModeAll, Profile: profile.Cinder{}, Disks: cloud, WithoutTopology: true,
		Finder: fakeFinder{}, Mounter: newFakeMounter(), Identity: backend.StaticIdentity{ID: "i-1", ZoneName: "zone-a"}})
	caps, err := d.Identity().GetPluginCapabilities(ctx, &csi.GetPluginCapabilitiesRequest{})
	mustNoErr(t, err)
	for _, c := range caps.GetCapabilities() {
		if c.GetService().GetType() == csi.PluginCapability_Service_VOLUME_ACCESSIBILITY_CONSTRAINTS {
			t.Errorf("VOLUME_ACCESSIBILITY_CONSTRAINTS advertised with topology off")
		}
	}
	info, err := d.Node().NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	mustNoErr(t, err)
	if info.GetAccessibleTopology() != nil || info.GetNodeId() != "i-1" {
		t.Errorf("NodeGetInfo = %v, want node i-1 without topology", info)
	}
	top := &csi.TopologyRequirement{Requisite: []*csi.Topology{cinderSeg("zone-a")}, Preferred: []*csi.Topology{cinderSeg("zone-a")}}
	resp, err := d.Controller().CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pv-1", VolumeCapabilities: rwo(), AccessibilityRequirements: top})
	mustNoErr(t, err)
	if z := cloud.created[0].Zone; z != "" {
		t.Errorf("created in %q, want the cloud's default zone", z)
	}
	if at := resp.GetVolume().GetAccessibleTopology(); at != nil {
		t.Errorf("accessible topology %v with topology off", at)
	}
	_, err = d.Controller().CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pv-2", VolumeCapabilities: rwo(),
		AccessibilityRequirements: top, Parameters: map[string]string{"availability": "nova"}})
	mustNoErr(t, err)
	if z := cloud.created[1].Zone; z != "nova" {
		t.Errorf("created in %q, want the parameter's nova", z)
	}
}
