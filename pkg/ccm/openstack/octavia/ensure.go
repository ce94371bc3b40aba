package octavia

import (
	"context"
	"errors"
	"sync"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// ensure validates the Service (no cloud call on invalid input), plans
// its load balancers, one per IP family (reads only), then creates each
// missing one in one fully-populated call or reconciles the existing
// tree, and finally its floating IP. A load balancer of a family the
// Service dropped is deleted.
func (l *LoadBalancer) ensure(ctx context.Context, cluster string, svc *v1.Service, nodes []*v1.Node, allowCreate bool) (*v1.LoadBalancerStatus, error) {
	sc, err := l.parseService(svc)
	if err != nil {
		l.reportInvalid(svc, err)
		return nil, err
	}
	ds, err := parseDualStack(svc, sc)
	if err != nil {
		l.reportInvalid(svc, err)
		return nil, err
	}
	if sc, ds, err = l.fitAPI(ctx, svc, sc, ds); err != nil {
		return nil, err
	}
	name := lbName(cluster, svc)
	logger := klog.FromContext(ctx).WithValues("service", klog.KObj(svc))
	ctx = klog.NewContext(ctx, logger)
	nodes = l.servingNodes(svc, sc, nodes)

	plans, stale, err := l.plan(ctx, svc, name, sc, ds, nodes, allowCreate)
	if err != nil {
		l.reportRef(svc, err)
		return nil, err
	}
	// The families' load balancers are independent: applying them at once
	// halves the time spent waiting for Octavia to settle each write.
	sts := make([]*v1.LoadBalancerStatus, len(plans))
	errs := make([]error, len(plans))
	var wg sync.WaitGroup
	for i, p := range plans {
		wg.Go(func() { sts[i], errs[i] = l.apply(ctx, cluster, svc, nodes, p) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		// A floating network or member subnet first needed by this sync
		// (existing load balancer) is checked just before its write.
		l.reportRef(svc, err)
		return nil, err
	}
	var st *v1.LoadBalancerStatus
	for _, one := range sts {
		st = mergeStatus(st, one)
	}
	l.writeBack(ctx, svc, plans[0].lb.ID, st)
	if stale != nil {
		logger.Info("Service no longer has this IP family; deleting its load balancer", "family", otherFamily(sc.family), "loadBalancer", stale.Name, "loadBalancerID", stale.ID)
		if err := l.deleteLB(ctx, cluster, svc, stale.Name, stale, sc.keepFIP); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// apply creates or reconciles one planned load balancer and its floating
// IP and returns its ingress.
func (l *LoadBalancer) apply(ctx context.Context, cluster string, svc *v1.Service, nodes []*v1.Node, p *lbPlan) (*v1.LoadBalancerStatus, error) {
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("loadBalancer", p.name, "family", p.sc.family))
	lb := p.lb
	var err error
	fipSC := p.sc
	if p.errored != nil {
		kept, err := l.retire(ctx, cluster, svc, p.errored)
		if err != nil {
			return nil, err
		}
		if kept != "" && p.sc.loadBalancerIP == "" {
			// The replacement gets the address the Service had.
			c := *p.sc
			c.loadBalancerIP = kept
			fipSC = &c
		}
	}
	if lb == nil {
		tree := desiredTree(p.name, svc, p.sc, nodes, orDefault(p.sc.memberSubnetID, p.vip.subnetID))
		if lb, err = l.createLB(ctx, p.name, lbDescription(cluster, svc), p.sc, p.vip, tree); err != nil {
			return nil, err
		}
	} else {
		l.warnImmutable(svc, p.sc, lb)
		if err := l.reconcileLB(ctx, p.name, svc, p.sc, nodes, lb); err != nil {
			return nil, err
		}
	}
	var fip string
	switch {
	case p.sc.family == v1.IPv6Protocol:
		// Neutron floating IPs are IPv4: an IPv6 VIP is routable itself.
	case lb.Name == p.name:
		fip, err = l.ensureFIP(ctx, svc, fipSC, cluster, lb.VipPortID, p.fip)
	default:
		// An adopted load balancer's floating IP is its owner's business.
		fip, err = l.boundFIP(ctx, lb.VipPortID)
	}
	if err != nil {
		return nil, err
	}
	p.lb = lb
	if l.cfg.ManageSecurityGroups && p.sc.family == primaryFamily(svc) {
		if err := l.ensureSecurityGroup(ctx, cluster, svc, p.sc, nodes, orDefault(p.sc.memberSubnetID, lb.VipSubnetID)); err != nil {
			return nil, err
		}
	}
	return l.status(p.sc, lb.VipAddress, fip), nil
}

// boundFIP is the address of the first floating IP on port ("" none).
func (l *LoadBalancer) boundFIP(ctx context.Context, port string) (string, error) {
	fips, err := l.fipsOn(ctx, floatingips.ListOpts{PortID: port})
	if err != nil || len(fips) == 0 {
		return "", err
	}
	return fips[0].FloatingIP, nil
}

// reconcileLB brings an existing load balancer's tree to the desired one.
func (l *LoadBalancer) reconcileLB(ctx context.Context, name string, svc *v1.Service, sc *svcConfig, nodes []*v1.Node, lb *loadbalancers.LoadBalancer) error {
	if lb.ProvisioningStatus != "ACTIVE" {
		// Never write while PENDING_*; an ERROR load balancer cannot be
		// changed either and is reported.
		if _, err := l.waitActive(ctx, lb.ID); err != nil {
			return err
		}
	}
	if sc.noTags == "" {
		if err := l.joinShared(ctx, lb, name); err != nil {
			return err
		}
	}
	have, err := l.readTree(ctx, lb.ID)
	if err != nil {
		return err
	}
	want := desiredTree(name, svc, sc, nodes, orDefault(sc.memberSubnetID, lb.VipSubnetID))
	if memberSubnetChanged(sc, want, have) {
		// Members are about to move to a subnet this load balancer does
		// not use yet: make sure it exists before the batch updates.
		if err := l.checkSubnet(ctx, sc); err != nil {
			return err
		}
	}
	if tlsRefNew(sc, have) {
		// A certificate first used by this sync is checked before the write.
		if err := l.checkTLS(ctx, sc); err != nil {
			return err
		}
	}
	r := &reconciler{l: l, lbID: lb.ID, name: name, vipSubnet: lb.VipSubnetID}
	if err := r.run(ctx, want, have); err != nil {
		return err
	}
	klog.FromContext(ctx).V(2).Info("Load balancer reconciled", "loadBalancerID", lb.ID, "writes", r.writes)
	return nil
}

// get returns the status of the Service's load balancers, if any: it
// exists while either family's does (primary first in the ingress).
func (l *LoadBalancer) get(ctx context.Context, cluster string, svc *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	a := &annotations{m: svc.Annotations}
	name := lbName(cluster, svc)
	fam := primaryFamily(svc)
	prim, err := l.findLB(ctx, name, a.str(AnnLoadBalancerID, ""))
	if err != nil {
		return nil, false, err
	}
	var sec *loadbalancers.LoadBalancer
	if len(svc.Spec.IPFamilies) > 1 || prim == nil || mayHaveSecondary(svc, fam) {
		if sec, err = l.findLB(ctx, secondaryName(name, otherFamily(fam)), ""); err != nil {
			return nil, prim != nil, err
		}
	}
	if prim == nil && sec == nil {
		return nil, false, nil
	}
	sc, err := l.parseService(svc)
	if err != nil {
		// Report what exists even if the Service's annotations are now bad.
		sc = &svcConfig{hostname: a.str(AnnHostname, ""), family: fam}
	}
	var st *v1.LoadBalancerStatus
	for _, lb := range []*loadbalancers.LoadBalancer{prim, sec} {
		if lb == nil {
			continue
		}
		c := *sc
		c.family = familyOf(lb.VipAddress)
		var fip string
		if c.family != v1.IPv6Protocol {
			if fip, err = l.boundFIP(ctx, lb.VipPortID); err != nil {
				return nil, true, err
			}
		}
		st = mergeStatus(st, l.status(&c, lb.VipAddress, fip))
	}
	return st, true, nil
}

// memberSubnetChanged reports whether the desired members go to a
// member-subnet-id that no current member is on yet.
func memberSubnetChanged(sc *svcConfig, want []listenerSpec, have *actualTree) bool {
	if sc.memberSubnetID == "" {
		return false
	}
	for _, p := range have.pools {
		for _, m := range p.members {
			if m.SubnetID == sc.memberSubnetID {
				return false
			}
		}
	}
	for _, ls := range want {
		if len(ls.pool.members) > 0 {
			return true
		}
	}
	return false
}
