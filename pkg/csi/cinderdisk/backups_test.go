package cinderdisk

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// fileDisks keeps each volume's (snapshot's, backup's) data in a file and
// copies it as the loop-device manager does, so restores carry real bytes
// without root.
type fileDisks struct{ dir string }

func (f fileDisks) path(id string) string                          { return filepath.Join(f.dir, url.PathEscape(id)) }
func (f fileDisks) Attach(string, int64, []string) (string, error) { return "/dev/null", nil }
func (f fileDisks) Detach(string) error                            { return nil }
func (f fileDisks) Resize(string, int64) error                     { return nil }
func (f fileDisks) Root() string                                   { return f.dir }
func (f fileDisks) Delete(id string) error {
	if err := os.Remove(f.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
func (f fileDisks) CopyData(from, to string) error {
	data, err := os.ReadFile(f.path(from))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return os.WriteFile(f.path(to), data, 0o600)
}

func backupParams(t *testing.T, kv map[string]string) backend.Parameters {
	t.Helper()
	all := map[string]string{"type": "backup"}
	for k, v := range kv {
		all[k] = v
	}
	return snapParams(t, all)
}

// noBackupLeaks fails when backups or snapshots are left.
func (e *env) noBackupLeaks(t *testing.T) {
	t.Helper()
	time.Sleep(2 * transition)
	st := e.sim.Snapshot()
	for id, b := range st.Backups {
		t.Errorf("leaked backup %s (%q, %s)", id, b.Name, b.Status)
	}
	for id, s := range st.Snapshots {
		t.Errorf("leaked snapshot %s (%q, %s)", id, s.Name, s.Status)
	}
}

func TestBackupSnapshotRestoreAndDelete(t *testing.T) {
	disks := fileDisks{dir: t.TempDir()}
	e := newEnv(t, openstacksim.Options{LocalDisks: disks})
	ctx := context.Background()
	src := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "src", SizeBytes: 1 << 30})).must(t)
	noErr(t, os.WriteFile(disks.path(src.ID), []byte("data before the backup"), 0o600))

	snap := ok(e.b.CreateSnapshot(ctx, "bk-1", src.ID, backupParams(t, map[string]string{"availability": "nova"}))).must(t)
	st := e.sim.Snapshot()
	bk := st.Backups[snap.ID]
	if bk == nil || !snap.ReadyToUse || snap.SourceVolumeID != src.ID || snap.SizeBytes != 1<<30 || snap.CreatedAt.IsZero() {
		t.Fatalf("snapshot %+v, backup %+v", snap, bk)
	}
	if bk.SnapshotID == "" || bk.AZ != "nova" || bk.Metadata[MetadataCluster] != "kumo-test" || bk.Name != "bk-1" {
		t.Errorf("backup %+v", bk)
	}
	if len(st.Snapshots) != 0 {
		t.Errorf("intermediate snapshot left: %v", st.Snapshots)
	}
	t.Logf("calls: snapshot_create=%d backup_create=%d backup_get=%d snapshot_delete=%d",
		e.calls("cinder.snapshot_create"), e.calls("cinder.backup_create"), e.calls("cinder.backup_get"), e.calls("cinder.snapshot_delete"))

	// Idempotent by name; another volume's name is taken.
	again := ok(e.b.CreateSnapshot(ctx, "bk-1", src.ID, backupParams(t, nil))).must(t)
	if again.ID != snap.ID || e.calls("cinder.backup_create") != 1 || e.calls("cinder.snapshot_create") != 1 {
		t.Errorf("second create made %s (%d backup, %d snapshot creates)", again.ID, e.calls("cinder.backup_create"), e.calls("cinder.snapshot_create"))
	}
	other := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "other", SizeBytes: 1})).must(t)
	_, err := e.b.CreateSnapshot(ctx, "bk-1", other.ID, backupParams(t, nil))
	wantErr(t, err, backend.ErrAlreadyExists)
	if got := ok(e.b.FindSnapshotByName(ctx, "bk-1")).must(t); got.ID != snap.ID || got.SourceVolumeID != src.ID {
		t.Errorf("FindSnapshotByName = %+v", got)
	}
	if got := ok(e.b.GetSnapshot(ctx, snap.ID)).must(t); got.ID != snap.ID || !got.ReadyToUse {
		t.Errorf("GetSnapshot = %+v", got)
	}

	// Lists hold snapshots, then backups; paging crosses over.
	plain := ok(e.b.CreateSnapshot(ctx, "plain", src.ID, snapParams(t, nil))).must(t)
	all, next, err := e.b.ListSnapshots(ctx, src.ID, 0, "")
	if err != nil || len(all) != 2 || next != "" {
		t.Fatalf("ListSnapshots = %v, %q, %v", all, next, err)
	}
	var paged []string
	token := ""
	for i := 0; i < 5; i++ {
		page, next, err := e.b.ListSnapshots(ctx, "", 1, token)
		noErr(t, err)
		for _, s := range page {
			paged = append(paged, s.ID)
		}
		if token = next; token == "" {
			break
		}
	}
	if strings.Join(paged, ",") != plain.ID+","+snap.ID {
		t.Errorf("paged %v, want [%s %s]", paged, plain.ID, snap.ID)
	}
	_, _, err = e.b.ListSnapshots(ctx, "", 1, backupTokenPrefix+"bogus")
	wantErr(t, err, backend.ErrInvalidArgument)
	noErr(t, e.b.DeleteSnapshot(ctx, plain.ID))

	// The backup keeps the data after its volume is gone.
	noErr(t, e.b.DeleteDisk(ctx, src.ID))
	restored := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "restored", SizeBytes: 1 << 30, SourceSnapshotID: snap.ID})).must(t)
	if restored.SourceSnapshotID != snap.ID || restored.Status != backend.StatusAvailable {
		t.Errorf("restored %+v", restored)
	}
	if data, err := os.ReadFile(disks.path(restored.ID)); err != nil || string(data) != "data before the backup" {
		t.Errorf("restored data %q (%v)", data, err)
	}
	if got := ok(e.b.FindDiskByName(ctx, "restored")).must(t); got.SourceSnapshotID != snap.ID {
		t.Errorf("found restored disk with source %q", got.SourceSnapshotID)
	}

	noErr(t, e.b.DeleteDisk(ctx, restored.ID))
	noErr(t, e.b.DeleteDisk(ctx, other.ID))
	noErr(t, e.b.DeleteSnapshot(ctx, snap.ID))
	wantErr(t, e.b.DeleteSnapshot(ctx, snap.ID), backend.ErrNotFound)
	_, err = e.b.GetSnapshot(ctx, snap.ID)
	wantErr(t, err, backend.ErrNotFound)
	e.noLeaks(t)
	e.noBackupLeaks(t)
}

