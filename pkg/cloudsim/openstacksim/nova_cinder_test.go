package openstacksim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

func TestServersAndFlavors(t *testing.T) {
	e := newEnv(t, Options{})
	n1 := e.addNode(t, "node-1", "10.0.0.11")
	e.addNode(t, "node-10", "10.0.0.12")
	if _, err := e.sim.AddServer(Server{Name: "edge", Status: "SHUTOFF", AccessIPv4: "198.51.100.7",
		Metadata:  map[string]string{"hostname": "edge.example"},
		Addresses: map[string][]Address{"private": {{Addr: "10.0.0.13"}, {Addr: "203.0.113.50", Type: "floating"}}}}); err != nil {
		t.Fatal(err)
	}
	pages := ok(servers.List(e.compute, servers.ListOpts{Name: "^" + regexp.QuoteMeta("node-1") + "$"}).AllPages(ctx())).must(t)
	list := ok(servers.ExtractServers(pages)).must(t)
	if len(list) != 1 || list[0].ID != n1.ID {
		t.Fatalf("regex name filter: %+v", list)
	}
	if all := ok(servers.ExtractServers(ok(servers.List(e.compute, servers.ListOpts{Name: "node"}).AllPages(ctx())).must(t))).must(t); len(all) != 2 {
		t.Fatalf("search-style regex matched %d servers", len(all))
	}
	// paging through servers_links
	var seen int
	err := servers.List(e.compute, servers.ListOpts{Limit: 1}).EachPage(ctx(), func(_ context.Context, p pagination.Page) (bool, error) {
		s, err := servers.ExtractServers(p)
		seen += len(s)
		return err == nil, err
	})
	if err != nil || seen != 3 {
		t.Fatalf("paging: %v, %d servers", err, seen)
	}
	s := ok(servers.Get(ctx(), e.compute, n1.ID).Extract()).must(t)
	if s.Status != "ACTIVE" || s.AvailabilityZone != "zone-a" || s.Flavor["id"] != "3" || s.Created.IsZero() {
		t.Fatalf("server: %+v", s)
	}
	if addrs := s.Addresses["private"].([]any); len(addrs) != 1 || addrs[0].(map[string]any)["OS-EXT-IPS:type"] != "fixed" {
		t.Fatalf("addresses %v", s.Addresses)
	}
	shut := ok(servers.ExtractServers(ok(servers.List(e.compute, servers.ListOpts{Status: "SHUTOFF"}).AllPages(ctx())).must(t))).must(t)
	if len(shut) != 1 || shut[0].AccessIPv4 != "198.51.100.7" || shut[0].Metadata["hostname"] != "edge.example" {
		t.Fatalf("status filter: %+v", shut)
	}
	if len(shut[0].Addresses["private"].([]any)) != 2 {
		t.Fatalf("floating address missing: %v", shut[0].Addresses)
	}
	_, err = servers.Get(ctx(), e.compute, "missing").Extract()
	wantCode(t, err, http.StatusNotFound)
	f := ok(flavors.Get(ctx(), e.compute, "3").Extract()).must(t)
	if f.Name != "m1.medium" {
		t.Fatalf("flavor %+v", f)
	}
	// microversion ≥ 2.47 embeds the flavor
	e.compute.Microversion = "2.47"
	if s := ok(servers.Get(ctx(), e.compute, n1.ID).Extract()).must(t); s.Flavor["original_name"] != "m1.medium" {
		t.Fatalf("2.47 flavor: %v", s.Flavor)
	}
}

