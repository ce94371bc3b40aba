package openstacksim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/backups"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// backupQuery is the detailed list with the filters gophercloud's
// ListDetailOpts lacks (Cinder takes name/status/volume_id on both lists).
type backupQuery struct {
	Name     string `q:"name"`
	VolumeID string `q:"volume_id"`
	Limit    int    `q:"limit"`
	Marker   string `q:"marker"`
}

func (o backupQuery) ToBackupListDetailQuery() (string, error) {
	q, err := gophercloud.BuildQueryString(o)
	return q.String(), err
}

func withMicroversion(sc *gophercloud.ServiceClient, v string) *gophercloud.ServiceClient {
	c := *sc
	c.Microversion = v
	return &c
}

// errBody returns the body of an unexpected-response error.
func errBody(t *testing.T, err error) map[string]any {
	t.Helper()
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) {
		t.Fatalf("not an HTTP error: %v", err)
	}
	var m map[string]any
	if jerr := json.Unmarshal(ue.Body, &m); jerr != nil {
		t.Fatalf("error body %q: %v", ue.Body, jerr)
	}
	return m
}

// availableVolume creates a volume and completes its creation.
// slowCinder makes every transition take a second of the fake clock.
func slowCinder(e *env) *env {
	e.sim.Controls().SetLatency(latency(map[string]time.Duration{"*": time.Second}))
	return e
}

func (e *env) availableVolume(t *testing.T, size int) *volumes.Volume {
	t.Helper()
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: size, Name: "src"}, nil).Extract()).must(t)
	e.clock.Advance(time.Second)
	return v
}

func (e *env) backupStatus(t *testing.T, id string) *backups.Backup {
	t.Helper()
	return ok(backups.Get(ctx(), e.block, id).Extract()).must(t)
}

