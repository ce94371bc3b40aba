package octavia

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
)

// actualTree is what Octavia holds under one load balancer.
type actualTree struct {
	listeners []listeners.Listener
	pools     map[string]*actualPool // by pool ID
}

type actualPool struct {
	pool    pools.Pool
	members []pools.Member
	monitor *monitors.Monitor
}

// findLB returns the Service's load balancer: by the load-balancer-id
// annotation when set, else by name. nil means there is none. An ID that
// no longer exists falls back to the name: the ID written back for a load
// balancer that was since replaced (recover.go) must not orphan the
// replacement.
func (l *LoadBalancer) findLB(ctx context.Context, name, id string) (*loadbalancers.LoadBalancer, error) {
	c := l.clients.LoadBalancer
	if id != "" {
		lb, err := loadbalancers.Get(ctx, c, id).Extract()
		if isStatus(err, http.StatusNotFound) {
			return l.findLB(ctx, name, "")
		}
		if err != nil {
			return nil, fmt.Errorf("get load balancer %s (annotation %s): %w", id, AnnLoadBalancerID, err)
		}
		if lb.ProvisioningStatus == "DELETED" || lb.ProvisioningStatus == "PENDING_DELETE" {
			return nil, nil
		}
		return lb, nil
	}
	pages, err := loadbalancers.List(c, loadbalancers.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list load balancers named %s: %w", name, err)
	}
	all, err := loadbalancers.ExtractLoadBalancers(pages)
	if err != nil {
		return nil, fmt.Errorf("list load balancers named %s: %w", name, err)
	}
	var found []loadbalancers.LoadBalancer
	for _, lb := range all {
		if lb.Name == name && lb.ProvisioningStatus != "DELETED" && lb.ProvisioningStatus != "PENDING_DELETE" {
			found = append(found, lb)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	}
	return nil, fmt.Errorf("%d load balancers are named %s; set annotation %s to pick one", len(found), name, AnnLoadBalancerID)
}

// readTree lists listeners and pools of the load balancer and, per pool,
// its members and monitor: 2 + 2×pools GETs.
func (l *LoadBalancer) readTree(ctx context.Context, lbID string) (*actualTree, error) {
	c := l.clients.LoadBalancer
	lp, err := listeners.List(c, listeners.ListOpts{LoadbalancerID: lbID}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list listeners of load balancer %s: %w", lbID, err)
	}
	t := &actualTree{pools: map[string]*actualPool{}}
	if t.listeners, err = listeners.ExtractListeners(lp); err != nil {
		return nil, fmt.Errorf("list listeners of load balancer %s: %w", lbID, err)
	}
	pp, err := pools.List(c, pools.ListOpts{LoadbalancerID: lbID}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list pools of load balancer %s: %w", lbID, err)
	}
	ps, err := pools.ExtractPools(pp)
	if err != nil {
		return nil, fmt.Errorf("list pools of load balancer %s: %w", lbID, err)
	}
	for _, p := range ps {
		ap := &actualPool{pool: p}
		mp, err := pools.ListMembers(c, p.ID, pools.ListMembersOpts{}).AllPages(ctx)
		if err != nil {
			return nil, fmt.Errorf("list members of pool %s: %w", p.ID, err)
		}
		if ap.members, err = pools.ExtractMembers(mp); err != nil {
			return nil, fmt.Errorf("list members of pool %s: %w", p.ID, err)
		}
		if p.MonitorID != "" {
			m, err := monitors.Get(ctx, c, p.MonitorID).Extract()
			switch {
			case isStatus(err, http.StatusNotFound):
			case err != nil:
				return nil, fmt.Errorf("get health monitor %s: %w", p.MonitorID, err)
			default:
				ap.monitor = m
			}
		}
		t.pools[p.ID] = ap
	}
	return t, nil
}

// poolOf is the pool serving listener li (its default pool).
func (t *actualTree) poolOf(li listeners.Listener) *actualPool {
	if p := t.pools[li.DefaultPoolID]; p != nil {
		return p
	}
	for _, p := range t.pools {
		for _, ref := range p.pool.Listeners {
			if ref.ID == li.ID {
				return p
			}
		}
	}
	return nil
}
