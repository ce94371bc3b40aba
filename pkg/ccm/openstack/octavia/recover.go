package octavia

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// A load balancer in provisioning status ERROR (a failed amphora, a
// provider fault) never becomes ACTIVE again by itself and rejects the
// writes that would repair it, so waiting fails forever. EnsureLoadBalancer
// replaces one that only this Service uses: the floating IP is detached
// and kept, the load balancer deleted, a new one created, and the same
// floating IP bound to it, with events saying so.

// planRecovery marks p's load balancer, if in ERROR, for replacement, or
// says why it cannot be replaced (reads only).
func (l *LoadBalancer) planRecovery(svc *v1.Service, p *lbPlan, allowCreate bool) error {
	lb := p.lb
	if lb == nil || lb.ProvisioningStatus != "ERROR" {
		return nil
	}
	switch others := otherUsers(lb, p.name); {
	case lb.Name != p.name || len(others) > 0:
		l.warn(svc, reasonErrored, "Load balancer %s is in provisioning status ERROR; it is shared or not created for this Service, so it is not replaced: repair or delete it in Octavia", lb.ID)
		return fmt.Errorf("load balancer %s: %w (shared or not ours: not replaced)", lb.ID, errLBError)
	case !allowCreate:
		return fmt.Errorf("load balancer %s: %w (the next EnsureLoadBalancer replaces it)", lb.ID, errLBError)
	}
	p.errored, p.lb = lb, nil
	return nil
}

// retire detaches the floating IPs of an errored load balancer (keeping
// them) and deletes it; it returns the address of the floating IP this
// Service had, for its replacement.
func (l *LoadBalancer) retire(ctx context.Context, cluster string, svc *v1.Service, lb *loadbalancers.LoadBalancer) (string, error) {
	logger := klog.FromContext(ctx)
	fips, err := l.fipsOn(ctx, floatingips.ListOpts{PortID: lb.VipPortID})
	if err != nil {
		return "", err
	}
	kept := ""
	for _, f := range fips {
		if err := l.releaseFIP(ctx, f, "", true); err != nil {
			return "", err
		}
		if kept == "" && f.Description == fipDescription(cluster, svc) {
			kept = f.FloatingIP
		}
	}
	l.warn(svc, reasonErrored, "Load balancer %s is in provisioning status ERROR: replacing it (floating IP %q kept)", lb.ID, kept)
	logger.Info("Replacing a load balancer in ERROR", "loadBalancerID", lb.ID, "floatingIP", kept)
	if err := l.deleteCascade(ctx, lb.ID); err != nil {
		return "", fmt.Errorf("deleting load balancer %s in ERROR: %w", lb.ID, err)
	}
	return kept, nil
}
