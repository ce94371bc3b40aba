package nifcloud

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// waitELB polls until the elastic load balancer is available (NIFCLOUD
// refuses changes while one is being applied) and returns its fresh
// description. It honours ctx and ProviderConfig.ELBWaitTimeout.
func (p *Provider) waitELB(ctx context.Context, name string) (*nifcloud.ElasticLoadBalancerDescription, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ELBWaitTimeout)
	defer cancel()
	// Changes take a while to apply: an immediate describe is wasted.
	if err := backoff.Sleep(ctx, p.cfg.PollPolicy.Initial); err != nil {
		return nil, fmt.Errorf("waiting for elastic load balancer %q: %w", name, err)
	}
	var out *nifcloud.ElasticLoadBalancerDescription
	polls := 0
	err := p.cfg.PollPolicy.Poll(ctx, func(ctx context.Context) (bool, error) {
		polls++
		d, err := p.describeELB(ctx, name)
		if err != nil {
			return false, err
		}
		if d == nil {
			return false, fmt.Errorf("elastic load balancer %q disappeared", name)
		}
		out = d
		return d.State == nifcloud.ELBStateAvailable, nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for elastic load balancer %q to become %s: %w", name, nifcloud.ELBStateAvailable, err)
	}
	klog.FromContext(ctx).V(4).Info("Elastic load balancer available", "polls", polls)
	return out, nil
}

// waitSG polls until the security group's changes are applied. It honours
// ctx and ProviderConfig.SGWaitTimeout.
func (p *Provider) waitSG(ctx context.Context, group string) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.SGWaitTimeout)
	defer cancel()
	if err := backoff.Sleep(ctx, p.cfg.PollPolicy.Initial); err != nil {
		return fmt.Errorf("waiting for security group %q: %w", group, err)
	}
	err := p.cfg.PollPolicy.Poll(ctx, func(ctx context.Context) (bool, error) {
		out, err := p.api.DescribeSecurityGroups(ctx, &nifcloud.DescribeSecurityGroupsInput{GroupNames: []string{group}})
		if err != nil {
			return false, err
		}
		for _, g := range out.SecurityGroups {
			if g.GroupName == group {
				return g.GroupStatus == nifcloud.SecurityGroupApplied, nil
			}
		}
		return false, fmt.Errorf("security group %q disappeared", group)
	})
	if err != nil {
		return fmt.Errorf("waiting for security group %q to be %s: %w", group, nifcloud.SecurityGroupApplied, err)
	}
	return nil
}
