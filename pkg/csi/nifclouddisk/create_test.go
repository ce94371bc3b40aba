package nifclouddisk

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

func createInput(description, volumeID string) *nifcloud.CreateVolumeInput {
	return &nifcloud.CreateVolumeInput{Size: 100, InstanceID: "ctrl", Description: description, VolumeID: volumeID}
}

func TestCreateDiskLifecycle(t *testing.T) {
	e := newEnv(t, 15*time.Millisecond, nil)
	req := request(t, "pvc-0123456789abcdef0123456789abcdef0123", 150, map[string]string{"type": "high-speed-flash-b", "AccountingType": "monthly"})
	disk, err := e.disks.CreateDisk(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if disk.ID != VolumeIDFor(req.Name) || disk.Name != req.Name || disk.SizeBytes != 200*profile.GiB ||
		disk.Zone != zone || disk.Status != backend.StatusAvailable || len(disk.AttachedNodes) != 0 {
		t.Fatalf("disk = %+v", disk)
	}
	v := e.volumes()[disk.ID]
	if v == nil || v.Description != req.Name || v.DiskType != "9" || v.AccountingType != "1" || v.Size != 200 || v.Attachment != nil {
		t.Fatalf("simulator volume = %+v", v)
	}
	// One create on the preferred host, one detach, polls in between.
	wantCounts(t, e.counts(), map[string]int64{"CreateVolume": 1, "DetachVolume": 1, "DescribeInstances": 1, "AttachVolume": 0})

	// Idempotent by name: no second disk.
	again, err := e.disks.CreateDisk(e.ctx, req)
	if err != nil || again.ID != disk.ID {
		t.Fatalf("repeated CreateDisk = %+v, %v", again, err)
	}
	wantCounts(t, e.counts(), map[string]int64{"CreateVolume": 0, "DescribeVolumes": 1})

	found, err := e.disks.FindDiskByName(e.ctx, req.Name)
	if err != nil || found.ID != disk.ID {
		t.Fatalf("FindDiskByName = %+v, %v", found, err)
	}
	_, err = e.disks.FindDiskByName(e.ctx, "pvc-missing")
	wantErr(t, err, backend.ErrNotFound)

	if err := e.disks.DeleteDisk(e.ctx, disk.ID); err != nil {
		t.Fatal(err)
	}
	if len(e.volumes()) != 0 {
		t.Fatalf("volumes left: %v", e.volumes())
	}
	wantErr(t, e.disks.DeleteDisk(e.ctx, disk.ID), backend.ErrNotFound)
	_, err = e.disks.GetDisk(e.ctx, disk.ID)
	wantErr(t, err, backend.ErrNotFound)
}

func TestCreateDiskLongNameAndZones(t *testing.T) {
	e := newEnv(t, 0, nil)
	long := "sanity-Node Service NodeStageVolume should work-" + strings.Repeat("x", 30)
	disk := e.create(long, 1)
	if got := e.volumes()[disk.ID].Description; got != Description(long) || len(got) != MaxDescription {
		t.Fatalf("description = %q", got)
	}
	if found, err := e.disks.FindDiskByName(e.ctx, long); err != nil || found.ID != disk.ID {
		t.Fatalf("FindDiskByName(long) = %+v, %v", found, err)
	}

	// An explicit zone picks a host there.
	far, err := e.disks.CreateDisk(e.ctx, backend.CreateRequest{Name: "far", SizeBytes: 100 * profile.GiB, Zone: otherZone})
	if err != nil || far.Zone != otherZone {
		t.Fatalf("CreateDisk in %s = %+v, %v", otherZone, far, err)
	}
	// A topology zone without instances cannot hold the disk
	// (ResourceExhausted: the provisioner reschedules); the error says
	// where the zone came from and which zones have instances, and not
	// "quota exceeded". A zone parameter naming it is InvalidArgument.
	_, err = e.disks.CreateDisk(e.ctx, backend.CreateRequest{Name: "nowhere", SizeBytes: 100 * profile.GiB, Zone: "west-11"})
	wantErr(t, err, backend.ErrZoneExhausted)
	for _, want := range []string{`"west-11"`, "topology.additional-storage.csi.nifcloud.com/zone=west-11", "zones with instances: east-11, east-12"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "quota") {
		t.Errorf("error %q speaks of a quota", err)
	}
	params := backend.Parameters{Zone: "west-11", ZoneKey: "zone"}
	_, err = e.disks.CreateDisk(e.ctx, backend.CreateRequest{Name: "nowhere", SizeBytes: 100 * profile.GiB, Zone: "west-11", Parameters: params})
	wantErr(t, err, backend.ErrInvalidArgument)
	if !strings.Contains(err.Error(), `StorageClass parameter "zone"`) {
		t.Errorf("error %q does not name the parameter", err)
	}
	// NIFCLOUD has no snapshots.
	_, err = e.disks.CreateDisk(e.ctx, backend.CreateRequest{Name: "clone", SizeBytes: 100 * profile.GiB, SourceVolumeID: disk.ID})
	wantErr(t, err, backend.ErrInvalidArgument)
	if len(e.volumes()) != 2 {
		t.Fatalf("volumes = %d, want 2", len(e.volumes()))
	}
}

// TestCreateDiskHostFallback: the instance list is cached; when the cached
// preferred host became unusable, CreateDisk pauses it and uses the next
// instance of the zone; a vanished host also drops the cache.
func TestCreateDiskHostFallback(t *testing.T) {
	e := newEnv(t, 0, nil)
	e.create("first", 100)
	if err := e.sim.SetInstanceState("ctrl", "stopping"); err != nil {
		t.Fatal(err)
	}
	e.counts()
	e.create("second", 100)
	// The cached list still named ctrl: one failed create on it, then
	// another candidate of the same list, without listing again.
	wantCounts(t, e.counts(), map[string]int64{"CreateVolume": 2, "DescribeInstances": 0})
	// ctrl is paused for HostPause: the next create goes elsewhere at once
	// and still needs no listing (a full or stopping host keeps the cache).
	e.create("third", 100)
	wantCounts(t, e.counts(), map[string]int64{"CreateVolume": 1, "DescribeInstances": 0})
	for id, v := range e.volumes() {
		if v.Attachment != nil || v.Status != "available" {
			t.Errorf("volume %s left as %s attached %+v", id, v.Status, v.Attachment)
		}
	}

	// A host that is gone is paused too and the stale list is dropped.
	if err := e.sim.DeleteInstance("node1"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.DeleteInstance("node2"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetInstanceState("ctrl", "running"); err != nil {
		t.Fatal(err)
	}
	e.create("fourth", 100)
	// node1 or node2 first (ctrl is paused), not found; then the other
	// one, not found; then ctrl, now running.
	wantCounts(t, e.counts(), map[string]int64{"CreateVolume": 3, "DescribeInstances": 0})
	e.create("fifth", 100)
	wantCounts(t, e.counts(), map[string]int64{"CreateVolume": 1, "DescribeInstances": 1})
}

// TestCreateDiskCleanup: a failure after CreateVolume leaves nothing behind,
// neither attached to the host nor in the account.
func TestCreateDiskCleanup(t *testing.T) {
	t.Run("detach fails", func(t *testing.T) {
		e := newEnv(t, 5*time.Millisecond, nil)
		e.inject.add("DetachVolume", http.StatusBadRequest, "Client.Inoperable.Volume.Injected", 1)
		_, err := e.disks.CreateDisk(e.ctx, request(t, "pvc-detach-fails", 100, nil))
		wantErr(t, err, backend.ErrFailedPrecondition)
		if n := len(e.volumes()); n != 0 {
			t.Fatalf("%d volumes leaked: %v", n, e.volumes())
		}
		// The injected failure never reaches the simulator: the one detach
		// it counts is the cleanup's, then the delete.
		wantCounts(t, e.counts(), map[string]int64{"CreateVolume": 1, "DetachVolume": 1, "DeleteVolume": 1})
	})
	t.Run("context ends while waiting", func(t *testing.T) {
		e := newEnv(t, 150*time.Millisecond, nil)
		ctx, cancel := context.WithTimeout(e.ctx, 50*time.Millisecond)
		defer cancel()
		_, err := e.disks.CreateDisk(ctx, request(t, "pvc-deadline", 100, nil))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline exceeded", err)
		}
		if n := len(e.volumes()); n != 0 {
			t.Fatalf("%d volumes leaked: %v", n, e.volumes())
		}
	})
	t.Run("wait times out", func(t *testing.T) {
		e := newEnv(t, 200*time.Millisecond, func(o *Options) { o.Timeout = 40 * time.Millisecond; o.CleanupTimeout = 5 * time.Second })
		_, err := e.disks.CreateDisk(e.ctx, request(t, "pvc-slow", 100, nil))
		wantErr(t, err, backend.ErrUnavailable)
		if n := len(e.volumes()); n != 0 {
			t.Fatalf("%d volumes leaked: %v", n, e.volumes())
		}
	})
	t.Run("foreign disk with the same ID is kept", func(t *testing.T) {
		e := newEnv(t, 0, nil)
		// A disk that took the ID but carries another description.
		_, err := e.api.CreateVolume(e.ctx, createInput("not-ours", VolumeIDFor("mine")))
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.disks.CreateDisk(e.ctx, request(t, "mine", 100, nil))
		wantErr(t, err, backend.ErrAlreadyExists)
		if v := e.volumes()[VolumeIDFor("mine")]; v == nil || v.Description != "not-ours" {
			t.Fatalf("foreign disk touched: %+v", v)
		}
	})
}

// TestCreateDiskGarbledLook: a look of the create's wait answered with a
// non-XML 200 (a proxy's error page) only delays the wait; the create
// neither fails nor removes its new disk.
func TestCreateDiskGarbledLook(t *testing.T) {
	e := newEnv(t, 5*time.Millisecond, nil)
	e.inject.addRaw(describeByID, "<html><body>502 upstream gone</body></html>", 2)
	disk, err := e.disks.CreateDisk(e.ctx, request(t, "pvc-garbled-look", 100, nil))
	if err != nil {
		t.Fatal(err)
	}
	if disk.Status != backend.StatusAvailable || len(e.volumes()) != 1 || e.volumes()[disk.ID] == nil {
		t.Fatalf("disk = %+v, volumes = %v", disk, e.volumes())
	}
	if c := e.counts(); c["CreateVolume"] != 1 || c["DeleteVolume"] != 0 {
		t.Fatalf("calls = %v, want one CreateVolume and no DeleteVolume", c)
	}
}

// TestCreateDiskResumes: when CreateVolume's answer is lost after the
// cloud made the disk, the client's retry hits the duplicate ID and
// CreateDisk finishes the existing disk instead of making a second one.
func TestCreateDiskResumes(t *testing.T) {
	e := newEnv(t, 0, nil)
	e.inject.addAfter("CreateVolume", http.StatusInternalServerError, "Server.InternalError", 1)
	disk, err := e.disks.CreateDisk(e.ctx, request(t, "pvc-lost-answer", 100, nil))
	if err != nil {
		t.Fatal(err)
	}
	if disk.Status != backend.StatusAvailable || len(e.volumes()) != 1 || e.volumes()[disk.ID] == nil {
		t.Fatalf("disk = %+v, volumes = %v", disk, e.volumes())
	}
	wantCounts(t, e.counts(), map[string]int64{"CreateVolume": 2, "DetachVolume": 1, "DeleteVolume": 0})
}

func TestListDisksPaging(t *testing.T) {
	e := newEnv(t, 0, nil)
	want := map[string]bool{}
	for _, n := range []string{"a", "b", "c"} {
		want[e.create(n, 100).ID] = true
	}
	page, next, err := e.disks.ListDisks(e.ctx, 2, "")
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("page 1 = %d disks, next %q, %v", len(page), next, err)
	}
	// Deleting the last listed disk does not break the token.
	if err := e.disks.DeleteDisk(e.ctx, page[1].ID); err != nil {
		t.Fatal(err)
	}
	rest, next2, err := e.disks.ListDisks(e.ctx, 2, next)
	if err != nil || len(rest) != 1 || next2 != "" {
		t.Fatalf("page 2 = %+v, next %q, %v", rest, next2, err)
	}
	seen := map[string]bool{page[0].ID: true, page[1].ID: true, rest[0].ID: true}
	if len(seen) != 3 {
		t.Fatalf("duplicates across pages: %v", seen)
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("disk %s not listed", id)
		}
	}
	_, _, err = e.disks.ListDisks(e.ctx, 0, "invalid-token")
	wantErr(t, err, backend.ErrInvalidArgument)
}

// TestCreateDiskZoneBusy: a zone whose only instance is starting has no
// host now but will have one: Unavailable (retried), not a wrong zone.
func TestCreateDiskZoneBusy(t *testing.T) {
	e := newEnv(t, 0, nil)
	if err := e.sim.AddInstance(nifcloudsim.Instance{InstanceID: "busy1", Zone: "east-13", State: "pending"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.disks.CreateDisk(e.ctx, backend.CreateRequest{Name: "busy", SizeBytes: 100 * profile.GiB, Zone: "east-13"})
	wantErr(t, err, backend.ErrUnavailable)
	if !strings.Contains(err.Error(), `none of the 1 instances in zone "east-13"`) {
		t.Errorf("error %q does not explain the busy zone", err)
	}
	if n := len(e.volumes()); n != 0 {
		t.Errorf("%d volumes created", n)
	}
}
