package octavia

import (
	"context"
	"slices"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"k8s.io/klog/v2"
)

// reconcilePool makes the pool of listener listenerID match ps: fields by
// PUT, the member set by one batch update, the monitor by create, PUT or
// delete. A pool of the wrong protocol cannot be changed and is replaced.
func (r *reconciler) reconcilePool(ctx context.Context, listenerID string, ps poolSpec, ap *actualPool) error {
	c := r.l.clients.LoadBalancer
	logger := klog.FromContext(ctx)
	if ap != nil && ap.pool.Protocol != ps.protocol {
		id := ap.pool.ID
		if err := r.do(ctx, "delete pool "+ap.pool.Name, func(ctx context.Context) error { return pools.Delete(ctx, c, id).ExtractErr() }); err != nil {
			return err
		}
		ap = nil
	}
	if ap == nil {
		var created *pools.Pool
		err := r.do(ctx, "create pool "+ps.name, func(ctx context.Context) error {
			p, err := pools.Create(ctx, c, poolCreateOpts(ps, listenerID)).Extract()
			created = p
			return err
		})
		if err != nil {
			return err
		}
		logger.Info("Created pool", "loadBalancerID", r.lbID, "pool", ps.name)
		ap = &actualPool{pool: *created}
	} else if err := r.updatePool(ctx, ps, ap.pool); err != nil {
		return err
	}
	if err := r.syncMembers(ctx, ps, ap); err != nil {
		return err
	}
	return r.syncMonitor(ctx, ps, ap)
}

func (r *reconciler) updatePool(ctx context.Context, ps poolSpec, p pools.Pool) error {
	var o pools.UpdateOpts
	var changed []string
	if p.Name != ps.name {
		o.Name, changed = &ps.name, append(changed, "name")
	}
	if p.LBMethod != ps.method {
		o.LBMethod, changed = pools.LBMethod(ps.method), append(changed, "lb_algorithm")
	}
	if p.Persistence.Type != ps.persistence {
		// An empty struct is sent as null, which removes persistence.
		o.Persistence, changed = &pools.SessionPersistence{Type: ps.persistence}, append(changed, "session_persistence")
	}
	if len(changed) == 0 {
		return nil
	}
	klog.FromContext(ctx).Info("Updating pool", "loadBalancerID", r.lbID, "pool", ps.name, "fields", changed)
	return r.do(ctx, "update pool "+ps.name, func(ctx context.Context) error {
		return pools.Update(ctx, r.l.clients.LoadBalancer, p.ID, o).Err
	})
}

// syncMembers replaces the member set with one batch update (202) when any
// member differs; Octavia keeps unchanged members in place.
func (r *reconciler) syncMembers(ctx context.Context, ps poolSpec, ap *actualPool) error {
	var want, have []string
	for _, m := range ps.members {
		if m.subnetID == "" {
			m.subnetID = r.vipSubnet
		}
		want = append(want, m.key())
	}
	for _, m := range ap.members {
		ms := memberSpec{name: m.Name, address: m.Address, port: m.ProtocolPort, subnetID: m.SubnetID, monitorPort: m.MonitorPort}
		if ms.subnetID == "" {
			ms.subnetID = r.vipSubnet
		}
		have = append(have, ms.key())
	}
	slices.Sort(want)
	slices.Sort(have)
	if slices.Equal(want, have) {
		return nil
	}
	opts := make([]pools.BatchUpdateMemberOpts, 0, len(ps.members))
	for _, m := range ps.members {
		opts = append(opts, memberBatchOpts(m))
	}
	klog.FromContext(ctx).Info("Updating pool members", "loadBalancerID", r.lbID, "pool", ps.name, "members", len(opts), "before", len(ap.members))
	id := ap.pool.ID
	return r.do(ctx, "update members of pool "+ps.name, func(ctx context.Context) error {
		return pools.BatchUpdateMembers(ctx, r.l.clients.LoadBalancer, id, opts).ExtractErr()
	})
}

func (r *reconciler) syncMonitor(ctx context.Context, ps poolSpec, ap *actualPool) error {
	c := r.l.clients.LoadBalancer
	cur, want := ap.monitor, ps.monitor
	if cur != nil && (want == nil || cur.Type != want.typ) {
		id := cur.ID
		if err := r.do(ctx, "delete health monitor "+cur.Name, func(ctx context.Context) error { return monitors.Delete(ctx, c, id).ExtractErr() }); err != nil {
			return err
		}
		cur = nil
	}
	if want == nil {
		return nil
	}
	if cur == nil {
		o := monitorCreateOpts(*want, ap.pool.ID)
		return r.do(ctx, "create health monitor "+want.name, func(ctx context.Context) error { return monitors.Create(ctx, c, o).Err })
	}
	if cur.Name == want.name && cur.Delay == want.delay && cur.Timeout == want.timeout && cur.MaxRetries == want.retries &&
		cur.MaxRetriesDown == want.retriesDn && cur.URLPath == want.urlPath && cur.HTTPMethod == want.httpMethod && cur.ExpectedCodes == want.codes {
		return nil
	}
	name := want.name
	o := monitors.UpdateOpts{Name: &name, Delay: want.delay, Timeout: want.timeout, MaxRetries: want.retries,
		MaxRetriesDown: want.retriesDn, URLPath: want.urlPath, HTTPMethod: want.httpMethod, ExpectedCodes: want.codes}
	id := cur.ID
	return r.do(ctx, "update health monitor "+want.name, func(ctx context.Context) error { return monitors.Update(ctx, c, id, o).Err })
}
