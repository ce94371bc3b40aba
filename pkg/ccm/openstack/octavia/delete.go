package octavia

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// ensureDeleted deletes the Service's load balancers: the second IP
// family's (looked up even for a single-stack Service, which may have
// been dual-stack) and the primary one.
func (l *LoadBalancer) ensureDeleted(ctx context.Context, cluster string, svc *v1.Service) error {
	logger := klog.FromContext(ctx).WithValues("service", klog.KObj(svc))
	ctx = klog.NewContext(ctx, logger)
	a := &annotations{m: svc.Annotations}
	keep := a.boolean(AnnKeepFloatingIP, false)
	if a.err != nil {
		// Deleting must not be blocked by a bad value: err on keeping the IP.
		l.reportInvalid(svc, a.err)
		keep = true
	}
	name := lbName(cluster, svc)
	secName := secondaryName(name, otherFamily(primaryFamily(svc)))
	sec, err := l.findLB(ctx, secName, "")
	if err != nil {
		return err
	}
	if sec != nil {
		if err := l.deleteLB(ctx, cluster, svc, secName, sec, keep); err != nil {
			return err
		}
	}
	lb, err := l.findLB(ctx, name, a.str(AnnLoadBalancerID, ""))
	if err != nil {
		return err
	}
	if lb != nil {
		if err := l.deleteLB(ctx, cluster, svc, name, lb, keep); err != nil {
			return err
		}
	}
	// Also when manage-security-groups was turned off since: nothing of
	// the Service stays behind.
	return l.deleteSecurityGroup(ctx, svc)
}

// deleteLB removes the Service (named name) from load balancer lb. While
// other Services use lb, or when lb is not one a Service created (a
// user's, adopted by load-balancer-id), only this Service's listeners and
// pools and its tag go. Otherwise this is the last Service: the floating
// IPs a Service of this cluster created are released (unless keep;
// others are only detached) and the load balancer is deleted.
func (l *LoadBalancer) deleteLB(ctx context.Context, cluster string, svc *v1.Service, name string, lb *loadbalancers.LoadBalancer, keep bool) error {
	logger := klog.FromContext(ctx).WithValues("loadBalancer", name)
	ctx = klog.NewContext(ctx, logger)
	if pending(lb.ProvisioningStatus) {
		got, err := l.waitActive(ctx, lb.ID)
		if err != nil && got == nil {
			return err
		}
		lb = got
	}
	if others := otherUsers(lb, name); len(others) > 0 || !strings.HasPrefix(lb.Name, namePrefix) {
		logger.Info("Load balancer is shared or not ours, deleting only this Service's listeners", "loadBalancerID", lb.ID, "otherServices", others)
		have, err := l.readTree(ctx, lb.ID)
		if err != nil {
			return err
		}
		r := &reconciler{l: l, lbID: lb.ID, name: name}
		if err := r.run(ctx, nil, have); err != nil {
			return err
		}
		return l.leaveShared(ctx, lb, name)
	}
	fips, err := l.fipsOn(ctx, floatingips.ListOpts{PortID: lb.VipPortID})
	if err != nil {
		return err
	}
	ours := fipDescription(cluster, svc)
	for _, f := range fips {
		if lb.Name != name && createdFIP(f.Description, cluster) {
			// The Service that created it left first.
			ours = f.Description
		}
		if err := l.releaseFIP(ctx, f, ours, keep); err != nil {
			return err
		}
	}
	if l.cfg.CascadeDelete {
		return l.deleteCascade(ctx, lb.ID)
	}
	return l.deleteSerial(ctx, lb.ID, name)
}

// deleteCascade deletes the load balancer with all children in one call
// and waits until it is gone.
func (l *LoadBalancer) deleteCascade(ctx context.Context, id string) error {
	err := loadbalancers.Delete(ctx, l.clients.LoadBalancer, id, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr()
	if isStatus(err, http.StatusConflict) {
		if _, werr := l.waitActive(ctx, id); werr != nil {
			return werr
		}
		err = loadbalancers.Delete(ctx, l.clients.LoadBalancer, id, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr()
	}
	if isStatus(err, http.StatusNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete load balancer %s: %w", id, err)
	}
	klog.FromContext(ctx).Info("Deleting load balancer", "loadBalancerID", id, "cascade", true)
	return l.waitGone(ctx, id)
}

// deleteSerial removes pools, listeners, then the load balancer
// ([LoadBalancer] cascade-delete=false).
func (l *LoadBalancer) deleteSerial(ctx context.Context, id, name string) error {
	have, err := l.readTree(ctx, id)
	if err != nil {
		return err
	}
	c := l.clients.LoadBalancer
	r := &reconciler{l: l, lbID: id, name: name}
	for _, p := range have.pools {
		pid := p.pool.ID
		if err := r.do(ctx, "delete pool "+p.pool.Name, func(ctx context.Context) error { return pools.Delete(ctx, c, pid).ExtractErr() }); err != nil {
			return err
		}
	}
	for _, li := range have.listeners {
		lid := li.ID
		if err := r.do(ctx, "delete listener "+li.Name, func(ctx context.Context) error { return listeners.Delete(ctx, c, lid).ExtractErr() }); err != nil {
			return err
		}
	}
	if err := loadbalancers.Delete(ctx, c, id, loadbalancers.DeleteOpts{}).ExtractErr(); err != nil && !isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("delete load balancer %s: %w", id, err)
	}
	return l.waitGone(ctx, id)
}
