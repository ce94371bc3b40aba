package openstacksim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

// TestCloneAndRestoreStayInSourceAZ: like Cinder with snapshot_same_az and
// cloned_volume_same_az (both default True), a clone or restore without an
// availability zone lands in its source's zone (for a snapshot: the zone of
// the snapshot's volume), and one naming another zone is refused with
// 400 badRequest and Cinder's InvalidInput message.
func TestCloneAndRestoreStayInSourceAZ(t *testing.T) {
	e := newEnv(t, Options{})
	e.addNode(t, "node-a", "10.0.0.5") // makes "zone-a" a known zone
	src := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, Name: "src", AvailabilityZone: "zone-a"}, nil).Extract()).must(t)
	plain := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, Name: "plain"}, nil).Extract()).must(t)
	e.clock.Advance(time.Minute)
	sn := ok(snapshots.Create(ctx(), e.block, snapshots.CreateOpts{VolumeID: src.ID, Name: "snap"}).Extract()).must(t)
	e.clock.Advance(time.Minute)

	if plain.AvailabilityZone != defaultAZ {
		t.Errorf("volume without a source or zone is in %q, want %q", plain.AvailabilityZone, defaultAZ)
	}
	clone := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Name: "clone", SourceVolID: src.ID}, nil).Extract()).must(t)
	restored := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Name: "restored", SnapshotID: sn.ID}, nil).Extract()).must(t)
	same := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Name: "same", SnapshotID: sn.ID, AvailabilityZone: "zone-a"}, nil).Extract()).must(t)
	for _, v := range []*volumes.Volume{clone, restored, same} {
		if v.AvailabilityZone != "zone-a" {
			t.Errorf("volume %s is in %q, want the source's zone-a", v.Name, v.AvailabilityZone)
		}
		got := ok(volumes.Get(ctx(), e.block, v.ID).Extract()).must(t)
		if got.AvailabilityZone != "zone-a" {
			t.Errorf("GET volume %s: zone %q", v.Name, got.AvailabilityZone)
		}
	}

	before := len(e.sim.Snapshot().Volumes)
	for _, c := range []struct {
		opts volumes.CreateOpts
		msg  string
	}{
		{volumes.CreateOpts{Name: "x1", SourceVolID: src.ID, AvailabilityZone: "nova"},
			"Invalid input received: Volume must be in the same availability zone as the source volume"},
		{volumes.CreateOpts{Name: "x2", SnapshotID: sn.ID, AvailabilityZone: "nova"},
			"Invalid input received: Volume must be in the same availability zone as the snapshot"},
	} {
		_, err := volumes.Create(ctx(), e.block, c.opts, nil).Extract()
		wantCode(t, err, http.StatusBadRequest)
		var body struct {
			BadRequest struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"badRequest"`
		}
		var ue gophercloud.ErrUnexpectedResponseCode
		if !errors.As(err, &ue) || json.Unmarshal(ue.Body, &body) != nil || body.BadRequest.Code != 400 || body.BadRequest.Message != c.msg {
			t.Errorf("%s: body %s, want message %q", c.opts.Name, ue.Body, c.msg)
		}
	}
	// An unknown zone is refused as such first, as by Cinder.
	_, err := volumes.Create(ctx(), e.block, volumes.CreateOpts{Name: "x3", SourceVolID: src.ID, AvailabilityZone: "zone-z"}, nil).Extract()
	wantCode(t, err, http.StatusBadRequest)
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) || !json.Valid(ue.Body) || !strings.Contains(string(ue.Body), "Availability zone 'zone-z' is invalid") {
		t.Errorf("unknown zone: %s", ue.Body)
	}
	if n := len(e.sim.Snapshot().Volumes); n != before {
		t.Errorf("refused creates left %d volumes", n-before)
	}
}
