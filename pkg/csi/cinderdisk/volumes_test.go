package cinderdisk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

func cinderParams(t *testing.T, kv map[string]string) backend.Parameters {
	t.Helper()
	p, err := profile.Cinder{}.ParseParameters(kv)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVolumeLifecycle(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	node, other := e.nodes[0], e.nodes[1]

	d := ok(e.b.CreateDisk(ctx, backend.CreateRequest{
		Name: "pvc-1", SizeBytes: 1 << 30,
		Parameters: cinderParams(t, map[string]string{"type": "ssd", "availability": "nova"}),
		Metadata:   map[string]string{"csi.storage.k8s.io/pvc/name": "data", "csi.storage.k8s.io/pvc/namespace": "default"},
	})).must(t)
	if d.Status != backend.StatusAvailable || d.SizeBytes != 1<<30 || d.Zone != "nova" || d.Name != "pvc-1" {
		t.Fatalf("created disk %+v, want available 1 GiB in nova", d)
	}
	creates, gets := e.calls("cinder.volume_create"), e.calls("cinder.volume_get")
	t.Logf("CreateDisk: %d create, %d polls", creates, gets)
	if creates != 1 || gets < 1 {
		t.Errorf("CreateDisk made %d creates and %d gets, want 1 and >= 1", creates, gets)
	}
	v := e.sim.Snapshot().Volumes[d.ID]
	if v.VolumeType != "ssd" || v.Description != Description || v.Metadata[MetadataCluster] != "kumo-test" ||
		v.Metadata["csi.storage.k8s.io/pvc/name"] != "data" {
		t.Errorf("cloud volume %+v lacks type/description/metadata", v)
	}

	found := ok(e.b.FindDiskByName(ctx, "pvc-1")).must(t)
	if found.ID != d.ID {
		t.Errorf("FindDiskByName = %s, want %s", found.ID, d.ID)
	}
	_, err := e.b.FindDiskByName(ctx, "pvc-none")
	wantErr(t, err, backend.ErrNotFound)

	e.controls.ResetCounts()
	pc := ok(e.b.AttachDisk(ctx, d.ID, node)).must(t)
	if pc[backend.PublishContextDevicePath] != "/dev/vdb" {
		t.Errorf("publish context %v, want devicePath /dev/vdb", pc)
	}
	t.Logf("AttachDisk: %d attach, %d volume gets", e.calls("nova.volume_attach"), e.calls("cinder.volume_get"))
	got := ok(e.b.GetDisk(ctx, d.ID)).must(t)
	if got.Status != backend.StatusInUse || !slices.Equal(got.AttachedNodes, []string{node}) {
		t.Fatalf("after attach: %+v", got)
	}
	// Idempotent attach: no second Nova call, same context.
	pc2 := ok(e.b.AttachDisk(ctx, d.ID, node)).must(t)
	if e.calls("nova.volume_attach") != 1 || pc2[backend.PublishContextDevicePath] != "/dev/vdb" {
		t.Errorf("repeated attach: %d Nova attaches, context %v", e.calls("nova.volume_attach"), pc2)
	}
	_, err = e.b.AttachDisk(ctx, d.ID, other)
	wantErr(t, err, backend.ErrFailedPrecondition)
	wantErr(t, e.b.DeleteDisk(ctx, d.ID), backend.ErrFailedPrecondition)

	e.controls.ResetCounts()
	if err := e.b.DetachDisk(ctx, d.ID, node); err != nil {
		t.Fatal(err)
	}
	if got := ok(e.b.GetDisk(ctx, d.ID)).must(t); got.Status != backend.StatusAvailable || len(got.AttachedNodes) != 0 {
		t.Fatalf("after detach: %+v", got)
	}
	if err := e.b.DetachDisk(ctx, d.ID, node); err != nil {
		t.Fatalf("repeated detach: %v", err)
	}
	if n := e.calls("nova.volume_detach"); n != 1 {
		t.Errorf("%d Nova detaches, want 1", n)
	}

	if err := e.b.DeleteDisk(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.b.GetDisk(ctx, d.ID)
	wantErr(t, err, backend.ErrNotFound)
	wantErr(t, e.b.DeleteDisk(ctx, d.ID), backend.ErrNotFound)
	wantErr(t, e.b.DetachDisk(ctx, d.ID, node), backend.ErrNotFound)
	_, err = e.b.AttachDisk(ctx, d.ID, node)
	wantErr(t, err, backend.ErrNotFound)
	e.noLeaks(t)
}

func TestAttachErrors(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	d := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "a", SizeBytes: 1})).must(t)
	_, err := e.b.AttachDisk(ctx, d.ID, "no-such-server")
	wantErr(t, err, backend.ErrNotFound)
	if ok := ok(e.b.NodeExists(ctx, e.nodes[0])).must(t); !ok {
		t.Error("NodeExists(existing) = false")
	}
	if ok := ok(e.b.NodeExists(ctx, "no-such-server")).must(t); ok {
		t.Error("NodeExists(missing) = true")
	}
	// A zone Cinder lacks: from the topology it cannot hold the volume
	// (ResourceExhausted, rescheduled), from the parameter it is
	// InvalidArgument.
	_, err = e.b.CreateDisk(ctx, backend.CreateRequest{Name: "b", SizeBytes: 1, Zone: "mars"})
	wantErr(t, err, backend.ErrZoneExhausted)
	_, err = e.b.CreateDisk(ctx, backend.CreateRequest{Name: "b", SizeBytes: 1, Zone: "mars", Parameters: backend.Parameters{Zone: "mars", ZoneKey: "availability"}})
	wantErr(t, err, backend.ErrInvalidArgument)
	noErr(t, e.b.DeleteDisk(ctx, d.ID))
	e.noLeaks(t)
}