func TestBackupParameterErrors(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	src := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "src", SizeBytes: 1})).must(t)
	for key, p := range map[string]backend.Parameters{
		"type":                               {Values: map[string]string{"type": "clone"}},
		"backup-max-duration-seconds-per-gb": {Values: map[string]string{"type": "backup", "backup-max-duration-seconds-per-gb": "0"}},
	} {
		_, err := e.b.CreateSnapshot(ctx, "bad", src.ID, p)
		wantErr(t, err, backend.ErrInvalidArgument)
		if !strings.Contains(err.Error(), `"`+key+`"`) {
			t.Errorf("error %q does not name %q", err, key)
		}
	}
	if n := e.calls("cinder.snapshot_create") + e.calls("cinder.backup_create"); n != 0 {
		t.Errorf("%d creates for invalid parameters", n)
	}
	noErr(t, e.b.DeleteDisk(ctx, src.ID))
	e.noBackupLeaks(t)
}

// TestBackupFailuresLeaveNothing: a backup ending in error, a 500 on the
// backup's create and a cloud without cinder-backup each fail the create
// and leave neither the backup nor the intermediate snapshot.
func TestBackupFailuresLeaveNothing(t *testing.T) {
	ctx := context.Background()
	cases := map[string]struct {
		opts    openstacksim.Options
		setup   func(e *env)
		wantErr error
	}{
		"backup in error": {setup: func(e *env) { e.sim.SetBackupFailure("object store unreachable") }},
		"500 on create": {setup: func(e *env) {
			e.controls.SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"cinder.backup_create"}})
		}},
		"no cinder-backup": {opts: openstacksim.Options{NoBackupService: true}, wantErr: backend.ErrFailedPrecondition},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, c.opts)
			src := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "src", SizeBytes: 1})).must(t)
			if c.setup != nil {
				c.setup(e)
			}
			_, err := e.b.CreateSnapshot(ctx, "doomed", src.ID, backupParams(t, nil))
			if err == nil {
				t.Fatal("create succeeded")
			}
			t.Logf("error: %v", err)
			if c.wantErr != nil {
				wantErr(t, err, c.wantErr)
			}
			e.controls.SetFaults(simcore.FaultConfig{})
			e.noBackupLeaks(t)
			noErr(t, e.b.DeleteDisk(ctx, src.ID)) // nothing holds the volume
		})
	}
}

// TestBackupTimeoutResumes: a backup slower than its bound is Unavailable
// and left to finish; it cannot be restored yet; the next call waits for it
// and removes the intermediate snapshot, without a second backup.
func TestBackupTimeoutResumes(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	src := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "src", SizeBytes: 1})).must(t)
	e.controls.SetLatency(openstacksimLatency(map[string]time.Duration{"*": transition, "backup.create": 3 * time.Second}))
	start := time.Now()
	_, err := e.b.CreateSnapshot(ctx, "slow", src.ID, backupParams(t, map[string]string{"backup-max-duration-seconds-per-gb": "1"}))
	wantErr(t, err, backend.ErrUnavailable)
	if d := time.Since(start); d < time.Second || d > 2500*time.Millisecond {
		t.Errorf("gave up after %s, want ~1s (1 GiB x 1 s/GiB)", d)
	}
	st := e.sim.Snapshot()
	if len(st.Backups) != 1 || len(st.Snapshots) != 1 {
		t.Fatalf("%d backups, %d snapshots while the backup is made", len(st.Backups), len(st.Snapshots))
	}
	var backupID string
	for id := range st.Backups {
		backupID = id
	}
	_, err = e.b.FindSnapshotByName(ctx, "slow")
	wantErr(t, err, backend.ErrNotFound) // still being made: CreateSnapshot resumes
	_, err = e.b.CreateDisk(ctx, backend.CreateRequest{Name: "early", SizeBytes: 1, SourceSnapshotID: backupID})
	wantErr(t, err, backend.ErrUnavailable)
	wantErr(t, e.b.DeleteDisk(ctx, src.ID), backend.ErrFailedPrecondition) // still read

	snap := ok(e.b.CreateSnapshot(ctx, "slow", src.ID, backupParams(t, nil))).must(t)
	if snap.ID != backupID || !snap.ReadyToUse || e.calls("cinder.backup_create") != 1 {
		t.Errorf("resumed %+v (%d backup creates), want %s", snap, e.calls("cinder.backup_create"), backupID)
	}
	if n := len(e.sim.Snapshot().Snapshots); n != 0 {
		t.Errorf("%d snapshots left after the resume", n)
	}
	noErr(t, e.b.DeleteDisk(ctx, src.ID))
	noErr(t, e.b.DeleteSnapshot(ctx, snap.ID))
	e.noLeaks(t)
	e.noBackupLeaks(t)
}
