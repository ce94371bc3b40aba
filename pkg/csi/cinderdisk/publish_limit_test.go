package cinderdisk

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/tests/csitest"
)

// 20 concurrent ControllerPublishVolume calls, over the driver's gRPC API,
// of 20 volumes to one server with MaxAttachmentsPerNode 8: the per-server
// lock around the attachment count and the attach lets exactly 8 through,
// and the other 12 answer ResourceExhausted (backend.ErrQuota). The
// simulator, not the driver, is asked what ended up attached.
func TestControllerPublishAttachLimitConcurrent(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	const (
		n     = 20
		limit = 8
	)
	e.b.opts.MaxAttachmentsPerNode = limit
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: fmt.Sprintf("pub%d", i), SizeBytes: 1})).must(t).ID
	}
	node := e.nodes[0]

	conn, stop, err := csitest.ServeController(ctx, driver.Options{Profile: profile.Cinder{}, Disks: e.b})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctrl := csi.NewControllerClient(conn)

	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = ctrl.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{
				VolumeId: ids[i], NodeId: node, VolumeCapability: csitest.MountCapability(),
			})
		}()
	}
	close(start)
	wg.Wait()

	published := map[string]bool{}
	exhausted := 0
	for i, err := range errs {
		switch {
		case err == nil:
			published[ids[i]] = true
		case status.Code(err) == codes.ResourceExhausted:
			exhausted++
			if msg := status.Convert(err).Message(); !strings.Contains(msg, node) || !strings.Contains(msg, fmt.Sprintf("the limit is %d", limit)) {
				t.Errorf("publish %d: message %q does not name the server and its limit", i, msg)
			}
		default:
			t.Errorf("publish %d: %v (code %s), want OK or ResourceExhausted", i, err, status.Code(err))
		}
	}
	if len(published) != limit || exhausted != n-limit {
		t.Errorf("%d publishes succeeded and %d were ResourceExhausted, want %d and %d", len(published), exhausted, limit, n-limit)
	}

	// What the cloud holds: exactly the published volumes, on node.
	attached := 0
	st := e.sim.Snapshot()
	for _, id := range ids {
		v, found := st.Volumes[id]
		if !found {
			t.Fatalf("volume %s missing from the simulator", id)
		}
		var on []string
		for _, a := range v.Attachments {
			on = append(on, a.ServerID)
		}
		switch {
		case len(on) == 0:
			if published[id] {
				t.Errorf("volume %s was published but the simulator has no attachment (status %s)", id, v.Status)
			}
		case len(on) == 1 && on[0] == node:
			attached++
			if !published[id] {
				t.Errorf("volume %s is attached in the simulator although its publish failed", id)
			}
		default:
			t.Errorf("volume %s is attached to %v, want at most %s", id, on, node)
		}
	}
	if attached != limit {
		t.Errorf("the simulator has %d volumes attached to %s, want exactly %d", attached, node, limit)
	}

	// Unpublish through the driver as well, then clean up.
	for _, id := range ids {
		if _, err := ctrl.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: id, NodeId: node}); err != nil {
			t.Errorf("unpublish %s: %v", id, err)
		}
	}
	for _, id := range ids {
		if d := ok(e.b.GetDisk(ctx, id)).must(t); len(d.AttachedNodes) != 0 {
			t.Errorf("volume %s still attached to %v", id, d.AttachedNodes)
		}
		noErr(t, e.b.DeleteDisk(ctx, id))
	}
	e.noLeaks(t)
}