func TestAttachLimit(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	e.b.opts.MaxAttachmentsPerNode = 1
	a := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "a", SizeBytes: 1})).must(t)
	b := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "b", SizeBytes: 1})).must(t)
	ok(e.b.AttachDisk(ctx, a.ID, e.nodes[0])).must(t)
	_, err := e.b.AttachDisk(ctx, b.ID, e.nodes[0])
	wantErr(t, err, backend.ErrQuota)
	ok(e.b.AttachDisk(ctx, b.ID, e.nodes[1])).must(t)
	if n := e.calls("nova.volume_attachment_list"); n != 3 {
		t.Errorf("%d attachment lists, want one per new attach (3)", n)
	}
	noErr(t, e.b.DetachDisk(ctx, a.ID, e.nodes[0]))
	noErr(t, e.b.DetachDisk(ctx, b.ID, e.nodes[1]))
	noErr(t, e.b.DeleteDisk(ctx, a.ID))
	noErr(t, e.b.DeleteDisk(ctx, b.ID))
	e.noLeaks(t)
}

func TestDuplicateNames(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	a := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "dup", SizeBytes: 1})).must(t)
	b := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "dup", SizeBytes: 1})).must(t)
	_, err := e.b.FindDiskByName(ctx, "dup")
	if err == nil || errors.Is(err, backend.ErrNotFound) || errors.Is(err, backend.ErrAlreadyExists) {
		t.Fatalf("two volumes with one name: %v, want a plain (Internal) error", err)
	}
	noErr(t, e.b.DeleteDisk(ctx, a.ID))
	noErr(t, e.b.DeleteDisk(ctx, b.ID))
	e.noLeaks(t)
}

