package octavia

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"k8s.io/klog/v2"
)

// reconciler compares the desired tree with Octavia's and writes only the
// differences, so that a no-op sync makes no write and anything changed
// behind our back (deleted member, listener, pool, monitor; edited field)
// is put back.
type reconciler struct {
	l         *LoadBalancer
	lbID      string
	name      string
	vipSubnet string // members without subnet_id live here
	writes    int
}

// ours says whether a child (by name) belongs to this Service. On a
// shared load balancer the others' children are never touched, even on
// the load balancer this Service created.
func (r *reconciler) ours(childName string) bool { return childOf(childName, r.name) }

func (r *reconciler) do(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	r.writes++
	return r.l.write(ctx, r.lbID, what, fn)
}

func (r *reconciler) run(ctx context.Context, want []listenerSpec, have *actualTree) error {
	c := r.l.clients.LoadBalancer
	used := map[string]bool{}
	cur := make([]*listeners.Listener, len(want))
	for i, ls := range want {
		for j := range have.listeners {
			a := &have.listeners[j]
			if used[a.ID] || a.ProtocolPort != ls.port {
				continue
			}
			if !r.ours(a.Name) {
				return &shareError{lbID: r.lbID, problem: fmt.Sprintf("port %d is used by listener %s (%s) of another Service", ls.port, a.ID, a.Name)}
			}
			if a.Protocol == ls.protocol {
				cur[i], used[a.ID] = a, true
				break
			}
		}
	}
	keepPools := map[string]bool{}
	for _, a := range cur {
		if a != nil {
			if p := have.poolOf(*a); p != nil {
				keepPools[p.pool.ID] = true
			}
		}
	}
	// Remove what is no longer wanted first: it frees ports for new listeners.
	for _, p := range have.pools {
		if keepPools[p.pool.ID] || !r.ours(p.pool.Name) {
			continue
		}
		id := p.pool.ID
		if err := r.do(ctx, "delete pool "+p.pool.Name, func(ctx context.Context) error { return pools.Delete(ctx, c, id).ExtractErr() }); err != nil {
			return err
		}
	}
	for _, a := range have.listeners {
		if used[a.ID] || !r.ours(a.Name) {
			continue
		}
		id := a.ID
		if err := r.do(ctx, "delete listener "+a.Name, func(ctx context.Context) error { return listeners.Delete(ctx, c, id).ExtractErr() }); err != nil {
			return err
		}
	}
	for i, ls := range want {
		if cur[i] == nil {
			if err := r.createListener(ctx, ls); err != nil {
				return err
			}
			continue
		}
		if err := r.updateListener(ctx, ls, *cur[i]); err != nil {
			return err
		}
		if err := r.reconcilePool(ctx, cur[i].ID, ls.pool, have.poolOf(*cur[i])); err != nil {
			return err
		}
	}
	return nil
}

// createListener adds a listener and its pool tree one call at a time:
// Octavia accepts nested children only in a load balancer create.
func (r *reconciler) createListener(ctx context.Context, ls listenerSpec) error {
	var id string
	err := r.do(ctx, "create listener "+ls.name, func(ctx context.Context) error {
		li, err := listeners.Create(ctx, r.l.clients.LoadBalancer, listenerCreateOpts(ls, r.lbID)).Extract()
		if err == nil {
			id = li.ID
		}
		return err
	})
	if err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Created listener", "loadBalancerID", r.lbID, "listener", ls.name, "port", ls.port)
	return r.reconcilePool(ctx, id, ls.pool, nil)
}

func (r *reconciler) updateListener(ctx context.Context, ls listenerSpec, a listeners.Listener) error {
	var o listeners.UpdateOpts
	var changed []string
	if a.Name != ls.name {
		o.Name, changed = &ls.name, append(changed, "name")
	}
	if a.ConnLimit != ls.connLimit {
		o.ConnLimit, changed = &ls.connLimit, append(changed, "connection_limit")
	}
	if !maps.Equal(nonNil(a.InsertHeaders), nonNil(ls.insertHeaders)) {
		h := nonNil(ls.insertHeaders)
		o.InsertHeaders, changed = &h, append(changed, "insert_headers")
	}
	if ls.tlsRef != "" && a.DefaultTlsContainerRef != ls.tlsRef {
		ref := ls.tlsRef
		o.DefaultTlsContainerRef, changed = &ref, append(changed, "default_tls_container_ref")
	}
	if tcpBased(ls.protocol) && !ls.noTimeouts {
		t := ls.timeouts
		if a.TimeoutClientData != t.clientData || a.TimeoutMemberConnect != t.memberConnect ||
			a.TimeoutMemberData != t.memberData || a.TimeoutTCPInspect != t.tcpInspect {
			o.TimeoutClientData, o.TimeoutMemberConnect = &t.clientData, &t.memberConnect
			o.TimeoutMemberData, o.TimeoutTCPInspect = &t.memberData, &t.tcpInspect
			changed = append(changed, "timeouts")
		}
	}
	if !sameSet(a.AllowedCIDRs, ls.cidrs) {
		cidrs := slices.Clone(ls.cidrs)
		o.AllowedCIDRs, changed = &cidrs, append(changed, "allowed_cidrs")
	}
	if len(changed) == 0 {
		return nil
	}
	klog.FromContext(ctx).Info("Updating listener", "loadBalancerID", r.lbID, "listener", ls.name, "fields", changed)
	return r.do(ctx, "update listener "+ls.name, func(ctx context.Context) error {
		return listeners.Update(ctx, r.l.clients.LoadBalancer, a.ID, o).Err
	})
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}
