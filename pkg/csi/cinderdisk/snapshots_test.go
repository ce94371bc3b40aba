package cinderdisk

import (
	"context"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

func snapParams(t *testing.T, kv map[string]string) backend.Parameters {
	t.Helper()
	p, err := profile.Cinder{}.ParseSnapshotParameters(kv)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSnapshotsAndClones(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	src := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "src", SizeBytes: 1 << 30})).must(t)

	params := snapParams(t, nil)
	params.Metadata = map[string]string{"csi.storage.k8s.io/volumesnapshot/name": "data-snap", "csi.storage.k8s.io/volumesnapshot/namespace": "default"}
	snap := ok(e.b.CreateSnapshot(ctx, "snap-1", src.ID, params)).must(t)
	if !snap.ReadyToUse || snap.SourceVolumeID != src.ID || snap.SizeBytes != 1<<30 || snap.CreatedAt.IsZero() {
		t.Fatalf("snapshot %+v", snap)
	}
	// The cluster ID and the sidecar's --extra-create-metadata are kept.
	md := e.sim.Snapshot().Snapshots[snap.ID].Metadata
	if md[MetadataCluster] != "kumo-test" || md["csi.storage.k8s.io/volumesnapshot/name"] != "data-snap" || md["csi.storage.k8s.io/volumesnapshot/namespace"] != "default" {
		t.Errorf("snapshot metadata %v lacks the cluster or the VolumeSnapshot's name", md)
	}
	if got := ok(e.b.FindSnapshotByName(ctx, "snap-1")).must(t); got.ID != snap.ID {
		t.Errorf("FindSnapshotByName = %s", got.ID)
	}
	_, err := e.b.FindSnapshotByName(ctx, "snap-none")
	wantErr(t, err, backend.ErrNotFound)
	list, next, err := e.b.ListSnapshots(ctx, src.ID, 0, "")
	if err != nil || len(list) != 1 || list[0].ID != snap.ID || next != "" {
		t.Fatalf("ListSnapshots(src) = %v, %q, %v", list, next, err)
	}
	if list, _, _ := e.b.ListSnapshots(ctx, "other-volume", 0, ""); len(list) != 0 {
		t.Errorf("ListSnapshots(other) = %v", list)
	}
	_, _, err = e.b.ListSnapshots(ctx, "", 1, "bogus")
	wantErr(t, err, backend.ErrInvalidArgument)

	restored := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "restored", SizeBytes: 2 << 30, SourceSnapshotID: snap.ID})).must(t)
	clone := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "clone", SizeBytes: 1 << 30, SourceVolumeID: src.ID})).must(t)
	if restored.SourceSnapshotID != snap.ID || restored.SizeBytes != 2<<30 || clone.SourceVolumeID != src.ID {
		t.Errorf("restored %+v, clone %+v", restored, clone)
	}
	_, err = e.b.CreateDisk(ctx, backend.CreateRequest{Name: "x", SizeBytes: 1, SourceSnapshotID: "missing"})
	wantErr(t, err, backend.ErrNotFound)
	_, err = e.b.CreateDisk(ctx, backend.CreateRequest{Name: "y", SizeBytes: 1, SourceVolumeID: "missing"})
	wantErr(t, err, backend.ErrNotFound)
	_, err = e.b.CreateSnapshot(ctx, "s", "missing", snapParams(t, nil))
	wantErr(t, err, backend.ErrNotFound)
	_, err = e.b.CreateSnapshot(ctx, "s", src.ID, backend.Parameters{Values: map[string]string{"type": "bogus"}})
	wantErr(t, err, backend.ErrInvalidArgument)

	// In-use volumes need force-create.
	ok(e.b.AttachDisk(ctx, src.ID, e.nodes[0])).must(t)
	_, err = e.b.CreateSnapshot(ctx, "busy", src.ID, snapParams(t, nil))
	wantErr(t, err, backend.ErrFailedPrecondition)
	forced := ok(e.b.CreateSnapshot(ctx, "forced", src.ID, snapParams(t, map[string]string{"force-create": "true"}))).must(t)
	noErr(t, e.b.DetachDisk(ctx, src.ID, e.nodes[0]))

	// A volume with snapshots cannot be deleted; once they are gone it can
	// (DeleteSnapshot waits for the deletion to finish).
	wantErr(t, e.b.DeleteDisk(ctx, src.ID), backend.ErrFailedPrecondition)
	for _, id := range []string{restored.ID, clone.ID} {
		noErr(t, e.b.DeleteDisk(ctx, id))
	}
	noErr(t, e.b.DeleteSnapshot(ctx, snap.ID))
	noErr(t, e.b.DeleteSnapshot(ctx, forced.ID))
	wantErr(t, e.b.DeleteSnapshot(ctx, snap.ID), backend.ErrNotFound)
	_, err = e.b.GetSnapshot(ctx, snap.ID)
	wantErr(t, err, backend.ErrNotFound)
	noErr(t, e.b.DeleteDisk(ctx, src.ID))
	e.noLeaks(t)
}

// TestRestoreFromUnreadySnapshot: a snapshot still being created is not a
// valid source (ErrUnavailable, retried by the CO), and nothing is created.
func TestRestoreFromUnreadySnapshot(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	src := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "src", SizeBytes: 1})).must(t)
	e.controls.SetLatency(openstacksimLatency(map[string]time.Duration{"*": transition, "snapshot.create": time.Hour}))
	s, err := snapshots.Create(ctx, e.clients.BlockStorage, snapshots.CreateOpts{VolumeID: src.ID, Name: "slow"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.b.CreateDisk(ctx, backend.CreateRequest{Name: "r", SizeBytes: 1, SourceSnapshotID: s.ID})
	wantErr(t, err, backend.ErrUnavailable)
	if n := len(e.sim.Snapshot().Volumes); n != 1 {
		t.Errorf("%d volumes, want only the source", n)
	}
}
