package octavia

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
)

// defaultPoll paces provisioning-status polls: quick first checks (most
// updates finish in seconds) backing off to 10 s; the context and
// defaultWaitTimeout bound the total.
var defaultPoll = backoff.Policy{Initial: 250 * time.Millisecond, Factor: 1.5, Max: 10 * time.Second, Jitter: 0.1}

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
	ctx, cancel := context.WithTimeout(ctx, l.waitTimeout)
	defer cancel()
	start := l.now()
	var lb *loadbalancers.LoadBalancer
	err := l.poll.Poll(ctx, func(ctx context.Context) (bool, error) {
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
	klog.FromContext(ctx).V(4).Info("Load balancer is ACTIVE", "loadBalancerID", id, "waited", l.now().Sub(start))
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
			_, err = l.waitActive(ctx, id)
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

// waitGone polls until the load balancer is deleted (404 or DELETED).
func (l *LoadBalancer) waitGone(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, l.waitTimeout)
	defer cancel()
	err := l.poll.Poll(ctx, func(ctx context.Context) (bool, error) {
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