func TestBackupOfSnapshotAndRestore(t *testing.T) {
	e := slowCinder(newEnv(t, Options{}))
	bs := withMicroversion(e.block, "3.51")
	v := e.availableVolume(t, 2)
	sn := ok(snapshots.Create(ctx(), e.block, snapshots.CreateOpts{VolumeID: v.ID, Name: "s"}).Extract()).must(t)
	e.clock.Advance(time.Second)
	created := e.clock.Now()
	b := ok(backups.Create(ctx(), bs, backups.CreateOpts{VolumeID: v.ID, SnapshotID: sn.ID, Name: "b1",
		AvailabilityZone: "nova", Metadata: map[string]string{"k": "v"}}).Extract()).must(t)
	if b.ID == "" || b.Name != "b1" || b.Status != "" {
		t.Fatalf("create answer %+v, want the summary view", b)
	}
	got := ok(backups.Get(ctx(), bs, b.ID).Extract()).must(t)
	// The no-Z timestamps decode (gophercloud fails hard otherwise).
	if got.Status != "creating" || !got.CreatedAt.Equal(created) || got.SnapshotID != sn.ID || got.Size != 2 ||
		got.AvailabilityZone == nil || *got.AvailabilityZone != "nova" || got.Metadata == nil || (*got.Metadata)["k"] != "v" {
		t.Fatalf("backup %+v", got)
	}
	if s := ok(snapshots.Get(ctx(), e.block, sn.ID).Extract()).must(t); s.Status != "backing-up" {
		t.Errorf("snapshot status %q while backed up", s.Status)
	}
	// Busy sources: the snapshot and the volume cannot go.
	wantCode(t, snapshots.Delete(ctx(), e.block, sn.ID).ExtractErr(), 400)
	wantCode(t, volumes.Delete(ctx(), e.block, v.ID, &volumes.DeleteOpts{Cascade: true}).ExtractErr(), 400)
	wantCode(t, backups.Delete(ctx(), e.block, b.ID).ExtractErr(), 400)
	e.clock.Advance(time.Second)
	if got := e.backupStatus(t, b.ID); got.Status != "available" || got.DataTimestamp.IsZero() {
		t.Fatalf("backup %+v after the transition", got)
	}

	// The backup outlives its snapshot and volume.
	noErr(t, snapshots.Delete(ctx(), e.block, sn.ID).ExtractErr())
	e.clock.Advance(time.Second)
	noErr(t, volumes.Delete(ctx(), e.block, v.ID, nil).ExtractErr())
	e.clock.Advance(time.Second)

	// Before 3.47 Cinder ignores backup_id: a blank volume.
	blank := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 2, BackupID: b.ID}, nil).Extract()).must(t)
	if blank.BackupID != nil {
		t.Errorf("backup_id honoured before 3.47: %v", *blank.BackupID)
	}
	rs := withMicroversion(e.block, "3.47")
	wantCode(t, volumes.Create(ctx(), rs, volumes.CreateOpts{Size: 1, BackupID: b.ID}, nil).Err, 400)
	r := ok(volumes.Create(ctx(), rs, volumes.CreateOpts{BackupID: b.ID, Name: "restored"}, nil).Extract()).must(t)
	if r.Status != "creating" || r.Size != 2 || r.BackupID == nil || *r.BackupID != b.ID {
		t.Fatalf("restore answer %+v", r)
	}
	if got := ok(volumes.Get(ctx(), e.block, r.ID).Extract()).must(t); got.Status != "restoring-backup" {
		t.Errorf("restoring volume status %q", got.Status)
	}
	if got := e.backupStatus(t, b.ID); got.Status != "restoring" {
		t.Errorf("backup status %q during a restore", got.Status)
	}
	wantCode(t, volumes.Create(ctx(), rs, volumes.CreateOpts{BackupID: b.ID}, nil).Err, 400) // not available
	e.clock.Advance(time.Second)
	if got := ok(volumes.Get(ctx(), e.block, r.ID).Extract()).must(t); got.Status != "available" {
		t.Errorf("restored volume status %q", got.Status)
	}
	if got := e.backupStatus(t, b.ID); got.Status != "available" {
		t.Errorf("backup status %q after the restore", got.Status)
	}

	noErr(t, backups.Delete(ctx(), e.block, b.ID).ExtractErr())
	if got := e.backupStatus(t, b.ID); got.Status != "deleting" {
		t.Errorf("status %q after delete", got.Status)
	}
	e.clock.Advance(time.Second)
	_, err := backups.Get(ctx(), e.block, b.ID).Extract()
	wantCode(t, err, 404)
	nf, _ := errBody(t, err)["itemNotFound"].(map[string]any)
	if nf["message"] != "Backup "+b.ID+" could not be found." || nf["code"] != float64(404) {
		t.Errorf("404 body %v", nf)
	}
	wantCode(t, volumes.Create(ctx(), rs, volumes.CreateOpts{BackupID: b.ID}, nil).Err, 404)
}

func TestBackupOfVolume(t *testing.T) {
	e := slowCinder(newEnv(t, Options{}))
	v := e.availableVolume(t, 1)
	n := e.addNode(t, "n", "10.0.0.50")
	ok(volumeattach.Create(ctx(), e.compute, n.ID, volumeattach.CreateOpts{VolumeID: v.ID}).Extract()).must(t)
	e.clock.Advance(time.Second)
	wantCode(t, backups.Create(ctx(), e.block, backups.CreateOpts{VolumeID: v.ID}).Err, 400) // in-use, no force
	b := ok(backups.Create(ctx(), e.block, backups.CreateOpts{VolumeID: v.ID, Force: true, Name: "forced",
		Metadata: map[string]string{"dropped": "before 3.43"}}).Extract()).must(t)
	if got := ok(volumes.Get(ctx(), e.block, v.ID).Extract()).must(t); got.Status != "backing-up" {
		t.Errorf("volume status %q while backed up", got.Status)
	}
	e.clock.Advance(time.Second)
	if got := ok(volumes.Get(ctx(), e.block, v.ID).Extract()).must(t); got.Status != "in-use" {
		t.Errorf("volume status %q after the backup, want in-use again", got.Status)
	}
	got := ok(backups.Get(ctx(), withMicroversion(e.block, "3.43"), b.ID).Extract()).must(t)
	if got.Status != "available" || got.SnapshotID != "" || got.AvailabilityZone == nil || *got.AvailabilityZone != "nova" ||
		got.Metadata == nil || len(*got.Metadata) != 0 {
		t.Errorf("backup %+v (az %v, metadata %v)", got, got.AvailabilityZone, got.Metadata)
	}
	_, err := backups.Create(ctx(), e.block, backups.CreateOpts{VolumeID: "nope"}).Extract()
	wantCode(t, err, 404)
	snapOther := ok(snapshots.Create(ctx(), e.block, snapshots.CreateOpts{VolumeID: v.ID, Force: true}).Extract()).must(t)
	other := e.availableVolume(t, 1)
	wantCode(t, backups.Create(ctx(), e.block, backups.CreateOpts{VolumeID: other.ID, SnapshotID: snapOther.ID}).Err, 400)
	wantCode(t, backups.Create(ctx(), withMicroversion(e.block, "3.51"), backups.CreateOpts{VolumeID: other.ID, AvailabilityZone: "mars"}).Err, 503)
}

