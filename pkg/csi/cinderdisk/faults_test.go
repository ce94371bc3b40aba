package cinderdisk

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// TestThrottledCreateIsRetried: 429 answers with Retry-After on the create
// and the attach are retried by the client transport after the advertised
// delay, and each operation still happens exactly once.
func TestThrottledCreateIsRetried(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	e.controls.SetFaults(simcore.FaultConfig{ThrottleRate: 0.5, Seed: 7, RetryAfter: time.Second,
		Actions: []string{"cinder.volume_create", "nova.volume_attach"}})
	start := time.Now()
	d := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "t", SizeBytes: 1})).must(t)
	ok(e.b.AttachDisk(ctx, d.ID, e.nodes[0])).must(t)
	elapsed := time.Since(start)
	injected := e.controls.FaultsInjected()
	thr := injected["throttle:cinder.volume_create"] + injected["throttle:nova.volume_attach"]
	t.Logf("throttled %d times (%v), took %s; calls create=%d attach=%d", thr, injected,
		elapsed.Round(time.Millisecond), e.calls("cinder.volume_create"), e.calls("nova.volume_attach"))
	if thr == 0 {
		t.Fatal("seed injected no throttling; pick another seed")
	}
	if got := e.calls("cinder.volume_create") + e.calls("nova.volume_attach"); got != 2+thr {
		t.Errorf("%d create+attach calls, want %d (1 each + %d retries)", got, 2+thr, thr)
	}
	if elapsed < time.Duration(thr)*time.Second {
		t.Errorf("took %s, Retry-After (1s x %d) not honoured", elapsed, thr)
	}
	if n := len(e.sim.Snapshot().Volumes); n != 1 {
		t.Errorf("%d volumes, want 1", n)
	}
	e.controls.SetFaults(simcore.FaultConfig{})
	noErr(t, e.b.DetachDisk(ctx, d.ID, e.nodes[0]))
	noErr(t, e.b.DeleteDisk(ctx, d.ID))
	e.noLeaks(t)
}

// TestServerErrorsWhilePolling: 500s on the status polls are polled
// through; the create succeeds.
func TestServerErrorsWhilePolling(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	ctx := context.Background()
	e.controls.SetFaults(simcore.FaultConfig{ErrorRate: 0.6, Seed: 3, Actions: []string{"cinder.volume_get"}})
	d := ok(e.b.CreateDisk(ctx, backend.CreateRequest{Name: "p", SizeBytes: 1})).must(t)
	errs := e.controls.FaultsInjected()["error:cinder.volume_get"]
	t.Logf("%d of %d polls failed with 500", errs, e.calls("cinder.volume_get"))
	if errs == 0 || d.Status != backend.StatusAvailable {
		t.Fatalf("injected %d errors, disk %+v", errs, d)
	}
	e.controls.SetFaults(simcore.FaultConfig{})
	noErr(t, e.b.DeleteDisk(ctx, d.ID))
	e.noLeaks(t)
}

// TestServerErrorOnCreate: a 500 on the create is returned as a plain
// (Internal) error naming the volume, and nothing is left in the cloud.
func TestServerErrorOnCreate(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	e.controls.SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"cinder.volume_create"}})
	_, err := e.b.CreateDisk(context.Background(), backend.CreateRequest{Name: "boom", SizeBytes: 1})
	if err == nil {
		t.Fatal("create succeeded despite a 500")
	}
	for _, s := range []error{backend.ErrNotFound, backend.ErrQuota, backend.ErrInvalidArgument, backend.ErrUnavailable} {
		if errors.Is(err, s) {
			t.Errorf("500 mapped to %v: %v", s, err)
		}
	}
	if n := e.calls("cinder.volume_create"); n != 1 {
		t.Errorf("POST retried %d times after a 500", n-1)
	}
	e.noLeaks(t)
}
