package octavia

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// ensure validates the Service (no cloud call on invalid input), then
// creates the load balancer in one fully-populated call or reconciles the
// existing tree, and finally the floating IP.
func (l *LoadBalancer) ensure(ctx context.Context, cluster string, svc *v1.Service, nodes []*v1.Node, allowCreate bool) (*v1.LoadBalancerStatus, error) {
	sc, err := l.parseService(svc)
	if err != nil {
		l.reportInvalid(svc, err)
		return nil, err
	}
	name := lbName(cluster, svc)
	logger := klog.FromContext(ctx).WithValues("service", klog.KObj(svc), "loadBalancer", name)
	ctx = klog.NewContext(ctx, logger)

	lb, err := l.findLB(ctx, name, sc.lbID)
	if err != nil {
		return nil, err
	}
	if lb == nil {
		if sc.lbID != "" {
			return nil, fmt.Errorf("load balancer %s given by annotation %s does not exist", sc.lbID, AnnLoadBalancerID)
		}
		if !allowCreate {
			return nil, fmt.Errorf("load balancer %s does not exist", name)
		}
		vip, err := l.resolveVIP(ctx, sc, nodes)
		if err != nil {
			return nil, err
		}
		tree := desiredTree(name, svc, sc, nodes, orDefault(sc.memberSubnetID, vip.subnetID))
		if lb, err = l.createLB(ctx, name, lbDescription(cluster, svc), sc, vip, tree); err != nil {
			return nil, err
		}
	} else if err := l.reconcileLB(ctx, name, svc, sc, nodes, lb); err != nil {
		return nil, err
	}
	var fip string
	if lb.Name == name {
		fip, err = l.ensureFIP(ctx, svc, sc, cluster, lb.VipPortID)
	} else {
		// An adopted load balancer's floating IP is its owner's business.
		fip, err = l.boundFIP(ctx, lb.VipPortID)
	}
	if err != nil {
		return nil, err
	}
	return l.status(sc, lb.VipAddress, fip), nil
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
	have, err := l.readTree(ctx, lb.ID)
	if err != nil {
		return err
	}
	want := desiredTree(name, svc, sc, nodes, orDefault(sc.memberSubnetID, lb.VipSubnetID))
	r := &reconciler{l: l, lbID: lb.ID, name: name, owned: lb.Name == name, vipSubnet: lb.VipSubnetID}
	if err := r.run(ctx, want, have); err != nil {
		return err
	}
	klog.FromContext(ctx).V(2).Info("Load balancer reconciled", "loadBalancerID", lb.ID, "writes", r.writes)
	return nil
}

// get returns the status of the Service's load balancer, if any.
func (l *LoadBalancer) get(ctx context.Context, cluster string, svc *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	a := &annotations{m: svc.Annotations}
	lb, err := l.findLB(ctx, lbName(cluster, svc), a.str(AnnLoadBalancerID, ""))
	if err != nil || lb == nil {
		return nil, false, err
	}
	sc, err := l.parseService(svc)
	if err != nil {
		// Report what exists even if the Service's annotations are now bad.
		sc = &svcConfig{hostname: a.str(AnnHostname, "")}
	}
	fip, err := l.boundFIP(ctx, lb.VipPortID)
	if err != nil {
		return nil, true, err
	}
	return l.status(sc, lb.VipAddress, fip), true, nil
}
