package octavia

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"k8s.io/klog/v2"
)

// Shared load balancers (OCCM's model): a Service names another one's
// load balancer with the load-balancer-id annotation. Every Service using
// a load balancer carries its name (kube_service_<cluster>_<ns>_<name>)
// as a tag on it, so that whoever deletes last knows it is last: the load
// balancer goes only with its last Service, whichever that is.

// shareError says that a Service cannot join a shared load balancer; it
// is reported as a Warning event naming the annotation.
type shareError struct {
	lbID, problem string
}

func (e *shareError) Error() string {
	return fmt.Sprintf("load balancer %s given by %s cannot be shared: %s", e.lbID, AnnLoadBalancerID, e.problem)
}

// users are the Services recorded on lb: its kube_service_ tags, and for
// a load balancer created without tags (old OCCM, Octavia < 2.5) the
// Service it is named after.
func users(lb *loadbalancers.LoadBalancer) []string {
	var out []string
	for _, t := range lb.Tags {
		if strings.HasPrefix(t, namePrefix) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 && strings.HasPrefix(lb.Name, namePrefix) {
		out = append(out, lb.Name)
	}
	return out
}

// otherUsers are the users of lb other than the Service named name.
func otherUsers(lb *loadbalancers.LoadBalancer, name string) []string {
	return slices.DeleteFunc(users(lb), func(u string) bool { return u == name })
}

// checkShare verifies, reads only, that the Service named name may use
// lb: a load balancer it does not own takes at most max-shared-lb
// Services, and an internal Service cannot share a public one (nor the
// other way round), since the floating IP belongs to the owner.
func (l *LoadBalancer) checkShare(lb *loadbalancers.LoadBalancer, name string, sc *svcConfig, hasFIP bool) error {
	if lb.Name == name || slices.Contains(users(lb), name) {
		return nil
	}
	if sc.noTags != "" {
		// Without tags nothing records who else uses it: the first
		// Service deleted would take the load balancer with it.
		return &shareError{lbID: lb.ID, problem: "each Service of a shared load balancer is recorded in its tags, and " + sc.noTags}
	}
	max := l.cfg.MaxSharedLB
	if max <= 0 {
		max = 2
	}
	if n := len(users(lb)); n+1 > max {
		return &shareError{lbID: lb.ID, problem: fmt.Sprintf("it already serves %d Services and [LoadBalancer] max-shared-lb is %d", n, max)}
	}
	if sc.internal && hasFIP {
		return &shareError{lbID: lb.ID, problem: "the Service is internal but the load balancer has a floating IP"}
	}
	return nil
}

// joinShared records the Service named name on lb (a tag), keeping the
// tags of the others; no write when it is there already. An untagged
// load balancer's owner is recorded too, or it would stop counting as a
// user once tags exist.
func (l *LoadBalancer) joinShared(ctx context.Context, lb *loadbalancers.LoadBalancer, name string) error {
	tags := slices.Clone(lb.Tags)
	for _, u := range append(users(lb), name) {
		if !slices.Contains(tags, u) {
			tags = append(tags, u)
		}
	}
	if len(tags) == len(lb.Tags) {
		return nil
	}
	klog.FromContext(ctx).Info("Recording the Service on its load balancer", "loadBalancerID", lb.ID, "tags", tags)
	if err := l.setTags(ctx, lb.ID, tags); err != nil {
		return err
	}
	lb.Tags = tags
	return nil
}

// leaveShared removes the Service named name from lb's tags.
func (l *LoadBalancer) leaveShared(ctx context.Context, lb *loadbalancers.LoadBalancer, name string) error {
	if !slices.Contains(lb.Tags, name) {
		return nil
	}
	tags := slices.DeleteFunc(slices.Clone(lb.Tags), func(t string) bool { return t == name })
	klog.FromContext(ctx).Info("Removing the Service from its shared load balancer", "loadBalancerID", lb.ID, "tags", tags)
	return l.setTags(ctx, lb.ID, tags)
}

func (l *LoadBalancer) setTags(ctx context.Context, id string, tags []string) error {
	if tags == nil {
		tags = []string{}
	}
	return l.write(ctx, id, "update load balancer tags", func(ctx context.Context) error {
		return loadbalancers.Update(ctx, l.clients.LoadBalancer, id, loadbalancers.UpdateOpts{Tags: &tags}).Err
	})
}

// createdFIP says whether a floating IP description is one this
// controller (or OCCM) gave a floating IP it created for a Service of
// cluster: the last Service of a shared load balancer releases it even
// when another Service created it.
func createdFIP(desc, cluster string) bool {
	return strings.HasPrefix(desc, "Floating IP for Kubernetes external service ") &&
		strings.HasSuffix(desc, " from cluster "+cluster)
}