func TestExpand(t *testing.T) {
	e := newEnv(t, openstacksim.Options{VolumeQuotaGB: 6})
	ctx := context.Background()
	d := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "x", SizeBytes: 1 << 30})).must(t)
	if got := ok(e.b.ExpandDisk(ctx, d.ID, 2<<30)).must(t); got != 2<<30 {
		t.Errorf("offline expand: %d bytes", got)
	}
	ok(e.b.AttachDisk(ctx, d.ID, e.nodes[0])).must(t)
	if got := ok(e.b.ExpandDisk(ctx, d.ID, 3<<30-1)).must(t); got != 3<<30 {
		t.Errorf("online expand: %d bytes, want 3 GiB", got)
	}
	if got := ok(e.b.GetDisk(ctx, d.ID)).must(t); got.Status != backend.StatusInUse || got.SizeBytes != 3<<30 {
		t.Errorf("after online expand: %+v", got)
	}
	e.controls.ResetCounts()
	if got := ok(e.b.ExpandDisk(ctx, d.ID, 1<<30)).must(t); got != 3<<30 {
		t.Errorf("shrink request: %d bytes", got)
	}
	if n := e.calls("cinder.volume_extend"); n != 0 {
		t.Errorf("no-op expand sent %d extends", n)
	}
	_, err := e.b.ExpandDisk(ctx, d.ID, 7<<30)
	wantErr(t, err, backend.ErrQuota)
	_, err = e.b.ExpandDisk(ctx, "missing", 7<<30)
	wantErr(t, err, backend.ErrNotFound)
	noErr(t, e.b.DetachDisk(ctx, d.ID, e.nodes[0]))
	noErr(t, e.b.DeleteDisk(ctx, d.ID))
	e.noLeaks(t)
}

func TestQuota(t *testing.T) {
	e := newEnv(t, openstacksim.Options{VolumeQuotaGB: 2})
	ctx := context.Background()
	_, err := e.b.CreateDisk(ctx, backend.CreateRequest{Name: "big", SizeBytes: 3 << 30})
	wantErr(t, err, backend.ErrQuota)
	e.noLeaks(t)
}

func TestListPaging(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		ids = append(ids, ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: fmt.Sprintf("v%d", i), SizeBytes: 1})).must(t).ID)
	}
	all := must3(t)(e.b.ListDisks(ctx, 0, ""))
	if len(all.disks) != 5 || all.next != "" {
		t.Fatalf("ListDisks(0) = %d disks, next %q", len(all.disks), all.next)
	}
	var paged []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		p := must3(t)(e.b.ListDisks(ctx, 2, token))
		for _, d := range p.disks {
			paged = append(paged, d.ID)
		}
		if p.next == "" {
			break
		}
		token = p.next
	}
	slices.Sort(paged)
	slices.Sort(ids)
	if !slices.Equal(paged, ids) {
		t.Errorf("paged %v, want %v", paged, ids)
	}
	_, _, err := e.b.ListDisks(ctx, 2, "bogus-token")
	wantErr(t, err, backend.ErrInvalidArgument)
	for _, id := range ids {
		noErr(t, e.b.DeleteDisk(ctx, id))
	}
	e.noLeaks(t)
}

type page struct {
	disks []*backend.Disk
	next  string
}

func must3(t *testing.T) func([]*backend.Disk, string, error) page {
	return func(d []*backend.Disk, next string, err error) page {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return page{d, next}
	}
}

// TestWaitHonoursContext: a slow create is abandoned when the request's
// deadline passes; the volume stays findable by name for the retry, and a
// later attach waits for it to become available.
func TestWaitHonoursContext(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	e.controls.SetLatency(openstacksimLatency(map[string]time.Duration{"*": transition, "volume.create": 500 * time.Millisecond}))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.b.CreateDisk(ctx, backend.CreateRequest{Name: "slow", SizeBytes: 1})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 400*time.Millisecond {
		t.Fatalf("CreateDisk after %s: %v, want DeadlineExceeded promptly", time.Since(start), err)
	}
	bg := context.Background()
	d := ok(e.b.FindDiskByName(bg, "slow")).must(t)
	if d.Status != backend.StatusCreating {
		t.Errorf("retry sees %s, want creating", d.Status)
	}
	ok(e.b.AttachDisk(bg, d.ID, e.nodes[0])).must(t)
	noErr(t, e.b.DetachDisk(bg, d.ID, e.nodes[0]))
	noErr(t, e.b.DeleteDisk(bg, d.ID))
	e.noLeaks(t)
}
