package nifclouddisk

import (
	"strings"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// window is the creation window of these tests; attaches made after it
// are publishes.
const window = 20 * time.Millisecond

func withWindow(o *Options) { o.CreationWindow = window }

// A repeated CreateVolume (FindDiskByName + ResumeCreate, as the driver
// does) of a disk a node has published must not detach it.
func TestResumeKeepsPublishedDisk(t *testing.T) {
	e := newEnv(t, 5*time.Millisecond, withWindow)
	disk := e.create("pvc-published", 100)
	time.Sleep(2 * window)
	if _, err := e.disks.AttachDisk(e.ctx, disk.ID, "ctrl"); err != nil {
		t.Fatal(err)
	}
	e.counts()
	found, err := e.disks.FindDiskByName(e.ctx, "pvc-published")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.disks.ResumeCreate(e.ctx, found)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.AttachedNodes) != 1 || got.AttachedNodes[0] != "ctrl" {
		t.Fatalf("resumed disk = %+v, want it still attached to ctrl", got)
	}
	if again, err := e.disks.CreateDisk(e.ctx, request(t, "pvc-published", 100, nil)); err != nil || again.ID != disk.ID {
		t.Fatalf("CreateDisk again = %+v, %v", again, err)
	}
	wantCounts(t, e.counts(), map[string]int64{"DetachVolume": 0, "CreateVolume": 0, "DeleteVolume": 0})
	if a := e.volumes()[disk.ID].Attachment; a == nil || a.InstanceID != "ctrl" {
		t.Fatalf("attachment = %+v, want ctrl", a)
	}
}

// A half-created disk (CreateVolume sent by a controller that then died)
// is still finished: detached from its creation host only.
func TestResumeDetachesCreationHost(t *testing.T) {
	e := newEnv(t, 5*time.Millisecond, withWindow)
	id := VolumeIDFor("pvc-half")
	if _, err := e.api.CreateVolume(e.ctx, createInput("pvc-half", id)); err != nil {
		t.Fatal(err)
	}
	found, err := e.disks.FindDiskByName(e.ctx, "pvc-half")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.disks.ResumeCreate(e.ctx, found)
	if err != nil || got.Status != backend.StatusAvailable || len(got.AttachedNodes) != 0 {
		t.Fatalf("ResumeCreate = %+v, %v", got, err)
	}
}

// A disk kumo did not create is invisible to CreateVolume and DeleteVolume
// even when its Description is a volume name.
func TestForeignDiskIsNeverAdopted(t *testing.T) {
	e := newEnv(t, 5*time.Millisecond, withWindow)
	if _, err := e.api.CreateVolume(e.ctx, createInput("pvc-foreign", "foreign01")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.disks.waitSettled(e.ctx, "foreign01", nil); err != nil {
		t.Fatal(err)
	}
	_, err := e.disks.FindDiskByName(e.ctx, "pvc-foreign")
	wantErr(t, err, backend.ErrNotFound)
	disk := e.create("pvc-foreign", 100)
	if disk.ID != VolumeIDFor("pvc-foreign") {
		t.Fatalf("created %s, want a disk of its own", disk.ID)
	}
	wantErr(t, e.disks.DeleteDisk(e.ctx, "foreign01"), backend.ErrNotFound)
	if v := e.volumes()["foreign01"]; v == nil || v.Attachment == nil || v.Attachment.InstanceID != "ctrl" {
		t.Fatalf("foreign disk touched: %+v", v)
	}
	wantCounts(t, e.counts(), map[string]int64{"DeleteVolume": 0})
}

func TestInvalidVolumeIDs(t *testing.T) {
	e := newEnv(t, 0, nil)
	e.counts()
	for _, id := range []string{"", "vol 1", "vol/../x", strings.Repeat("a", 33), "ボリューム"} {
		_, err := e.disks.GetDisk(e.ctx, id)
		errs := map[string]error{"GetDisk": err}
		_, errs["AttachDisk"] = e.disks.AttachDisk(e.ctx, id, "node1")
		errs["DetachDisk"] = e.disks.DetachDisk(e.ctx, id, "node1")
		_, errs["ExpandDisk"] = e.disks.ExpandDisk(e.ctx, id, 200*profile.GiB)
		errs["DeleteDisk"] = e.disks.DeleteDisk(e.ctx, id)
		for op, err := range errs {
			wantErr(t, err, backend.ErrInvalidArgument)
			if !strings.Contains(err.Error(), "volume_id") {
				t.Errorf("%s(%q): %v does not name volume_id", op, id, err)
			}
		}
	}
	if c := e.counts(); len(c) != 0 {
		t.Fatalf("API calls for invalid IDs: %v", c)
	}
}
