package cinderdisk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// poll runs cond with the backend's backoff until it is done, fails, the
// wait timeout passes or ctx ends. Transient API errors (throttling, 5xx,
// connection errors) are polled through; what is the operation, for
// errors and logs.
func (b *Backend) poll(ctx context.Context, what string, cond func(ctx context.Context) (bool, error)) error {
	return b.pollFor(ctx, b.opts.WaitTimeout, what, cond)
}

// pollFor is poll bounded by timeout instead of the wait timeout.
func (b *Backend) pollFor(ctx context.Context, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) error {
	logger := klog.FromContext(ctx)
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	n := 0
	err := b.opts.Poll.Poll(wctx, func(ctx context.Context) (bool, error) {
		n++
		done, err := cond(ctx)
		if err != nil && transient(err) && ctx.Err() == nil {
			logger.V(4).Info("Transient error while waiting, polling on", "operation", what, "attempt", n, "err", err)
			last = err
			return false, nil
		}
		return done, err
	})
	switch {
	case err == nil:
		logger.V(4).Info("Wait finished", "operation", what, "polls", n)
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
	case wctx.Err() != nil || errors.Is(err, backoff.ErrTimeout):
		return fmt.Errorf("%s did not finish within %s (last error: %v): %w", what, timeout, last, backend.ErrUnavailable)
	}
	return err
}

// waitVolume waits until done reports true for a volume, observed by the
// shared watcher (one list per tick for all waiters). lookFirst GETs the
// volume at once first, for waits that usually need none (waitSettled);
// right after a write the first look is left to the watcher. After a 404
// done gets nil; unless it accepts that, the wait fails with ErrNotFound.
func (b *Backend) waitVolume(ctx context.Context, id, what string, lookFirst bool, done func(v *volumes.Volume) (bool, error)) (*volumes.Volume, error) {
	logger := klog.FromContext(ctx)
	wctx, cancel := context.WithTimeout(ctx, b.opts.WaitTimeout)
	defer cancel()
	var (
		vol  *volumes.Volume
		last error
		n    int
	)
	// check handles one observation: finished, failed, or wait on.
	check := func(obs volumeObservation) (bool, error) {
		n++
		switch {
		case obs.err != nil && (transient(obs.err) || errors.Is(obs.err, errMarkerGone)):
			// A list marker deleted meanwhile: the next tick relists.
			logger.V(4).Info("Transient error while waiting, polling on", "operation", what, "attempt", n, "err", obs.err)
			last = obs.err
			return false, nil
		case obs.err != nil:
			return false, obs.err
		case obs.vol == nil:
			ok, err := done(nil)
			if ok || err != nil {
				return ok, err
			}
			return false, fmt.Errorf("volume %s disappeared while waiting for %s: %w", id, what, backend.ErrNotFound)
		}
		vol = obs.vol
		return done(obs.vol)
	}
	finished, err := false, error(nil)
	if lookFirst {
		finished, err = check(getVolume(wctx, b.block, id))
	}
	if !finished && err == nil {
		finished, err = b.watchVolume(wctx, id, check)
	}
	switch {
	case finished:
		logger.V(4).Info("Wait finished", "operation", what, "observations", n)
		return vol, nil
	case ctx.Err() != nil:
		return vol, fmt.Errorf("waiting for %s: %w", what, ctx.Err())
	case wctx.Err() != nil:
		return vol, fmt.Errorf("%s did not finish within %s (last error: %v): %w", what, b.opts.WaitTimeout, last, backend.ErrUnavailable)
	}
	return vol, err
}

// watchVolume feeds the watcher's observations of volume id to check
// until it finishes or fails, or ctx ends.
func (b *Backend) watchVolume(ctx context.Context, id string, check func(volumeObservation) (bool, error)) (bool, error) {
	wt := b.watcher.add(id)
	defer b.watcher.remove(wt)
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case obs := <-wt.ch:
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if done, err := check(obs); done || err != nil {
				return done, err
			}
		}
	}
}

// waitAvailable waits until a new volume leaves its creating state; a
// volume that ends in error is reported with its status.
func (b *Backend) waitAvailable(ctx context.Context, id string) (*volumes.Volume, error) {
	return b.waitVolume(ctx, id, "volume "+id+" to become available", false, func(v *volumes.Volume) (bool, error) {
		if v == nil {
			return false, nil
		}
		switch {
		case v.Status == volAvailable:
			return true, nil
		case volumeStatus(v.Status) == backend.StatusError:
			return false, fmt.Errorf("volume %s went to status %q while being created", id, v.Status)
		}
		return false, nil
	})
}

// waitSettled waits until a volume is in no transitional state.
func (b *Backend) waitSettled(ctx context.Context, id string) (*volumes.Volume, error) {
	return b.waitVolume(ctx, id, "volume "+id+" to settle", true, func(v *volumes.Volume) (bool, error) {
		return v != nil && !transitional(v.Status), nil
	})
}

// waitDeleted waits until a volume is gone (404).
func (b *Backend) waitDeleted(ctx context.Context, id string) error {
	_, err := b.waitVolume(ctx, id, "volume "+id+" to be deleted", false, func(v *volumes.Volume) (bool, error) {
		switch {
		case v == nil:
			return true, nil
		case v.Status == "error_deleting":
			return false, fmt.Errorf("deleting volume %s failed (status %q)", id, v.Status)
		}
		return false, nil
	})
	return err
}

// waitSnapshot polls a snapshot until done reports true; done gets nil
// after a 404.
func (b *Backend) waitSnapshot(ctx context.Context, id, what string, done func(s *snapshots.Snapshot) (bool, error)) (*snapshots.Snapshot, error) {
	var snap *snapshots.Snapshot
	err := b.poll(ctx, what, func(ctx context.Context) (bool, error) {
		s, err := snapshots.Get(ctx, b.block, id).Extract()
		if isNotFound(err) {
			ok, derr := done(nil)
			if ok || derr != nil {
				return ok, derr
			}
			return false, apiError(err, "snapshot %s disappeared while waiting for %s", id, what)
		}
		if err != nil {
			return false, err
		}
		snap = s
		return done(s)
	})
	return snap, err
}