func TestAttachDetachStateMachine(t *testing.T) {
	e := newEnv(t, Options{})
	e.sim.Controls().SetLatency(latency(map[string]time.Duration{"volume.attach": 10 * time.Second, "volume.detach": 5 * time.Second}))
	n := e.addNode(t, "node", "10.0.0.20")
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, Name: "pv"}, nil).Extract()).must(t)
	if v.Status != "creating" {
		t.Fatalf("new volume status %s", v.Status)
	}
	_, err := volumeattach.Create(ctx(), e.compute, n.ID, volumeattach.CreateOpts{VolumeID: "nope"}).Extract()
	wantCode(t, err, http.StatusNotFound)
	// transition delay "volume.create" is 0: available on the next read
	if v = ok(volumes.Get(ctx(), e.block, v.ID).Extract()).must(t); v.Status != "available" {
		t.Fatalf("status %s, want available", v.Status)
	}
	att := ok(volumeattach.Create(ctx(), e.compute, n.ID, volumeattach.CreateOpts{VolumeID: v.ID}).Extract()).must(t)
	if att.Device != "/dev/vdb" || att.ServerID != n.ID || att.VolumeID != v.ID {
		t.Fatalf("attachment %+v", att)
	}
	if v = ok(volumes.Get(ctx(), e.block, v.ID).Extract()).must(t); v.Status != "attaching" || len(v.Attachments) != 0 {
		t.Fatalf("during attach: %s %v", v.Status, v.Attachments)
	}
	_, err = volumeattach.Create(ctx(), e.compute, n.ID, volumeattach.CreateOpts{VolumeID: v.ID}).Extract()
	wantCode(t, err, http.StatusBadRequest)
	e.clock.Advance(11 * time.Second)
	v = ok(volumes.Get(ctx(), e.block, v.ID).Extract()).must(t)
	if v.Status != "in-use" || len(v.Attachments) != 1 || v.Attachments[0].ServerID != n.ID || v.Attachments[0].AttachedAt.IsZero() {
		t.Fatalf("after attach: %s %+v", v.Status, v.Attachments)
	}
	if s := ok(servers.Get(ctx(), e.compute, n.ID).Extract()).must(t); len(s.AttachedVolumes) != 1 || s.AttachedVolumes[0].ID != v.ID {
		t.Fatalf("volumes_attached %+v", s.AttachedVolumes)
	}
	list := ok(volumeattach.ExtractVolumeAttachments(ok(volumeattach.List(e.compute, n.ID).AllPages(ctx())).must(t))).must(t)
	if len(list) != 1 {
		t.Fatalf("attachment list %+v", list)
	}
	// delete while in-use → 400
	wantCode(t, volumes.Delete(ctx(), e.block, v.ID, nil).ExtractErr(), http.StatusBadRequest)
	if err := volumeattach.Delete(ctx(), e.compute, n.ID, v.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if v = ok(volumes.Get(ctx(), e.block, v.ID).Extract()).must(t); v.Status != "detaching" {
		t.Fatalf("status %s, want detaching", v.Status)
	}
	wantCode(t, volumeattach.Delete(ctx(), e.compute, n.ID, v.ID).ExtractErr(), http.StatusBadRequest)
	e.clock.Advance(5 * time.Second)
	if v = ok(volumes.Get(ctx(), e.block, v.ID).Extract()).must(t); v.Status != "available" || len(v.Attachments) != 0 {
		t.Fatalf("after detach: %s %v", v.Status, v.Attachments)
	}
	wantCode(t, volumeattach.Delete(ctx(), e.compute, n.ID, v.ID).ExtractErr(), http.StatusNotFound)
}

func latency(transitions map[string]time.Duration) simcore.LatencyConfig {
	return simcore.LatencyConfig{Transitions: transitions}
}

