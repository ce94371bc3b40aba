package cinderdisk

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/tests/csitest"
)

// TestCloneAndRestoreInSourceAZ, against the simulator over HTTP: Cinder
// (cloned_volume_same_az) puts a clone or restore without an availability
// zone into its source's zone and refuses another zone with 400, which the
// backend reports as ErrInvalidArgument. Through the driver's gRPC API, a
// clone or restore with Immediate binding (every zone requisite, another
// one preferred) lands in the source's zone and reports it as its
// accessible topology; a StorageClass zone naming another zone is refused
// before Cinder is asked.
func TestCloneAndRestoreInSourceAZ(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	if _, err := e.sim.AddServer(openstacksim.Server{Name: "node-b", AZ: "az-b",
		Addresses: map[string][]openstacksim.Address{"private": {{Addr: "10.0.0.21"}}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "src", SizeBytes: 1 << 30, Zone: "az-b"})).must(t)
	snap := ok(e.b.CreateSnapshot(ctx, "snap", src.ID, snapParams(t, nil))).must(t)

	// Backend: no zone → the source's; another zone → 400 → InvalidArgument.
	clone := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "clone", SizeBytes: 1 << 30, SourceVolumeID: src.ID})).must(t)
	restored := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "restored", SizeBytes: 1 << 30, SourceSnapshotID: snap.ID})).must(t)
	for _, d := range []*backend.Disk{clone, restored} {
		if d.Zone != "az-b" || e.sim.Snapshot().Volumes[d.ID].AZ != "az-b" {
			t.Errorf("%s is in %q (sim: %q), want the source's az-b", d.Name, d.Zone, e.sim.Snapshot().Volumes[d.ID].AZ)
		}
	}
	volumes := len(e.sim.Snapshot().Volumes)
	_, err := e.b.CreateDisk(ctx, backend.CreateRequest{Name: "x1", SizeBytes: 1 << 30, Zone: "nova", SourceVolumeID: src.ID})
	wantErr(t, err, backend.ErrInvalidArgument)
	if !strings.Contains(err.Error(), "Volume must be in the same availability zone as the source volume") {
		t.Errorf("clone into nova: %v", err)
	}
	_, err = e.b.CreateDisk(ctx, backend.CreateRequest{Name: "x2", SizeBytes: 1 << 30, Zone: "nova", SourceSnapshotID: snap.ID})
	wantErr(t, err, backend.ErrInvalidArgument)
	if !strings.Contains(err.Error(), "Volume must be in the same availability zone as the snapshot") {
		t.Errorf("restore into nova: %v", err)
	}
	if n := len(e.sim.Snapshot().Volumes); n != volumes {
		t.Errorf("refused creates left %d volumes", n-volumes)
	}

	// Driver: Immediate binding prefers nova, the source is in az-b.
	conn, stop, err := csitest.ServeController(ctx, driver.Options{Profile: profile.Cinder{}, Disks: e.b})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctrl := csi.NewControllerClient(conn)
	key := profile.Cinder{}.TopologyKey()
	seg := func(z string) *csi.Topology { return &csi.Topology{Segments: map[string]string{key: z}} }
	immediate := &csi.TopologyRequirement{Requisite: []*csi.Topology{seg("nova"), seg("az-b")}, Preferred: []*csi.Topology{seg("nova"), seg("az-b")}}
	sources := map[string]*csi.VolumeContentSource{
		"pvc-clone":   {Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: src.ID}}},
		"pvc-restore": {Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: snap.ID}}},
	}
	for name, source := range sources {
		resp, err := ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: name, VolumeCapabilities: []*csi.VolumeCapability{csitest.MountCapability()},
			VolumeContentSource: source, AccessibilityRequirements: immediate})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v := resp.GetVolume()
		if at := v.GetAccessibleTopology(); len(at) != 1 || at[0].GetSegments()[key] != "az-b" {
			t.Errorf("%s: accessible topology %v, want %s=az-b", name, at, key)
		}
		if az := e.sim.Snapshot().Volumes[v.GetVolumeId()].AZ; az != "az-b" {
			t.Errorf("%s: the simulator has it in %q, want az-b", name, az)
		}
		_, err = ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: name + "-nova", VolumeCapabilities: []*csi.VolumeCapability{csitest.MountCapability()},
			VolumeContentSource: source, AccessibilityRequirements: immediate, Parameters: map[string]string{"availability": "nova"}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `"az-b"`) {
			t.Errorf("%s with availability=nova: %v, want InvalidArgument naming az-b", name, err)
		}
	}
	// src, clone, restored and the two driver volumes; no create was sent
	// for the refused zone.
	if n := len(e.sim.Snapshot().Volumes); n != 5 {
		t.Errorf("the simulator holds %d volumes, want 5", n)
	}
}
