package cinderdisk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// 20 concurrent attaches to one node with a limit of 8: the count and the
// attach must be atomic per node, so exactly 8 succeed.
func TestAttachLimitConcurrent(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	e.b.opts.MaxAttachmentsPerNode = 8
	const n = 20
	ids := make([]string, n)
	for i := range ids {
		ids[i] = ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: fmt.Sprintf("c%d", i), SizeBytes: 1})).must(t).ID
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.b.AttachDisk(ctx, ids[i], e.nodes[0])
		}()
	}
	wg.Wait()
	okCount := 0
	for i, err := range errs {
		switch {
		case err == nil:
			okCount++
		case !errors.Is(err, backend.ErrQuota):
			t.Errorf("attach %d: %v, want success or ErrQuota", i, err)
		}
	}
	if okCount != 8 {
		t.Errorf("%d attaches succeeded, want exactly 8", okCount)
	}
	for _, id := range ids {
		noErr(t, e.b.DetachDisk(ctx, id, e.nodes[0]))
	}
	for _, id := range ids {
		d := ok(e.b.GetDisk(ctx, id)).must(t)
		if len(d.AttachedNodes) != 0 {
			t.Errorf("volume %s still attached to %v", id, d.AttachedNodes)
		}
		noErr(t, e.b.DeleteDisk(ctx, id))
	}
	e.noLeaks(t)
}

// IDs are joined into URL paths: a traversal must be refused before any
// request (it used to delete the target volume via a followed redirect).
func TestIDsValidatedBeforeURLUse(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	d := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "victim", SizeBytes: 1})).must(t)
	bad := "x/../" + d.ID
	e.controls.ResetCounts()
	wantErr(t, e.b.DeleteDisk(ctx, bad), backend.ErrInvalidArgument)
	_, err := e.b.GetDisk(ctx, bad)
	wantErr(t, err, backend.ErrInvalidArgument)
	_, err = e.b.AttachDisk(ctx, bad, e.nodes[0])
	wantErr(t, err, backend.ErrInvalidArgument)
	_, err = e.b.AttachDisk(ctx, d.ID, "x/../"+e.nodes[0])
	wantErr(t, err, backend.ErrInvalidArgument)
	wantErr(t, e.b.DetachDisk(ctx, bad, e.nodes[0]), backend.ErrInvalidArgument)
	_, err = e.b.ExpandDisk(ctx, bad, 2<<30)
	wantErr(t, err, backend.ErrInvalidArgument)
	_, err = e.b.NodeExists(ctx, "x/../"+e.nodes[0])
	wantErr(t, err, backend.ErrInvalidArgument)
	wantErr(t, e.b.DeleteSnapshot(ctx, "x/../"+d.ID), backend.ErrInvalidArgument)
	_, err = e.b.GetSnapshot(ctx, "x/../"+d.ID)
	wantErr(t, err, backend.ErrInvalidArgument)
	_, err = e.b.CreateSnapshot(ctx, "s", bad, backend.Parameters{})
	wantErr(t, err, backend.ErrInvalidArgument)
	_, err = e.b.CreateDisk(ctx, backend.CreateRequest{Name: "clone", SizeBytes: 1, SourceVolumeID: bad})
	wantErr(t, err, backend.ErrInvalidArgument)
	_, err = e.b.CreateDisk(ctx, backend.CreateRequest{Name: "restore", SizeBytes: 1, SourceSnapshotID: bad})
	wantErr(t, err, backend.ErrInvalidArgument)
	if got := ok(e.b.GetDisk(ctx, d.ID)).must(t); got.ID != d.ID {
		t.Fatalf("victim changed: %+v", got)
	}
	noErr(t, e.b.DeleteDisk(ctx, d.ID))
	e.noLeaks(t)
}
