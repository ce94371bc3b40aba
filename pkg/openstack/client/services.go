package client

import (
	"context"
	"fmt"
	"slices"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// Service names an OpenStack service whose client New can build.
type Service string

// Services New knows.
const (
	ServiceCompute      Service = "compute"
	ServiceNetwork      Service = "network"
	ServiceBlockStorage Service = "block-storage"
	ServiceLoadBalancer Service = "load-balancer"
)

// AllServices are the services New builds when Options.Services is nil.
func AllServices() []Service {
	return []Service{ServiceCompute, ServiceNetwork, ServiceBlockStorage, ServiceLoadBalancer}
}

// CSIServices are the services the Cinder CSI driver talks to: Nova for
// attachments and Cinder for volumes (Keystone is always used).
func CSIServices() []Service {
	return []Service{ServiceCompute, ServiceBlockStorage}
}

// checkServices refuses names New does not know, before any request.
func checkServices(services []Service) error {
	for _, s := range services {
		if !slices.Contains(AllServices(), s) {
			return fmt.Errorf("openstack client: unknown service %q", s)
		}
	}
	return nil
}

// buildServices fills the service clients of c that services asks for
// (nil: all) from the token's catalog. Compute, network and block storage
// are required once asked for; a missing load-balancer endpoint only
// leaves LoadBalancer nil.
func (c *Clients) buildServices(ctx context.Context, g *config.Global, services []Service) error {
	if services == nil {
		services = AllServices()
	}
	want := func(s Service) bool { return slices.Contains(services, s) }
	eo := gophercloud.EndpointOpts{Region: g.Region, Availability: gophercloud.Availability(endpointType(g))}
	var err error
	if want(ServiceCompute) {
		if c.Compute, err = openstack.NewComputeV2(c.Provider, eo); err != nil {
			return endpointErr("compute", eo, err)
		}
	}
	if want(ServiceNetwork) {
		if c.Network, err = openstack.NewNetworkV2(c.Provider, eo); err != nil {
			return endpointErr("network", eo, err)
		}
	}
	if want(ServiceBlockStorage) {
		if c.BlockStorage, err = openstack.NewBlockStorageV3(c.Provider, eo); err != nil {
			return endpointErr("block-storage (volumev3)", eo, err)
		}
	}
	if !want(ServiceLoadBalancer) {
		return nil
	}
	logger := klog.FromContext(ctx)
	// Barbican holds the TLS certificates of terminated HTTPS listeners;
	// without it only container-store = external works.
	if km, err := openstack.NewKeyManagerV1(c.Provider, eo); err == nil {
		c.KeyManager = km
	} else {
		logger.V(2).Info("No usable key-manager (Barbican) endpoint in the service catalog", "err", err)
	}
	lb, err := openstack.NewLoadBalancerV2(c.Provider, eo)
	switch {
	case err == nil:
		c.LoadBalancer = lb
	case isEndpointNotFound(err):
		logger.V(2).Info("No load-balancer (Octavia) endpoint in the service catalog", "region", g.Region, "interface", eo.Availability)
	default:
		c.LoadBalancerErr = endpointErr("load-balancer", eo, err)
		logger.Info("WARNING: load-balancer (Octavia) endpoint unusable", "err", c.LoadBalancerErr)
	}
	return nil
}
