package openstack

import (
	"fmt"

	"k8s.io/client-go/tools/record"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/ccm/openstack/octavia"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// defaultLoadBalancerFactory is the LoadBalancer implementation Register()
// uses: Octavia. The cluster name comes from the service controller on
// every call, so none is fixed here.
func defaultLoadBalancerFactory() LoadBalancerFactory {
	return func(clients *client.Clients, cfg *config.Config, events record.EventRecorder, services octavia.ServicePatcher) (cloudprovider.LoadBalancer, error) {
		return octavia.New(octavia.Options{Clients: clients, Config: cfg.LoadBalancer, Classes: cfg.LoadBalancerClasses, Events: events, Services: services})
	}
}

// buildLoadBalancer builds the LoadBalancer unless there is no factory,
// [LoadBalancer] enabled=false, or no usable load-balancer endpoint (the
// latter is logged: OCCM exits instead, we keep serving nodes and routes).
func (p *Provider) buildLoadBalancer(logger klog.Logger, f LoadBalancerFactory) (cloudprovider.LoadBalancer, error) {
	switch {
	case f == nil:
		return nil, nil
	case !p.cfg.LoadBalancer.Enabled:
		logger.Info("Load balancers disabled by [LoadBalancer] enabled=false")
		return nil, nil
	case p.clients.LoadBalancer == nil:
		logger.Info("WARNING: no usable load-balancer (Octavia) endpoint; Services of type LoadBalancer will not be served", "err", p.clients.LoadBalancerErr)
		return nil, nil
	}
	lb, err := f(p.clients, p.cfg, p.events, p.services)
	if err != nil {
		return nil, fmt.Errorf("openstack: building the load balancer: %w", err)
	}
	return lb, nil
}

// LoadBalancer is supported once a LoadBalancerFactory is set and Octavia
// is reachable.
func (p *Provider) LoadBalancer() (cloudprovider.LoadBalancer, bool) {
	if p.lb == nil {
		return nil, false
	}
	return p.lb, true
}