func TestBackupListsAndPaging(t *testing.T) {
	e := slowCinder(newEnv(t, Options{}))
	v := e.availableVolume(t, 1)
	var ids []string
	for _, name := range []string{"a", "b", "c"} {
		b := ok(backups.Create(ctx(), e.block, backups.CreateOpts{VolumeID: v.ID, Name: name}).Extract()).must(t)
		ids = append(ids, b.ID)
		e.clock.Advance(time.Second) // also frees the volume for the next one
	}
	// GET /backups?name=x without a match is an empty 200 list.
	pages := ok(backups.List(e.block, backups.ListOpts{Name: "none"}).AllPages(ctx())).must(t)
	if list := ok(backups.ExtractBackups(pages)).must(t); len(list) != 0 {
		t.Errorf("list by unknown name: %v", list)
	}
	pages = ok(backups.List(e.block, backups.ListOpts{Name: "b"}).AllPages(ctx())).must(t)
	if list := ok(backups.ExtractBackups(pages)).must(t); len(list) != 1 || list[0].ID != ids[1] || list[0].Status != "" {
		t.Errorf("brief list by name: %+v", list)
	}
	// Detail, newest first, two per page.
	var got []string
	pageCount := 0
	err := backups.ListDetail(e.block, backupQuery{VolumeID: v.ID, Limit: 2}).EachPage(ctx(), func(_ context.Context, p pagination.Page) (bool, error) {
		pageCount++
		list, err := backups.ExtractBackups(p)
		for _, b := range list {
			got = append(got, b.ID)
			if b.Status != "available" || b.VolumeID != v.ID {
				t.Errorf("listed %+v", b)
			}
		}
		return true, err
	})
	noErr(t, err)
	if want := []string{ids[2], ids[1], ids[0]}; strings.Join(got, ",") != strings.Join(want, ",") || pageCount != 2 {
		t.Errorf("paged %v in %d pages, want %v in 2", got, pageCount, want)
	}
	_, err = backups.ListDetail(e.block, backupQuery{Marker: ids[0], Limit: 5}).AllPages(ctx())
	noErr(t, err)
	// An unknown marker is looked up like any backup: 404 naming it.
	_, err = backups.ListDetail(e.block, backupQuery{Marker: "d7f8b0a2-0000-4000-8000-000000000000"}).AllPages(ctx())
	wantCode(t, err, 404)
	if nf, _ := errBody(t, err)["itemNotFound"].(map[string]any); nf["message"] != "Backup d7f8b0a2-0000-4000-8000-000000000000 could not be found." {
		t.Errorf("unknown marker body %v", nf)
	}
}

