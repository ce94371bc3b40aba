// Package octavia implements the cloud-provider LoadBalancer interface for
// OpenStack on Octavia v2 and Neutron floating IPs, following the
// behaviour and annotations of cloud-provider-openstack (OCCM) with a
// fully-populated create, minimal diff updates and drift repair. A
// dual-stack Service gets one load balancer per IP family (dualstack.go).
package octavia

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// Options configures New.
type Options struct {
	// Clients are the authenticated OpenStack clients; LoadBalancer and
	// Network are required.
	Clients *client.Clients
	// Config is the [LoadBalancer] section of cloud.conf.
	Config config.LoadBalancer
	// Classes are the [LoadBalancerClass "name"] sections, picked by the
	// class annotation.
	Classes map[string]*config.LoadBalancerClass
	// ClusterName is the --cluster-name of the controller manager.
	ClusterName string
	// Events receives Warning events about Services; may be nil.
	Events record.EventRecorder
	// Services writes load-balancer-id and load-balancer-address back to
	// Services; may be nil (nothing is written).
	Services ServicePatcher
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// LoadBalancer implements cloudprovider.LoadBalancer on Octavia.
type LoadBalancer struct {
	clients  *client.Clients
	cfg      config.LoadBalancer
	classes  map[string]*config.LoadBalancerClass
	features providerFeatures
	// version is the Octavia API version, read on first use.
	version versionCache
	// subnetCIDRs caches member subnets' CIDRs for the security group
	// rules (Neutron cannot change a subnet's CIDR).
	subnetCIDRs cidrCache
	cluster     string
	events      record.EventRecorder
	services    ServicePatcher
	now         func() time.Time
	// poll and waitTimeout pace and bound waits for provisioning status
	// (tests shorten them).
	poll        backoff.Policy
	waitTimeout time.Duration
}

var _ cloudprovider.LoadBalancer = (*LoadBalancer)(nil)

// New checks opts and returns the Octavia load balancer implementation.
func New(opts Options) (*LoadBalancer, error) {
	if opts.Clients == nil {
		return nil, errors.New("octavia: Options.Clients is nil")
	}
	if opts.Clients.LoadBalancer == nil {
		if opts.Clients.LoadBalancerErr != nil {
			return nil, fmt.Errorf("octavia: no load-balancer client: %w", opts.Clients.LoadBalancerErr)
		}
		return nil, errors.New("octavia: the service catalog has no load-balancer (Octavia) endpoint")
	}
	if opts.Clients.Network == nil {
		return nil, errors.New("octavia: Options.Clients.Network is nil")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &LoadBalancer{
		clients:     opts.Clients,
		cfg:         opts.Config,
		classes:     opts.Classes,
		features:    featuresOf(opts.Config.LBProvider),
		cluster:     opts.ClusterName,
		events:      opts.Events,
		services:    opts.Services,
		now:         opts.Now,
		poll:        defaultPoll,
		waitTimeout: defaultWaitTimeout,
	}, nil
}

// GetLoadBalancer implements cloudprovider.LoadBalancer.
func (l *LoadBalancer) GetLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	return l.get(ctx, l.clusterOr(clusterName), svc)
}

// GetLoadBalancerName implements cloudprovider.LoadBalancer.
func (l *LoadBalancer) GetLoadBalancerName(_ context.Context, clusterName string, svc *v1.Service) string {
	return lbName(l.clusterOr(clusterName), svc)
}

// EnsureLoadBalancer implements cloudprovider.LoadBalancer.
func (l *LoadBalancer) EnsureLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	return l.ensure(ctx, l.clusterOr(clusterName), svc, nodes, true)
}

// UpdateLoadBalancer implements cloudprovider.LoadBalancer. It runs the
// same full comparison as EnsureLoadBalancer (so drift is repaired on node
// syncs too) but never creates a load balancer.
func (l *LoadBalancer) UpdateLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node) error {
	_, err := l.ensure(ctx, l.clusterOr(clusterName), svc, nodes, false)
	return err
}

// EnsureLoadBalancerDeleted implements cloudprovider.LoadBalancer.
func (l *LoadBalancer) EnsureLoadBalancerDeleted(ctx context.Context, clusterName string, svc *v1.Service) error {
	return l.ensureDeleted(ctx, l.clusterOr(clusterName), svc)
}

// clusterOr prefers the service controller's cluster name.
func (l *LoadBalancer) clusterOr(name string) string {
	if name != "" {
		return name
	}
	return l.cluster
}
