package cinderdisk

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/limits"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// DefaultCapacityTTL is how long one answer of Cinder's limits API serves
// GetCapacity: the external-provisioner asks once per topology segment
// and storage class, and the quota is the project's, the same for all.
const DefaultCapacityTTL = 10 * time.Second

// UnlimitedCapacity is reported when the project's gigabytes quota is
// unlimited (-1). CSI has no "unknown" capacity, and 0 would make the
// scheduler's storage capacity check refuse every node.
const UnlimitedCapacity = int64(math.MaxInt64)

var _ backend.Capacity = (*Backend)(nil)

// GetCapacity implements backend.Capacity from the project's gigabytes
// quota (GET /v3/{project}/limits: maxTotalVolumeGigabytes minus
// totalGigabytesUsed, which counts volumes and snapshots). The quota is
// project-wide, so zone does not change the answer; per-type quotas
// (gigabytes_<type>, os-quota-sets) are not consulted. A "type" that the
// project does not have has no capacity.
func (b *Backend) GetCapacity(ctx context.Context, _ string, params backend.Parameters) (backend.CapacityInfo, error) {
	if t := params.Get(profile.CinderParamType); t != "" {
		err := b.types.check(ctx, t)
		switch {
		case errors.Is(err, backend.ErrInvalidArgument):
			klog.FromContext(ctx).V(4).Info("No capacity for an unknown volume type", "type", t)
			return backend.CapacityInfo{}, nil
		case err != nil:
			return backend.CapacityInfo{}, err
		}
	}
	abs, err := b.limits.get(ctx)
	if err != nil {
		return backend.CapacityInfo{}, apiError(err, "getting the Cinder limits of the project")
	}
	if abs.MaxTotalVolumeGigabytes < 0 {
		return backend.CapacityInfo{AvailableBytes: UnlimitedCapacity}, nil
	}
	free := int64(abs.MaxTotalVolumeGigabytes - abs.TotalGigabytesUsed)
	return backend.CapacityInfo{AvailableBytes: max(free, 0) * gib}, nil
}

// limitsCache keeps the absolute limits for a short TTL; one call fills
// it for all concurrent callers. Errors are not cached.
type limitsCache struct {
	block *gophercloud.ServiceClient
	ttl   time.Duration
	now   func() time.Time
	sem   chan struct{}

	mu      sync.Mutex
	abs     limits.Absolute
	fetched time.Time // zero = nothing cached
}

func newLimitsCache(block *gophercloud.ServiceClient, ttl time.Duration) *limitsCache {
	return &limitsCache{block: block, ttl: ttl, now: time.Now, sem: make(chan struct{}, 1)}
}

func (c *limitsCache) cached() (limits.Absolute, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.abs, !c.fetched.IsZero() && c.now().Sub(c.fetched) < c.ttl
}

func (c *limitsCache) get(ctx context.Context) (limits.Absolute, error) {
	if abs, ok := c.cached(); ok {
		return abs, nil
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return limits.Absolute{}, ctx.Err()
	}
	defer func() { <-c.sem }()
	if abs, ok := c.cached(); ok {
		return abs, nil // fetched while this caller waited
	}
	l, err := limits.Get(ctx, c.block).Extract()
	if err != nil {
		return limits.Absolute{}, err
	}
	if l == nil {
		return limits.Absolute{}, errors.New("cinder answered the limits request without limits")
	}
	c.mu.Lock()
	c.abs, c.fetched = l.Absolute, c.now()
	c.mu.Unlock()
	return l.Absolute, nil
}
