package octavia

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
)

// defaultPoll paces provisioning-status polls as a proportional schedule
// (see pollStatus): a pause of 12% of the time waited so far, at least
// 200 ms and at most 1 s. A wait thus ends within ~12% (or 200 ms) of the
// transition, where a geometric backoff overshoots by up to its factor,
// while a long wait costs one GET per second at most.
var defaultPoll = backoff.Policy{Initial: 200 * time.Millisecond, Factor: 1.12, Max: time.Second, Jitter: 0.05}

const (
	defaultWaitTimeout = 10 * time.Minute
	// maxConflictRetries bounds how often one write is retried after a 409
	// (someone else changed the load balancer meanwhile).
	maxConflictRetries = 5
)

var errLBError = errors.New("load balancer is in provisioning status ERROR")

func isStatus(err error, code int) bool { return gophercloud.ResponseCodeIs(err, code) }

// waitActive polls until the load balancer is ACTIVE. It returns the last
// view, errLBError (wrapped) on ERROR, and respects ctx.
func (l *LoadBalancer) waitActive(ctx context.Context, id string) (*loadbalancers.LoadBalancer, error) {
	return l.waitActiveFrom(ctx, id, true)
}

// waitActiveFrom is waitActive; lookFirst=false skips the immediate first
// GET, which right after an accepted write can only see PENDING_*.
func (l *LoadBalancer) waitActiveFrom(ctx context.Context, id string, lookFirst bool) (*loadbalancers.LoadBalancer, error) {
	ctx, cancel := context.WithTimeout(ctx, l.waitTimeout)
	defer cancel()
	start := l.now()
	var lb *loadbalancers.LoadBalancer
	polls, err := l.pollStatus(ctx, lookFirst, func(ctx context.Context) (bool, error) {
		got, err := loadbalancers.Get(ctx, l.clients.LoadBalancer, id).Extract()
		if err != nil {
			return false, fmt.Errorf("get load balancer %s: %w", id, err)
		}
		lb = got
		switch got.ProvisioningStatus {
		case "ACTIVE":
			return true, nil
		case "ERROR":
			return false, fmt.Errorf("load balancer %s: %w", id, errLBError)
		case "DELETED", "PENDING_DELETE":
			return false, fmt.Errorf("load balancer %s is being deleted", id)
		}
		return false, nil
	})
	if err != nil {
		return lb, fmt.Errorf("waiting for load balancer %s to become ACTIVE: %w", id, err)
	}
	klog.FromContext(ctx).V(4).Info("Load balancer is ACTIVE", "loadBalancerID", id, "waited", l.now().Sub(start), "polls", polls)
	return lb, nil
}

// write performs one Octavia write on load balancer id and waits for it
// to settle. A 409 (the load balancer is PENDING_* because of a
// concurrent change) waits for ACTIVE and retries instead of failing.
func (l *LoadBalancer) write(ctx context.Context, id, what string, fn func(ctx context.Context) error) error {
	logger := klog.FromContext(ctx)
	for attempt := 0; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			logger.V(2).Info("Octavia write done", "loadBalancerID", id, "op", what)
			_, err = l.waitActiveFrom(ctx, id, false)
			return err
		}
		if !isStatus(err, http.StatusConflict) || attempt >= maxConflictRetries {
			return fmt.Errorf("%s: %w", what, err)
		}
		logger.V(2).Info("Load balancer busy, waiting before retrying", "loadBalancerID", id, "op", what)
		if _, werr := l.waitActive(ctx, id); werr != nil {
			return werr
		}
	}
}

// waitGone polls until the load balancer is deleted (404 or DELETED). It
// is only called after a delete, so the first look waits a pause.
func (l *LoadBalancer) waitGone(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, l.waitTimeout)
	defer cancel()
	_, err := l.pollStatus(ctx, false, func(ctx context.Context) (bool, error) {
		got, err := loadbalancers.Get(ctx, l.clients.LoadBalancer, id).Extract()
		if isStatus(err, http.StatusNotFound) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("get load balancer %s: %w", id, err)
		}
		return got.ProvisioningStatus == "DELETED", nil
	})
	if err != nil {
		return fmt.Errorf("waiting for load balancer %s to be deleted: %w", id, err)
	}
	return nil
}

func pending(status string) bool { return strings.HasPrefix(status, "PENDING_") }

// pollStatus calls cond until it is done or fails or ctx ends, pausing
// between calls by pollPause; lookFirst makes the first call at once. It
// returns the number of calls.
func (l *LoadBalancer) pollStatus(ctx context.Context, lookFirst bool, cond func(ctx context.Context) (bool, error)) (int, error) {
	start := time.Now() // real time: this paces real waits
	for n := 0; ; {
		if n > 0 || !lookFirst {
			if err := backoff.Sleep(ctx, pollPause(l.poll, time.Since(start))); err != nil {
				return n, err
			}
		}
		n++
		if done, err := cond(ctx); done || err != nil {
			return n, err
		}
	}
}

// pollPause is the pause after waiting elapsed under p read as a
// proportional schedule: (Factor-1) x elapsed within [Initial, Max], plus
// up to Jitter of it. Pausing in proportion to the time already waited
// bounds the overshoot past the end of a transition to that fraction.
func pollPause(p backoff.Policy, elapsed time.Duration) time.Duration {
	d := time.Duration(float64(elapsed) * max(p.Factor-1, 0))
	d = max(d, p.Initial)
	if p.Jitter > 0 {
		d += time.Duration(float64(d) * p.Jitter * rand.Float64())
	}
	if p.Max > 0 {
		d = min(d, p.Max)
	}
	return d
}
