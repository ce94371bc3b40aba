package driver

import (
	"context"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// TestCloneAndRestoreKeepSourceZone: a clone or restore is created in its
// source's zone (for a snapshot: the zone of the snapshot's disk) even when
// the topology prefers another zone (Immediate binding), and reports that
// zone as its accessible topology; a zone parameter naming another zone or
// a requisite topology without the source's zone is InvalidArgument, and
// nothing is created.
func TestCloneAndRestoreKeepSourceZone(t *testing.T) {
	ctx := context.Background()
	key := (profile.Cinder{}).TopologyKey()
	seg := func(z string) *csi.Topology { return &csi.Topology{Segments: map[string]string{key: z}} }
	fromSnap := func(id string) *csi.VolumeContentSource {
		return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: id}}}
	}
	fromVol := func(id string) *csi.VolumeContentSource {
		return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: id}}}
	}
	cloud := newFakeCloud()
	c := newController(t, profile.Cinder{}, cloud)
	src, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "src", VolumeCapabilities: rwo(),
		AccessibilityRequirements: &csi.TopologyRequirement{Requisite: []*csi.Topology{seg("az-1")}}})
	mustNoErr(t, err)
	srcID := src.GetVolume().GetVolumeId()
	snap, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap", SourceVolumeId: srcID})
	mustNoErr(t, err)
	snapID := snap.GetSnapshot().GetSnapshotId()

	// Immediate binding: the requisite lists every zone, the preferred one
	// is not the source's.
	everywhere := &csi.TopologyRequirement{
		Requisite: []*csi.Topology{seg("az-2"), seg("az-1"), seg("az-3")},
		Preferred: []*csi.Topology{seg("az-2"), seg("az-1"), seg("az-3")},
	}
	for _, tc := range []struct {
		name   string
		source *csi.VolumeContentSource
		top    *csi.TopologyRequirement
		params map[string]string
	}{
		{"clone-preferred-elsewhere", fromVol(srcID), everywhere, nil},
		{"restore-preferred-elsewhere", fromSnap(snapID), everywhere, nil},
		{"clone-preferred-only", fromVol(srcID), &csi.TopologyRequirement{Preferred: []*csi.Topology{seg("az-2")}}, nil},
		{"restore-no-topology", fromSnap(snapID), nil, nil},
		{"clone-same-zone-parameter", fromVol(srcID), everywhere, map[string]string{"availability": "az-1"}},
	} {
		resp, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: tc.name, VolumeCapabilities: rwo(),
			VolumeContentSource: tc.source, AccessibilityRequirements: tc.top, Parameters: tc.params})
		mustNoErr(t, err)
		if z := cloud.created[len(cloud.created)-1].Zone; z != "az-1" {
			t.Errorf("%s: created in zone %q, want the source's az-1", tc.name, z)
		}
		at := resp.GetVolume().GetAccessibleTopology()
		if len(at) != 1 || len(at[0].GetSegments()) != 1 || at[0].GetSegments()[key] != "az-1" {
			t.Errorf("%s: accessible topology %v, want %s=az-1", tc.name, at, key)
		}
	}

	created := len(cloud.created)
	for _, tc := range []struct {
		name      string
		source    *csi.VolumeContentSource
		top       *csi.TopologyRequirement
		params    map[string]string
		fragments []string
	}{
		{"clone-other-zone-parameter", fromVol(srcID), nil, map[string]string{"availability": "az-2"},
			[]string{`"availability"`, `"az-2"`, `"az-1"`, "volume " + srcID}},
		{"restore-other-zone-parameter", fromSnap(snapID), everywhere, map[string]string{"availability": "az-2"},
			[]string{`"availability"`, `"az-2"`, `"az-1"`, "snapshot " + snapID}},
		{"clone-requisite-excludes-source", fromVol(srcID), &csi.TopologyRequirement{Requisite: []*csi.Topology{seg("az-2"), seg("az-3")}},
			nil, []string{"volume " + srcID, `"az-1"`, "requisite", "az-2", "az-3"}},
		{"restore-requisite-excludes-source", fromSnap(snapID),
			&csi.TopologyRequirement{Requisite: []*csi.Topology{seg("az-2")}, Preferred: []*csi.Topology{seg("az-2")}},
			nil, []string{"snapshot " + snapID, `"az-1"`, "requisite", "az-2"}},
	} {
		_, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: tc.name, VolumeCapabilities: rwo(),
			VolumeContentSource: tc.source, AccessibilityRequirements: tc.top, Parameters: tc.params})
		wantCode(t, err, codes.InvalidArgument, tc.fragments...)
	}
	if len(cloud.created) != created {
		t.Errorf("refused requests created %d disks", len(cloud.created)-created)
	}

	// The snapshot's disk is gone: its zone is unknown, so the topology
	// decides as for a fresh disk (and the cloud has the last word).
	_, err = c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: srcID})
	mustNoErr(t, err)
	resp, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "restore-orphan", VolumeCapabilities: rwo(),
		VolumeContentSource: fromSnap(snapID), AccessibilityRequirements: everywhere})
	mustNoErr(t, err)
	if z := resp.GetVolume().GetAccessibleTopology()[0].GetSegments()[key]; z != "az-2" {
		t.Errorf("restore of an orphaned snapshot in %q, want the preferred az-2", z)
	}
}
