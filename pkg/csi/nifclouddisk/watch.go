package nifclouddisk

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// maxBatchIDs bounds the VolumeId.N of one batched DescribeVolumes. The
// API documents no limit; this keeps each request small.
const maxBatchIDs = 100

// observation is one look at a volume: v is nil when the volume is gone;
// err is an error of the look itself. A look at all volumes (a watch of
// ID "") has them in all.
type observation struct {
	v   *nifcloud.Volume
	all []nifcloud.Volume
	err error
}

// watch is one waiter's registration with the watcher.
type watch struct {
	id string
	ch chan observation // capacity 1: holds only the newest observation
	// Guarded by volumeWatcher.mu.
	looks int
	due   time.Time
}

// next blocks until an observation newer than the last one taken arrives.
func (wt *watch) next(ctx context.Context) (observation, error) {
	select {
	case o := <-wt.ch:
		return o, nil
	case <-ctx.Done():
		return observation{}, ctx.Err()
	}
}

// volumeWatcher batches the status polls of concurrent waits: while anyone
// waits, one goroutine calls DescribeVolumes with every pending volume ID
// and hands each waiter its volume. Each waiter asks for looks at its own
// backoff pace, shortened by the number of waiters sharing the calls, but
// calls are never closer than interval; so a lone wait costs what it did
// alone and 100 concurrent waits cost one call per interval.
type volumeWatcher struct {
	api      nifcloud.API
	poll     backoff.Policy
	interval time.Duration

	mu         sync.Mutex
	watches    map[*watch]struct{}
	running    bool
	wake       chan struct{}      // capacity 1: the schedule changed
	cancelCall context.CancelFunc // ends the call in flight when nobody waits
	lastCall   time.Time
	calls      int // batched calls made, for tests and logs
}

func newVolumeWatcher(api nifcloud.API, poll backoff.Policy, interval time.Duration) *volumeWatcher {
	return &volumeWatcher{api: api, poll: poll, interval: interval,
		watches: map[*watch]struct{}{}, wake: make(chan struct{}, 1)}
}

// add registers a wait for volume id ("": all volumes); its first look is
// due at once. Only calls started after add deliver to it, so no
// observation predates it.
func (w *volumeWatcher) add(id string) *watch {
	wt := &watch{id: id, ch: make(chan observation, 1), due: time.Now()}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.watches[wt] = struct{}{}
	if !w.running {
		w.running = true
		// The loop serves many requests: it has no request's context.
		go w.loop(context.Background())
	}
	w.poke()
	return wt
}

// remove ends a wait; the last one to leave stops the loop.
func (w *volumeWatcher) remove(wt *watch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.watches, wt)
	if len(w.watches) == 0 && w.cancelCall != nil {
		w.cancelCall()
	}
	w.poke()
}

// poke wakes the loop to reconsider its schedule. Callers hold w.mu.
func (w *volumeWatcher) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// busy reports whether the loop runs (tests check it stops).
func (w *volumeWatcher) busy() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running
}

// batchedCalls returns how many batched calls were made.
func (w *volumeWatcher) batchedCalls() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls
}

func (w *volumeWatcher) loop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.mu.Lock()
		if len(w.watches) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		if wait := time.Until(w.nextCallLocked()); wait > 0 {
			w.mu.Unlock()
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-w.wake:
			}
			continue
		}
		batch := make([]*watch, 0, len(w.watches))
		for wt := range w.watches {
			batch = append(batch, wt)
		}
		callCtx, cancel := context.WithCancel(ctx)
		w.cancelCall = cancel
		w.lastCall = time.Now()
		w.calls++
		w.mu.Unlock()

		results := w.describe(callCtx, batch)
		cancel()

		w.mu.Lock()
		w.cancelCall = nil
		now, n := time.Now(), max(len(w.watches), 1)
		for _, wt := range batch {
			if _, ok := w.watches[wt]; !ok {
				continue // left during the call
			}
			o := results[wt.id]
			select {
			case <-wt.ch: // replaced by the newer look
			default:
			}
			wt.ch <- o
			wt.looks++
			wt.due = now.Add(max(w.interval, w.poll.Delay(wt.looks)/time.Duration(n)))
		}
		w.mu.Unlock()
	}
}

// nextCallLocked is when the next call is due: the earliest look a waiter
// asks for, but not before interval after the last call.
func (w *volumeWatcher) nextCallLocked() time.Time {
	var next time.Time
	for wt := range w.watches {
		if next.IsZero() || wt.due.Before(next) {
			next = wt.due
		}
	}
	if earliest := w.lastCall.Add(w.interval); next.Before(earliest) {
		next = earliest
	}
	return next
}

// look takes one shared look at volume id ("": all volumes).
func (w *volumeWatcher) look(ctx context.Context, id string) (observation, error) {
	wt := w.add(id)
	defer w.remove(wt)
	return wt.next(ctx)
}

// describe looks at the volumes of batch, in chunks of maxBatchIDs, or
// lists all volumes once when a watch wants them all.
func (w *volumeWatcher) describe(ctx context.Context, batch []*watch) map[string]observation {
	ids := make([]string, 0, len(batch))
	for _, wt := range batch {
		ids = append(ids, wt.id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	results := make(map[string]observation, len(ids))
	if ids[0] == "" {
		w.listAll(ctx, ids, results)
		return results
	}
	for chunk := range slices.Chunk(ids, maxBatchIDs) {
		w.describeChunk(ctx, chunk, results)
	}
	return results
}

// describeChunk describes ids in one call. The API fails the whole call
// when any ID is unknown; then all volumes are listed once instead, and
// the missing ones are gone.
func (w *volumeWatcher) describeChunk(ctx context.Context, ids []string, results map[string]observation) {
	out, err := w.api.DescribeVolumes(ctx, &nifcloud.DescribeVolumesInput{VolumeIDs: ids})
	if nifcloud.IsNotFound(err) {
		if len(ids) == 1 {
			results[ids[0]] = observation{}
			return
		}
		w.listAll(ctx, ids, results)
		return
	}
	if err != nil {
		for _, id := range ids {
			results[id] = observation{err: mapError(err, "describing volume %s", id)}
		}
		return
	}
	byID := make(map[string]*nifcloud.Volume, len(out.Volumes))
	for i := range out.Volumes {
		byID[out.Volumes[i].VolumeID] = &out.Volumes[i]
	}
	for _, id := range ids {
		results[id] = observation{v: byID[id]}
	}
}

// listAll lists all volumes and resolves ids ("": the whole list) from it.
func (w *volumeWatcher) listAll(ctx context.Context, ids []string, results map[string]observation) {
	out, err := w.api.DescribeVolumes(ctx, &nifcloud.DescribeVolumesInput{})
	if err != nil {
		for _, id := range ids {
			if id == "" {
				results[id] = observation{err: mapError(err, "listing volumes")}
			} else {
				results[id] = observation{err: mapError(err, "describing volume %s", id)}
			}
		}
		return
	}
	byID := make(map[string]*nifcloud.Volume, len(out.Volumes))
	for i := range out.Volumes {
		byID[out.Volumes[i].VolumeID] = &out.Volumes[i]
	}
	for _, id := range ids {
		if id == "" {
			results[id] = observation{all: out.Volumes}
		} else {
			results[id] = observation{v: byID[id]}
		}
	}
}
