package cinderdisk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/pagination"
	"k8s.io/klog/v2"
)

// DefaultWatchInterval is the tick of the shared volume watcher. It is
// short because one tick serves every waiting request at once.
const DefaultWatchInterval = 200 * time.Millisecond

// volumeWatcher polls the states of all volumes that requests wait for
// with one API call per tick instead of one poll loop per request: while
// anybody waits, it lists the project's volumes once per tick (GET
// /volumes/detail, all pages), or GETs them one by one when fewer volumes
// are awaited than the last list had pages. It runs only while there are
// waiters; the loop goroutine ends when the last one leaves.
type volumeWatcher struct {
	block *gophercloud.ServiceClient
	tick  time.Duration
	// pageSize is the list limit (0: the server's default page size,
	// osapi_max_limit; tests page smaller).
	pageSize int

	mu      sync.Mutex
	waiters map[*volumeWaiter]struct{}
	stop    context.CancelFunc // non-nil while a loop runs
	pages   int                // pages of the last full list (>= 1)
	loops   sync.WaitGroup     // running loops, for tests
}

// volumeWaiter receives the observations of one volume.
type volumeWaiter struct {
	id string
	// ch holds the newest observation; older unread ones are replaced.
	ch chan volumeObservation
}

// volumeObservation is one look at a volume: vol is nil with a nil err
// when the volume does not exist (any more).
type volumeObservation struct {
	vol *volumes.Volume
	err error
}

func newVolumeWatcher(block *gophercloud.ServiceClient, tick time.Duration) *volumeWatcher {
	return &volumeWatcher{block: block, tick: tick, waiters: map[*volumeWaiter]struct{}{}, pages: 1}
}

// add registers a waiter for volume id and starts the loop if needed.
// The waiter only gets observations made after it was added; it must be
// removed with remove.
func (w *volumeWatcher) add(id string) *volumeWaiter {
	wt := &volumeWaiter{id: id, ch: make(chan volumeObservation, 1)}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waiters[wt] = struct{}{}
	if w.stop == nil {
		ctx, cancel := context.WithCancel(context.Background())
		w.stop = cancel
		w.loops.Add(1)
		go w.loop(ctx)
	}
	return wt
}

// remove unregisters a waiter; the last one stops the loop, which also
// cancels a call in flight.
func (w *volumeWatcher) remove(wt *volumeWaiter) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.waiters, wt)
	if len(w.waiters) == 0 && w.stop != nil {
		w.stop()
		w.stop = nil
	}
}

// loop observes the awaited volumes once per tick (start to start) until
// ctx is cancelled by the last remove.
func (w *volumeWatcher) loop(ctx context.Context) {
	defer w.loops.Done()
	logger := klog.FromContext(ctx).WithName("cinder-volume-watcher")
	logger.V(4).Info("Volume watcher started", "tick", w.tick)
	timer := time.NewTimer(0)
	defer timer.Stop()
	ticks := 0
	for {
		select {
		case <-ctx.Done():
			logger.V(4).Info("Volume watcher stopped, nobody waits", "ticks", ticks)
			return
		case <-timer.C:
		}
		start := time.Now()
		// Snapshot under the lock: waiters added later may have volumes
		// this round's list does not show yet.
		w.mu.Lock()
		batch := make([]*volumeWaiter, 0, len(w.waiters))
		for wt := range w.waiters {
			batch = append(batch, wt)
		}
		pages := w.pages
		w.mu.Unlock()
		if len(batch) > 0 {
			ticks++
			w.observe(ctx, logger, batch, pages)
		}
		timer.Reset(max(0, w.tick-time.Since(start)))
	}
}

// observe looks at the batch's volumes with the cheaper method and hands
// every waiter its volume's state.
func (w *volumeWatcher) observe(ctx context.Context, logger klog.Logger, batch []*volumeWaiter, pages int) {
	ids := map[string]struct{}{}
	for _, wt := range batch {
		ids[wt.id] = struct{}{}
	}
	var seen map[string]volumeObservation
	if len(ids) <= pages {
		seen = w.getEach(ctx, ids)
	} else {
		vols, n, err := w.listAll(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			logger.V(4).Info("Listing volumes failed, retrying next tick", "waiters", len(batch), "err", err)
			for _, wt := range batch {
				wt.deliver(volumeObservation{err: err})
			}
			return
		}
		w.mu.Lock()
		w.pages = max(n, 1)
		w.mu.Unlock()
		seen = make(map[string]volumeObservation, len(ids))
		for i := range vols {
			if _, ok := ids[vols[i].ID]; ok {
				seen[vols[i].ID] = volumeObservation{vol: &vols[i]}
			}
		}
	}
	if ctx.Err() != nil {
		return
	}
	for _, wt := range batch {
		wt.deliver(seen[wt.id]) // absent = gone
	}
}

// getEach GETs each volume concurrently.
func (w *volumeWatcher) getEach(ctx context.Context, ids map[string]struct{}) map[string]volumeObservation {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		seen = make(map[string]volumeObservation, len(ids))
	)
	for id := range ids {
		wg.Go(func() {
			obs := getVolume(ctx, w.block, id)
			mu.Lock()
			defer mu.Unlock()
			seen[id] = obs
		})
	}
	wg.Wait()
	return seen
}

// listAll lists every volume of the project, following the next links,
// and returns the number of pages read.
func (w *volumeWatcher) listAll(ctx context.Context) ([]volumes.Volume, int, error) {
	var (
		all   []volumes.Volume
		pages int
	)
	err := volumes.List(w.block, volumes.ListOpts{Limit: w.pageSize}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		pages++
		vols, err := volumes.ExtractVolumes(p)
		if err != nil {
			return false, err
		}
		all = append(all, vols...)
		return true, nil
	})
	if err != nil {
		if pages > 0 && unknownMarker(err) {
			// The volume that ended a page was deleted before the next
			// page was asked for: Cinder answers the marker with 404
			// (older releases 400); the next tick lists again.
			return nil, pages, fmt.Errorf("listing volumes: %w: %w", errMarkerGone, err)
		}
		return nil, pages, fmt.Errorf("listing volumes: %w", err)
	}
	return all, pages, nil
}

// errMarkerGone marks a list that failed because its page marker was
// deleted meanwhile: waiters poll on.
var errMarkerGone = errors.New("page marker deleted while listing")

// getVolume is one GET of a volume as an observation (404 = gone).
func getVolume(ctx context.Context, block *gophercloud.ServiceClient, id string) volumeObservation {
	v, err := volumes.Get(ctx, block, id).Extract()
	switch {
	case isNotFound(err):
		return volumeObservation{}
	case err != nil:
		return volumeObservation{err: apiError(err, "getting volume %s", id)}
	}
	return volumeObservation{vol: v}
}

// deliver replaces an unread observation with the newer one, never
// blocking (a stopping loop may still deliver next to a new one).
func (wt *volumeWaiter) deliver(obs volumeObservation) {
	for {
		select {
		case wt.ch <- obs:
			return
		default:
		}
		select {
		case <-wt.ch:
		default:
		}
	}
}