func TestVolumeListPagingExtendDelete(t *testing.T) {
	e := newEnv(t, Options{})
	for i := 0; i < 7; i++ {
		ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, Name: fmt.Sprintf("v%d", i),
			Metadata: map[string]string{"k": "v"}}, nil).Extract()).must(t)
		e.clock.Advance(time.Millisecond)
	}
	pages := 0
	var all []volumes.Volume
	err := volumes.List(e.block, volumes.ListOpts{Limit: 3}).EachPage(ctx(), func(_ context.Context, p pagination.Page) (bool, error) {
		pages++
		vs, err := volumes.ExtractVolumes(p)
		all = append(all, vs...)
		return true, err
	})
	if err != nil || pages != 3 || len(all) != 7 || all[0].Name != "v0" || all[6].Name != "v6" {
		t.Fatalf("paging: %v pages=%d n=%d", err, pages, len(all))
	}
	if all[0].CreatedAt.IsZero() || all[0].Metadata["k"] != "v" {
		t.Fatalf("volume fields %+v", all[0])
	}
	one := ok(volumes.ExtractVolumes(ok(volumes.List(e.block, volumes.ListOpts{Name: "v4"}).AllPages(ctx())).must(t))).must(t)
	if len(one) != 1 || one[0].Name != "v4" {
		t.Fatalf("name filter: %+v", one)
	}
	// Cinder looks a marker up like any volume: an unknown one is that
	// volume's 404 (VolumeNotFound), not a 400.
	_, err = volumes.List(e.block, volumes.ListOpts{Marker: "nope"}).AllPages(ctx())
	wantCode(t, err, http.StatusNotFound)
	if !strings.Contains(err.Error(), `"itemNotFound"`) || !strings.Contains(err.Error(), "Volume nope could not be found.") {
		t.Errorf("unknown marker: %v, want Cinder's itemNotFound for the volume", err)
	}

	v := one[0]
	wantCode(t, volumes.ExtendSize(ctx(), e.block, v.ID, volumes.ExtendSizeOpts{NewSize: 1}).ExtractErr(), http.StatusBadRequest)
	if err := volumes.ExtendSize(ctx(), e.block, v.ID, volumes.ExtendSizeOpts{NewSize: 3}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := ok(volumes.Get(ctx(), e.block, v.ID).Extract()).must(t); got.Size != 3 || got.Status != "available" {
		t.Fatalf("after extend: %d %s", got.Size, got.Status)
	}
	// in-use extend needs 3.42
	n := e.addNode(t, "node", "10.0.0.30")
	ok(volumeattach.Create(ctx(), e.compute, n.ID, volumeattach.CreateOpts{VolumeID: v.ID}).Extract()).must(t)
	wantCode(t, volumes.ExtendSize(ctx(), e.block, v.ID, volumes.ExtendSizeOpts{NewSize: 4}).ExtractErr(), http.StatusBadRequest)
	e.block.Microversion = "3.42"
	if err := volumes.ExtendSize(ctx(), e.block, v.ID, volumes.ExtendSizeOpts{NewSize: 4}).ExtractErr(); err != nil {
		t.Fatalf("in-use extend with 3.42: %v", err)
	}
	if got := ok(volumes.Get(ctx(), e.block, v.ID).Extract()).must(t); got.Size != 4 || got.Status != "in-use" {
		t.Fatalf("after online extend: %d %s", got.Size, got.Status)
	}
	e.block.Microversion = ""
	wantCode(t, volumes.Delete(ctx(), e.block, "missing", nil).ExtractErr(), http.StatusNotFound)
	// delete → deleting → gone
	e.sim.Controls().SetLatency(latency(map[string]time.Duration{"volume.delete": time.Minute}))
	if err := volumes.Delete(ctx(), e.block, all[0].ID, nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := ok(volumes.Get(ctx(), e.block, all[0].ID).Extract()).must(t); got.Status != "deleting" {
		t.Fatalf("status %s, want deleting", got.Status)
	}
	wantCode(t, volumes.Delete(ctx(), e.block, all[0].ID, nil).ExtractErr(), http.StatusBadRequest)
	e.clock.Advance(time.Minute)
	_, err = volumes.Get(ctx(), e.block, all[0].ID).Extract()
	wantCode(t, err, http.StatusNotFound)
}

func TestQuotaSnapshotsAndClone(t *testing.T) {
	e := newEnv(t, Options{VolumeQuotaGB: 10})
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 4, Name: "src"}, nil).Extract()).must(t)
	_, err := volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 7}, nil).Extract()
	wantCode(t, err, http.StatusRequestEntityTooLarge)
	var body struct {
		OverLimit struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"overLimit"`
	}
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) || json.Unmarshal(ue.Body, &body) != nil || body.OverLimit.Code != 413 {
		t.Fatalf("413 body: %s", ue.Body)
	}
	wantCode(t, volumes.ExtendSize(ctx(), e.block, v.ID, volumes.ExtendSizeOpts{NewSize: 11}).ExtractErr(), http.StatusRequestEntityTooLarge)

	e.sim.Controls().SetLatency(latency(map[string]time.Duration{"snapshot.create": 3 * time.Second}))
	sn := ok(snapshots.Create(ctx(), e.block, snapshots.CreateOpts{VolumeID: v.ID, Name: "snap"}).Extract()).must(t)
	if sn.Status != "creating" || sn.Size != 4 || sn.CreatedAt.IsZero() {
		t.Fatalf("snapshot %+v", sn)
	}
	// clone from a snapshot that is not available yet → 400
	_, err = volumes.Create(ctx(), e.block, volumes.CreateOpts{SnapshotID: sn.ID}, nil).Extract()
	wantCode(t, err, http.StatusBadRequest)
	e.clock.Advance(3 * time.Second)
	list := ok(snapshots.ExtractSnapshots(ok(snapshots.List(e.block, snapshots.ListOpts{VolumeID: v.ID}).AllPages(ctx())).must(t))).must(t)
	if len(list) != 1 || list[0].Status != "available" {
		t.Fatalf("snapshot list %+v", list)
	}
	// volume with snapshots cannot be deleted; quota counts snapshots (4+4 used)
	wantCode(t, volumes.Delete(ctx(), e.block, v.ID, nil).ExtractErr(), http.StatusBadRequest)
	_, err = volumes.Create(ctx(), e.block, volumes.CreateOpts{SnapshotID: sn.ID}, nil).Extract()
	wantCode(t, err, http.StatusRequestEntityTooLarge)
	if err := snapshots.Delete(ctx(), e.block, sn.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	_, err = snapshots.Get(ctx(), e.block, sn.ID).Extract()
	wantCode(t, err, http.StatusNotFound)

	clone := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{SourceVolID: v.ID}, nil).Extract()).must(t)
	if clone.Size != 4 || clone.SourceVolID != v.ID {
		t.Fatalf("clone %+v", clone)
	}
	_, err = volumes.Create(ctx(), e.block, volumes.CreateOpts{SourceVolID: v.ID, Size: 2}, nil).Extract()
	wantCode(t, err, http.StatusBadRequest)

	// snapshot of an in-use volume needs force (fresh cloud without quota)
	e = newEnv(t, Options{})
	clone = ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 4}, nil).Extract()).must(t)
	n := e.addNode(t, "node", "10.0.0.40")
	ok(volumeattach.Create(ctx(), e.compute, n.ID, volumeattach.CreateOpts{VolumeID: clone.ID}).Extract()).must(t)
	_, err = snapshots.Create(ctx(), e.block, snapshots.CreateOpts{VolumeID: clone.ID}).Extract()
	wantCode(t, err, http.StatusBadRequest)
	e.clock.Advance(time.Second)
	s2 := ok(snapshots.Create(ctx(), e.block, snapshots.CreateOpts{VolumeID: clone.ID, Force: true}).Extract()).must(t)
	e.clock.Advance(3 * time.Second)
	restored := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{SnapshotID: s2.ID, Size: 0}, nil).Extract()).must(t)
	if restored.SnapshotID != s2.ID || restored.Size != 4 {
		t.Fatalf("from snapshot: %+v", restored)
	}
}
