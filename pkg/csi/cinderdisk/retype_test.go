package cinderdisk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

func mutableParams(t *testing.T, kv map[string]string) backend.Parameters {
	t.Helper()
	p, err := profile.Cinder{}.ParseMutableParameters(kv)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) volumeType(t *testing.T, id string) (typ, status string) {
	t.Helper()
	v := e.sim.Snapshot().Volumes[id]
	if v == nil {
		t.Fatalf("volume %s is gone", id)
	}
	return v.VolumeType, v.Status
}

func TestModifyDiskRetypes(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	d := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "pvc-1", SizeBytes: 1 << 30})).must(t)
	e.controls.ResetCounts()

	// available: __DEFAULT__ → ssd, waiting until Cinder is done.
	noErr(t, e.b.ModifyDisk(ctx, d.ID, mutableParams(t, map[string]string{"type": "ssd"})))
	if typ, st := e.volumeType(t, d.ID); typ != "ssd" || st != "available" {
		t.Fatalf("after retype: type %s status %s, want ssd available", typ, st)
	}
	if n := e.calls("cinder.volume_retype"); n != 1 {
		t.Fatalf("%d retype calls, want 1", n)
	}

	// Idempotent: already ssd, by name or by the type's ID: no retype.
	ssdID := ""
	for _, vt := range e.sim.Snapshot().VolumeTypes {
		if vt.Name == "ssd" {
			ssdID = vt.ID
		}
	}
	noErr(t, e.b.ModifyDisk(ctx, d.ID, mutableParams(t, map[string]string{"type": "ssd"})))
	noErr(t, e.b.ModifyDisk(ctx, d.ID, mutableParams(t, map[string]string{"type": ssdID})))
	if n := e.calls("cinder.volume_retype"); n != 1 {
		t.Fatalf("%d retype calls after idempotent modifies, want 1", n)
	}
	// Only a migration policy: nothing to do.
	noErr(t, e.b.ModifyDisk(ctx, d.ID, mutableParams(t, map[string]string{"migrationPolicy": "never"})))

	// in-use: ssd (lvm-ssd) → standard (lvm-hdd) migrates with the
	// default policy on-demand and stays attached.
	ok(e.b.AttachDisk(ctx, d.ID, e.nodes[0])).must(t)
	noErr(t, e.b.ModifyDisk(ctx, d.ID, mutableParams(t, map[string]string{"type": "standard"})))
	if typ, st := e.volumeType(t, d.ID); typ != "standard" || st != "in-use" {
		t.Fatalf("after in-use retype: type %s status %s, want standard in-use", typ, st)
	}
	if att := e.sim.Snapshot().Volumes[d.ID].Attachments; len(att) != 1 || att[0].ServerID != e.nodes[0] {
		t.Fatalf("attachments after retype: %+v", att)
	}
	noErr(t, e.b.DetachDisk(ctx, d.ID, e.nodes[0]))
	noErr(t, e.b.DeleteDisk(ctx, d.ID))
	e.noLeaks(t)
}

func TestModifyDiskRefusals(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	d := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "pvc-1", SizeBytes: 1 << 30,
		Parameters: cinderParams(t, map[string]string{"type": "standard"})})).must(t)
	e.controls.ResetCounts()

	// Unknown type: refused before any retype, naming the parameter.
	err := e.b.ModifyDisk(ctx, d.ID, mutableParams(t, map[string]string{"type": "gold"}))
	wantErr(t, err, backend.ErrInvalidArgument)
	if !strings.Contains(err.Error(), `parameter "type"`) || !strings.Contains(err.Error(), "ssd") {
		t.Errorf("error %q should name the parameter and the known types", err)
	}
	if n := e.calls("cinder.volume_retype"); n != 0 {
		t.Fatalf("%d retype calls for an unknown type", n)
	}

	// standard → ssd needs a migration, which never forbids: Cinder
	// accepts, then leaves the type; the error says what to change.
	err = e.b.ModifyDisk(ctx, d.ID, mutableParams(t, map[string]string{"type": "ssd", "migrationPolicy": "never"}))
	wantErr(t, err, backend.ErrInvalidArgument)
	if !strings.Contains(err.Error(), "migrationPolicy") {
		t.Errorf("error %q should point at migrationPolicy", err)
	}
	if typ, st := e.volumeType(t, d.ID); typ != "standard" || st != "available" {
		t.Fatalf("after a failed retype: type %s status %s", typ, st)
	}

	// Missing volume.
	err = e.b.ModifyDisk(ctx, "0b8cd2a4-6f44-4e0f-9d1c-8b2f0c4d5e6f", mutableParams(t, map[string]string{"type": "ssd"}))
	wantErr(t, err, backend.ErrNotFound)
	// A malformed ID never reaches a URL.
	wantErr(t, e.b.ModifyDisk(ctx, "x/../y", mutableParams(t, map[string]string{"type": "ssd"})), backend.ErrInvalidArgument)

	// Cinder's 400 for a volume in the wrong state is FailedPrecondition.
	e.controls.SetLatency(openstacksimLatency(map[string]time.Duration{"*": transition, "volume.create": time.Minute}))
	v := ok(volumes.Create(ctx, e.b.block, volumes.CreateOpts{Size: 1}, nil).Extract()).must(t)
	err = volumes.ChangeType(ctx, e.b.block, v.ID, volumes.ChangeTypeOpts{NewType: "ssd"}).ExtractErr()
	wantErr(t, e.b.retypeError(err, v.ID, "ssd"), backend.ErrFailedPrecondition)
}

// A retype outlasting the caller's deadline (csi-resizer's timeout) is
// finished by the retried call without a second retype.
func TestModifyDiskWaitsAndResumes(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	d := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "pvc-1", SizeBytes: 1 << 30})).must(t)
	const retype = 400 * time.Millisecond
	e.controls.SetLatency(openstacksimLatency(map[string]time.Duration{"*": transition, "volume.retype": retype}))
	e.controls.ResetCounts()

	short, cancel := context.WithTimeout(ctx, retype/4)
	err := e.b.ModifyDisk(short, d.ID, mutableParams(t, map[string]string{"type": "ssd"}))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ModifyDisk past its deadline: %v, want DeadlineExceeded", err)
	}
	if typ, st := e.volumeType(t, d.ID); st != "retyping" || typ == "ssd" {
		t.Fatalf("during retype: type %s status %s", typ, st)
	}
	start := time.Now()
	noErr(t, e.b.ModifyDisk(ctx, d.ID, mutableParams(t, map[string]string{"type": "ssd"})))
	if typ, st := e.volumeType(t, d.ID); typ != "ssd" || st != "available" {
		t.Fatalf("after the retried call: type %s status %s", typ, st)
	}
	if n := e.calls("cinder.volume_retype"); n != 1 {
		t.Fatalf("%d retype calls, want 1", n)
	}
	t.Logf("retried ModifyDisk waited %s for the running retype", time.Since(start).Round(time.Millisecond))
}
