package openstacksim

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/availabilityzones"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

func cinderZoneNames(t *testing.T, e *env) []string {
	t.Helper()
	pages := ok(availabilityzones.List(e.block).AllPages(ctx())).must(t)
	zones := ok(availabilityzones.ExtractAvailabilityZones(pages)).must(t)
	var names []string
	for _, z := range zones {
		if !z.ZoneState.Available {
			t.Errorf("zone %s is not available", z.ZoneName)
		}
		names = append(names, z.ZoneName)
	}
	return names
}

// TestCinderZonesDefaultToNovaAndServerZones: without configured zones
// Cinder lists "nova" and each server's zone, and accepts creates there.
func TestCinderZonesDefaultToNovaAndServerZones(t *testing.T) {
	e := newEnv(t, Options{})
	e.addNode(t, "node-a", "10.0.0.5") // zone-a
	if got := cinderZoneNames(t, e); !slices.Equal(got, []string{"nova", "zone-a"}) {
		t.Fatalf("zones %v, want [nova zone-a]", got)
	}
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, Name: "a", AvailabilityZone: "zone-a"}, nil).Extract()).must(t)
	if v.AvailabilityZone != "zone-a" {
		t.Errorf("zone %q", v.AvailabilityZone)
	}
}

// TestCinderZonesConfigured: one Cinder zone "nova" beside Nova's zone-a,
// the layout ignore-volume-az is for. A create naming a Nova zone is
// refused as Cinder refuses it (400 InvalidInput, "Availability zone
// 'zone-a' is invalid."), one without a zone lands in the first
// configured zone, and nothing is created by the refusal.
func TestCinderZonesConfigured(t *testing.T) {
	e := newEnv(t, Options{})
	e.addNode(t, "node-a", "10.0.0.5")
	e.sim.SetCinderZones("nova", "ceph")
	if got := cinderZoneNames(t, e); !slices.Equal(got, []string{"nova", "ceph"}) {
		t.Fatalf("zones %v, want [nova ceph]", got)
	}
	_, err := volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, Name: "a", AvailabilityZone: "zone-a"}, nil).Extract()
	wantCode(t, err, http.StatusBadRequest)
	if !strings.Contains(err.Error(), "Availability zone 'zone-a' is invalid.") {
		t.Errorf("error %v does not carry Cinder's message", err)
	}
	if n := len(e.sim.Snapshot().Volumes); n != 0 {
		t.Errorf("%d volumes after a refused create", n)
	}
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, Name: "b"}, nil).Extract()).must(t)
	if v.AvailabilityZone != "nova" {
		t.Errorf("volume without a zone is in %q, want the first configured zone nova", v.AvailabilityZone)
	}
	c := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, Name: "c", AvailabilityZone: "ceph"}, nil).Extract()).must(t)
	if c.AvailabilityZone != "ceph" {
		t.Errorf("zone %q, want ceph", c.AvailabilityZone)
	}
	// The configuration is kept with the state (and so survives restarts
	// of a persisted simulator).
	if got := e.sim.Snapshot().CinderZones; !slices.Equal(got, []string{"nova", "ceph"}) {
		t.Errorf("state keeps zones %v", got)
	}
}
