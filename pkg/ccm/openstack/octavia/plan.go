package octavia

import (
	"context"
	"fmt"
	"net/netip"
	"sort"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// lbPlan is one load balancer of a Service (one per IP family): the one
// that exists, or where the VIP of the one to create goes.
type lbPlan struct {
	name string
	sc   *svcConfig
	lb   *loadbalancers.LoadBalancer // nil: create at vip
	vip  vipTarget
	// Set by checkRefs for a load balancer to create: the VIP's network
	// ("" unknown yet) and where its floating IP goes (nil: none needed).
	vipNetwork string
	fip        *fipTarget
	// errored is a load balancer of this name in ERROR that apply deletes
	// before creating its replacement (recover.go).
	errored *loadbalancers.LoadBalancer
}

// plan looks up (reads only) the Service's load balancers and decides
// where missing ones go, so that a Service that cannot be served as asked
// causes no cloud write at all. stale is a load balancer of a family the
// Service no longer has, to be deleted.
func (l *LoadBalancer) plan(ctx context.Context, svc *v1.Service, name string, sc *svcConfig, ds dualStack, nodes []*v1.Node, allowCreate bool) (plans []*lbPlan, stale *loadbalancers.LoadBalancer, err error) {
	prim := &lbPlan{name: name, sc: sc}
	if prim.lb, err = l.findLB(ctx, name, sc.lbID); err != nil {
		return nil, nil, err
	}
	if err := l.planRecovery(svc, prim, allowCreate); err != nil {
		return nil, nil, err
	}
	if prim.lb != nil && prim.lb.Name != name {
		if err := l.checkAdopted(ctx, prim.lb, name, sc); err != nil {
			return nil, nil, err
		}
	}
	if prim.lb == nil {
		if sc.lbID != "" && prim.errored == nil {
			return nil, nil, &refError{key: AnnLoadBalancerID, kind: "load balancer", id: sc.lbID, problem: "does not exist"}
		}
		if !allowCreate {
			return nil, nil, fmt.Errorf("load balancer %s does not exist", name)
		}
		if prim.vip, err = l.resolveVIP(ctx, sc, nodes); err != nil {
			return nil, nil, err
		}
		if err = l.checkRefs(ctx, prim); err != nil {
			return nil, nil, err
		}
	}
	plans = []*lbPlan{prim}
	secName := secondaryName(name, otherFamily(sc.family))
	if ds.secondary == nil {
		if mayHaveSecondary(svc, sc.family) {
			stale, err = l.findLB(ctx, secName, "")
		}
		return plans, stale, err
	}
	sec := &lbPlan{name: secName, sc: ds.secondary}
	if sec.lb, err = l.findLB(ctx, secName, ""); err != nil {
		return nil, nil, err
	}
	if err := l.planRecovery(svc, sec, allowCreate); err != nil {
		return nil, nil, err
	}
	if sec.lb != nil {
		return append(plans, sec), nil, nil
	}
	if !allowCreate {
		// UpdateLoadBalancer only maintains; the next EnsureLoadBalancer
		// creates it (or reports why it cannot).
		klog.FromContext(ctx).V(2).Info("No load balancer for the second IP family yet", "loadBalancer", secName)
		return plans, nil, nil
	}
	netID, err := l.primaryNetwork(ctx, prim)
	if err != nil {
		return nil, nil, err
	}
	subnet, err := l.familySubnet(ctx, netID, sec.sc.family, nodes)
	if err != nil {
		return nil, nil, err
	}
	if subnet == "" {
		if ds.require {
			l.warn(svc, reasonDualStack, "Network %s has no %s subnet: ipFamilyPolicy RequireDualStack cannot be met; nothing was changed", netID, sec.sc.family)
			return nil, nil, errNoSecondarySubnet(sec.sc.family, netID)
		}
		l.warn(svc, reasonDualStack, "Network %s has no %s subnet: serving %s only (ipFamilyPolicy PreferDualStack)", netID, sec.sc.family, sc.family)
		return plans, nil, nil
	}
	sec.vip = vipTarget{subnetID: subnet}
	sec.vipNetwork = netID
	if err := l.checkRefs(ctx, sec); err != nil {
		return nil, nil, err
	}
	return append(plans, sec), nil, nil
}

// checkAdopted checks that the Service may share the load balancer its
// load-balancer-id names (reads only).
func (l *LoadBalancer) checkAdopted(ctx context.Context, lb *loadbalancers.LoadBalancer, name string, sc *svcConfig) error {
	hasFIP := false
	if sc.internal {
		fip, err := l.boundFIP(ctx, lb.VipPortID)
		if err != nil {
			return err
		}
		hasFIP = fip != ""
	}
	return l.checkShare(lb, name, sc, hasFIP)
}

// primaryNetwork is the network of the primary VIP, where the second
// family's VIP goes too.
func (l *LoadBalancer) primaryNetwork(ctx context.Context, p *lbPlan) (string, error) {
	subnetID := p.vip.subnetID
	switch {
	case p.vipNetwork != "":
		return p.vipNetwork, nil
	case p.lb != nil && p.lb.VipNetworkID != "":
		return p.lb.VipNetworkID, nil
	case p.lb != nil:
		subnetID = p.lb.VipSubnetID
	case p.vip.networkID != "":
		return p.vip.networkID, nil
	case p.vip.portID != "":
		port, err := ports.Get(ctx, l.clients.Network, p.vip.portID).Extract()
		if err != nil {
			return "", fmt.Errorf("get VIP port %s (annotation %s): %w", p.vip.portID, AnnPortID, err)
		}
		return port.NetworkID, nil
	}
	sub, err := subnets.Get(ctx, l.clients.Network, subnetID).Extract()
	if err != nil {
		return "", fmt.Errorf("get VIP subnet %s: %w", subnetID, err)
	}
	return sub.NetworkID, nil
}

// familySubnet picks the subnet of family on network netID: the one
// holding a node address of that family, else the first by ID; "" when
// the network has none.
func (l *LoadBalancer) familySubnet(ctx context.Context, netID string, fam v1.IPFamily, nodes []*v1.Node) (string, error) {
	version := 4
	if fam == v1.IPv6Protocol {
		version = 6
	}
	pages, err := subnets.List(l.clients.Network, subnets.ListOpts{NetworkID: netID, IPVersion: version}).AllPages(ctx)
	if err != nil {
		return "", fmt.Errorf("list %s subnets of network %s: %w", fam, netID, err)
	}
	subs, err := subnets.ExtractSubnets(pages)
	if err != nil {
		return "", fmt.Errorf("list %s subnets of network %s: %w", fam, netID, err)
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].ID < subs[j].ID })
	for _, n := range nodes {
		addr, err := netip.ParseAddr(nodeAddress(n, fam))
		if err != nil {
			continue
		}
		for _, s := range subs {
			if p, err := netip.ParsePrefix(s.CIDR); err == nil && s.IPVersion == version && p.Contains(addr) {
				return s.ID, nil
			}
		}
	}
	for _, s := range subs {
		if s.IPVersion == version {
			return s.ID, nil
		}
	}
	return "", nil
}
