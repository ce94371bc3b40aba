package cinderdisk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// watchedEnv is an env whose backend's watcher ticks every tick and lists
// pageSize volumes per page, with slow creates/attaches/deletes so that
// many waits overlap.
func watchedEnv(t *testing.T, tick time.Duration, pageSize int, slow time.Duration) *env {
	t.Helper()
	e := newEnv(t, openstacksim.Options{})
	e.controls.SetLatency(openstacksimLatency(map[string]time.Duration{"*": transition,
		"volume.create": slow, "volume.attach": slow, "volume.detach": slow, "volume.delete": slow}))
	b, err := New(e.clients, Options{WatchInterval: tick, WaitTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b.watcher.pageSize = pageSize
	e.b = b
	return e
}

// watcherStops fails unless the watcher's loop ends once nobody waits.
func watcherStops(t *testing.T, w *volumeWatcher) {
	t.Helper()
	done := make(chan struct{})
	go func() { w.loops.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the volume watcher still runs although nobody waits")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.waiters) != 0 || w.stop != nil {
		t.Errorf("watcher left with %d waiters, running=%v", len(w.waiters), w.stop != nil)
	}
}

// runAll runs op for 0..n-1 concurrently and returns the errors.
func runAll(n int, op func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = op(i) })
	}
	wg.Wait()
	return errs
}

// TestConcurrentWaitsShareLists: 40 concurrent creates, attaches and
// detaches and deletes wait through one watcher; each tick costs one list
// (three pages of 16) for all of them instead of one GET per volume.
func TestConcurrentWaitsShareLists(t *testing.T) {
	const (
		n    = 40
		tick = 25 * time.Millisecond
		slow = 300 * time.Millisecond
	)
	e := watchedEnv(t, tick, 16, slow)
	ctx := context.Background()
	ids := make([]string, n)

	// phase runs op on every volume and checks the status calls it made
	// against the ticks that fit in its duration; ownGets are the GETs
	// made outside the watcher.
	phase := func(name string, ownGets int64, op func(i int) error) {
		t.Helper()
		e.controls.ResetCounts()
		start := time.Now()
		for i, err := range runAll(n, op) {
			if err != nil {
				t.Fatalf("%s %d: %v", name, i, err)
			}
		}
		elapsed := time.Since(start)
		lists, gets := e.calls("cinder.volume_list"), e.calls("cinder.volume_get")-ownGets
		// Each tick (start to start) lists at most 3 pages or GETs at most
		// as many volumes as the last list had pages.
		maxTicks := int64(elapsed/tick) + 2
		t.Logf("%s of %d volumes: %s, %d list pages, %d watcher gets (at most %d ticks)", name, n, elapsed.Round(time.Millisecond), lists, gets, maxTicks)
		if elapsed < slow {
			t.Errorf("%s took %s, less than the %s transition", name, elapsed, slow)
		}
		if lists+gets > 3*maxTicks {
			t.Errorf("%s: %d status calls in %s, want <= 3 per %s tick (%d)", name, lists+gets, elapsed, tick, 3*maxTicks)
		}
		if perVolume := n * int64(elapsed/tick); lists+gets > perVolume/10 {
			t.Errorf("%s: %d status calls, want under a tenth of polling each volume every tick (%d)", name, lists+gets, perVolume)
		}
		watcherStops(t, e.b.watcher)
	}

	phase("create", 0, func(i int) error {
		d, err := e.b.CreateDisk(ctx, backend.CreateRequest{Name: fmt.Sprintf("w%02d", i), SizeBytes: 1})
		if err == nil {
			ids[i] = d.ID
			if d.Status != backend.StatusAvailable {
				err = fmt.Errorf("created disk is %s", d.Status)
			}
		}
		return err
	})
	if e.b.watcher.pages != 3 {
		t.Errorf("the watcher read %d pages of 16 for %d volumes, want 3", e.b.watcher.pages, n)
	}
	// Attach and detach wait first for the volume to settle (one GET
	// each: it usually is), then for the change through the watcher.
	phase("attach", n, func(i int) error {
		_, err := e.b.AttachDisk(ctx, ids[i], e.nodes[i%2])
		return err
	})
	for _, id := range ids {
		if d := ok(e.b.GetDisk(ctx, id)).must(t); d.Status != backend.StatusInUse {
			t.Fatalf("after attach: %+v", d)
		}
	}
	phase("detach", n, func(i int) error { return e.b.DetachDisk(ctx, ids[i], e.nodes[i%2]) })
	// Deleted volumes drop out of the list: that ends the delete waits.
	phase("delete", 0, func(i int) error { return e.b.DeleteDisk(ctx, ids[i]) })
	e.noLeaks(t)
}