func TestBackupFailuresAndNoService(t *testing.T) {
	e := slowCinder(newEnv(t, Options{}))
	v := e.availableVolume(t, 1)
	e.sim.SetBackupFailure("swift unreachable")
	b := ok(backups.Create(ctx(), e.block, backups.CreateOpts{VolumeID: v.ID}).Extract()).must(t)
	e.clock.Advance(time.Second)
	got := e.backupStatus(t, b.ID)
	if got.Status != "error" || got.FailReason != "swift unreachable" {
		t.Errorf("failed backup %+v", got)
	}
	if vol := ok(volumes.Get(ctx(), e.block, v.ID).Extract()).must(t); vol.Status != "available" {
		t.Errorf("volume %q after a failed backup", vol.Status)
	}
	noErr(t, backups.Delete(ctx(), e.block, b.ID).ExtractErr()) // error backups can be deleted

	e2 := slowCinder(newEnv(t, Options{NoBackupService: true}))
	v2 := e2.availableVolume(t, 1)
	_, err := backups.Create(ctx(), e2.block, backups.CreateOpts{VolumeID: v2.ID}).Extract()
	wantCode(t, err, 503)
	if su, _ := errBody(t, err)["serviceUnavailable"].(map[string]any); su["message"] != backupServiceNotFound {
		t.Errorf("503 body %v", su)
	}
	if n := len(e2.sim.Snapshot().Backups); n != 0 {
		t.Errorf("%d backups without a backup service", n)
	}
}

// TestCinderUnknownPath: Cinder's router answers webob's 404, not a fault.
func TestCinderUnknownPath(t *testing.T) {
	e := slowCinder(newEnv(t, Options{}))
	req, _ := http.NewRequest(http.MethodGet, e.block.Endpoint+"no-such-resource", nil)
	req.Header.Set("X-Auth-Token", e.provider.Token())
	resp, err := http.DefaultClient.Do(req)
	noErr(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	noErr(t, json.Unmarshal(body, &m))
	if resp.StatusCode != 404 || m["code"] != "404 Not Found" || !strings.HasPrefix(m["message"].(string), "The resource could not be found.") {
		t.Errorf("unknown path: %d %s", resp.StatusCode, body)
	}
}

// fileDisks keeps each ID's data in a file and copies it (DataCopier).
type fileDisks struct{ dir string }

func (f fileDisks) path(id string) string { return filepath.Join(f.dir, url.PathEscape(id)) }
func (f fileDisks) Attach(id string, _ int64, _ []string) (string, error) {
	return "/dev/null", nil
}
func (f fileDisks) Detach(string) error        { return nil }
func (f fileDisks) Resize(string, int64) error { return nil }
func (f fileDisks) Root() string               { return f.dir }
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

// TestBackupDataSurvivesItsSources: data written to a volume before its
// snapshot is backed up is in the volume restored from the backup, after
// the snapshot and the volume are gone.
func TestBackupDataSurvivesItsSources(t *testing.T) {
	disks := fileDisks{dir: t.TempDir()}
	e := slowCinder(newEnv(t, Options{LocalDisks: disks}))
	v := e.availableVolume(t, 1)
	noErr(t, os.WriteFile(disks.path(v.ID), []byte("written before the backup"), 0o600))
	sn := ok(snapshots.Create(ctx(), e.block, snapshots.CreateOpts{VolumeID: v.ID}).Extract()).must(t)
	e.clock.Advance(time.Second)
	b := ok(backups.Create(ctx(), e.block, backups.CreateOpts{VolumeID: v.ID, SnapshotID: sn.ID}).Extract()).must(t)
	noErr(t, os.WriteFile(disks.path(v.ID), []byte("written after"), 0o600))
	e.clock.Advance(time.Second)
	noErr(t, snapshots.Delete(ctx(), e.block, sn.ID).ExtractErr())
	e.clock.Advance(time.Second)
	noErr(t, volumes.Delete(ctx(), e.block, v.ID, nil).ExtractErr())
	e.clock.Advance(time.Second)
	r := ok(volumes.Create(ctx(), withMicroversion(e.block, "3.47"), volumes.CreateOpts{BackupID: b.ID}, nil).Extract()).must(t)
	e.clock.Advance(time.Second)
	data, err := os.ReadFile(disks.path(r.ID))
	if err != nil || string(data) != "written before the backup" {
		t.Fatalf("restored data %q (%v)", data, err)
	}
	noErr(t, backups.Delete(ctx(), e.block, b.ID).ExtractErr())
	e.clock.Advance(time.Second)
	e.sim.Snapshot()
	if _, err := os.Stat(disks.path(backupDataID(b.ID))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup data kept after its deletion: %v", err)
	}
}