// TestWatcherHonoursEachContext: waiters whose deadline passes leave
// promptly while the others keep being served, and the watcher stops
// when the last waiter leaves, even mid-way through a transition.
func TestWatcherHonoursEachContext(t *testing.T) {
	const slow = 400 * time.Millisecond
	e := watchedEnv(t, 10*time.Millisecond, 0, slow)
	bg := context.Background()
	errs := runAll(6, func(i int) error {
		ctx := bg
		if i%2 == 1 {
			c, cancel := context.WithTimeout(bg, 50*time.Millisecond)
			defer cancel()
			ctx = c
		}
		start := time.Now()
		_, err := e.b.CreateDisk(ctx, backend.CreateRequest{Name: fmt.Sprintf("c%d", i), SizeBytes: 1})
		if i%2 == 1 {
			if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > slow/2 {
				return fmt.Errorf("after %s: %v, want DeadlineExceeded promptly", time.Since(start), err)
			}
			return nil
		}
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("waiter %d: %v", i, err)
		}
	}
	watcherStops(t, e.b.watcher)

	// A lone waiter that gives up stops the watcher before the volume is
	// ready.
	ctx, cancel := context.WithTimeout(bg, 30*time.Millisecond)
	defer cancel()
	_, err := e.b.CreateDisk(ctx, backend.CreateRequest{Name: "lone", SizeBytes: 1})
	wantErr(t, err, context.DeadlineExceeded)
	watcherStops(t, e.b.watcher)

	time.Sleep(slow) // let the abandoned creates finish
	var ids []string
	for _, name := range []string{"c0", "c1", "c2", "c3", "c4", "c5", "lone"} {
		ids = append(ids, ok(e.b.FindDiskByName(bg, name)).must(t).ID)
	}
	deleteAll(t, e, ids)
}

// TestWatcherPollsThroughListErrors: 500s on the shared list are polled
// through by every waiter; the creates still succeed.
func TestWatcherPollsThroughListErrors(t *testing.T) {
	e := watchedEnv(t, 10*time.Millisecond, 0, 100*time.Millisecond)
	e.controls.SetFaults(simcore.FaultConfig{ErrorRate: 0.5, Seed: 5, Actions: []string{"cinder.volume_list"}})
	bg := context.Background()
	ids := make([]string, 6)
	for i, err := range runAll(len(ids), func(i int) error {
		d, err := e.b.CreateDisk(bg, backend.CreateRequest{Name: fmt.Sprintf("e%d", i), SizeBytes: 1})
		if err == nil {
			ids[i] = d.ID
		}
		return err
	}) {
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	failed := e.controls.FaultsInjected()["error:cinder.volume_list"]
	t.Logf("%d of %d lists failed with 500", failed, e.calls("cinder.volume_list"))
	if failed == 0 {
		t.Fatal("seed injected no list error; pick another seed")
	}
	watcherStops(t, e.b.watcher)
	e.controls.SetFaults(simcore.FaultConfig{})
	deleteAll(t, e, ids)
}

// deleteAll deletes the volumes concurrently and checks nothing is left.
func deleteAll(t *testing.T, e *env, ids []string) {
	t.Helper()
	for i, err := range runAll(len(ids), func(i int) error { return e.b.DeleteDisk(context.Background(), ids[i]) }) {
		if err != nil {
			t.Errorf("delete %s: %v", ids[i], err)
		}
	}
	e.noLeaks(t)
}
