// Package openstack is the "openstack" k8s.io/cloud-provider
// implementation, compatible with the cloud.conf and node identity of the
// upstream openstack-cloud-controller-manager (OCCM): InstancesV2 (node
// identity, addresses, zone, shutdown/existence) served from one shared
// server snapshot, Routes on a Neutron router, and a pluggable
// LoadBalancer (Octavia, in the octavia subpackage).
package openstack

import (
	"context"
	"errors"
	"fmt"
	"github.com/kumo-project/kumo/pkg/cloudmetrics"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/ccm/openstack/octavia"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// ProviderName is the --cloud-provider name.
const ProviderName = "openstack"

// eventComponent is the source component of the provider's own events.
const eventComponent = "openstack-cloud-provider"

// Defaults of Options.
const (
	DefaultCacheMaxAge   = 30 * time.Second
	DefaultMinRefresh    = 5 * time.Second
	factoryClientTimeout = 2 * time.Minute
)

// EnvRegional, when "true", makes the provider write regional providerIDs
// (openstack://<region>/<id>), like OCCM's OS_CCM_REGIONAL.
const EnvRegional = "OS_CCM_REGIONAL"

// LoadBalancerFactory builds the LoadBalancer implementation (Octavia).
type LoadBalancerFactory func(clients *client.Clients, cfg *config.Config, events record.EventRecorder, services octavia.ServicePatcher) (cloudprovider.LoadBalancer, error)

// Options tunes NewProvider.
type Options struct {
	// CacheMaxAge is how long one server/port listing serves all nodes
	// (default DefaultCacheMaxAge).
	CacheMaxAge time.Duration
	// MinRefresh is the minimum spacing of refreshes forced by lookup
	// misses (default DefaultMinRefresh, capped at CacheMaxAge).
	MinRefresh time.Duration
	// RegionalProviderID writes openstack://<region>/<id> providerIDs.
	RegionalProviderID bool
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Register registers the provider with k8s.io/cloud-provider under
// ProviderName. The CCM main calls it (there is no init()); rec (may be
// nil) records every OpenStack API request.
func Register(rec *cloudmetrics.Recorder) {
	cloudprovider.RegisterCloudProvider(ProviderName, func(r io.Reader) (cloudprovider.Interface, error) {
		return factory(r, defaultLoadBalancerFactory(), rec)
	})
}

// factory parses the --cloud-config file and authenticates.
func factory(r io.Reader, lb LoadBalancerFactory, rec *cloudmetrics.Recorder) (cloudprovider.Interface, error) {
	if r == nil {
		return nil, errors.New("openstack: --cloud-config is required (OCCM cloud.conf format)")
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("openstack: reading cloud config: %w", err)
	}
	cfg, err := config.Parse("cloud.conf", data)
	if err != nil {
		return nil, fmt.Errorf("openstack: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), factoryClientTimeout)
	defer cancel()
	logger := klog.FromContext(ctx)
	for _, w := range cfg.Warnings {
		logger.Info("WARNING: cloud config", "warning", w)
	}
	clients, err := client.New(ctx, cfg, client.Options{Metrics: rec})
	if err != nil {
		return nil, fmt.Errorf("openstack: %w", err)
	}
	regional, _ := strconv.ParseBool(os.Getenv(EnvRegional))
	return NewProvider(ctx, cfg, clients, Options{RegionalProviderID: regional}, lb)
}

// Provider implements cloudprovider.Interface.
type Provider struct {
	cfg     *config.Config
	clients *client.Clients
	opts    Options
	cache   *serverCache
	routes  *routes // nil when [Route] router-id is unset or unsupported
	lb      cloudprovider.LoadBalancer
	events  *eventForwarder
	// services writes load-balancer-id/-address back to Services.
	services *servicePatcher

	listerMu   sync.RWMutex
	nodeLister corelisters.NodeLister
}

var (
	_ cloudprovider.Interface    = (*Provider)(nil)
	_ cloudprovider.InformerUser = (*Provider)(nil)
)

// NewProvider builds the provider on authenticated clients. When
// [Route] router-id is set it checks (one call) that Neutron offers the
// extraroute extension. lbFactory may be nil (no LoadBalancer).
func NewProvider(ctx context.Context, cfg *config.Config, clients *client.Clients, opts Options, lbFactory LoadBalancerFactory) (*Provider, error) {
	if cfg == nil || clients == nil || clients.Compute == nil || clients.Network == nil {
		return nil, errors.New("openstack: NewProvider needs a config and compute and network clients")
	}
	if opts.CacheMaxAge <= 0 {
		opts.CacheMaxAge = DefaultCacheMaxAge
	}
	if opts.MinRefresh <= 0 {
		opts.MinRefresh = DefaultMinRefresh
	}
	opts.MinRefresh = min(opts.MinRefresh, opts.CacheMaxAge)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &Provider{cfg: cfg, clients: clients, opts: opts, events: &eventForwarder{}, services: &servicePatcher{}}
	p.cache = newServerCache(clients.Compute, clients.Network, opts.CacheMaxAge, opts.MinRefresh, opts.Now)
	logger := klog.FromContext(ctx)
	if id := cfg.Route.RouterID; id != "" {
		rt, err := newRoutes(ctx, p, id)
		if err != nil {
			return nil, err
		}
		p.routes = rt
	}
	lb, err := p.buildLoadBalancer(logger, lbFactory)
	if err != nil {
		return nil, err
	}
	p.lb = lb
	return p, nil
}

func (p *Provider) now() time.Time { return p.opts.Now() }

// Initialize builds the event recorder from the controller client builder.
// The broadcaster stops with stop.
func (p *Provider) Initialize(clientBuilder cloudprovider.ControllerClientBuilder, stop <-chan struct{}) {
	if clientBuilder == nil {
		return
	}
	c, err := clientBuilder.Client(eventComponent)
	if err != nil {
		klog.Background().Error(err, "Cannot build a Kubernetes client; provider events are disabled")
		return
	}
	b := record.NewBroadcaster()
	b.StartStructuredLogging(0)
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.CoreV1().Events("")})
	p.SetEventRecorder(b.NewRecorder(scheme.Scheme, v1.EventSource{Component: eventComponent}))
	p.services.set(c)
	go func() {
		<-stop
		b.Shutdown()
	}()
}

// SetEventRecorder sets where the provider (and its load balancer) record
// events; Initialize builds one, tests may inject a fake.
func (p *Provider) SetEventRecorder(r record.EventRecorder) { p.events.set(r) }

// SetInformers keeps the Node lister: Routes maps router next hops back to
// node names with it.
func (p *Provider) SetInformers(f informers.SharedInformerFactory) {
	l := f.Core().V1().Nodes().Lister()
	p.listerMu.Lock()
	p.nodeLister = l
	p.listerMu.Unlock()
}

func (p *Provider) lister() corelisters.NodeLister {
	p.listerMu.RLock()
	defer p.listerMu.RUnlock()
	return p.nodeLister
}

// Instances (v1) is not supported: InstancesV2 is.
func (p *Provider) Instances() (cloudprovider.Instances, bool) { return nil, false }

// InstancesV2 is supported.
func (p *Provider) InstancesV2() (cloudprovider.InstancesV2, bool) { return p, true }

// Zones is not needed with InstancesV2.
func (p *Provider) Zones() (cloudprovider.Zones, bool) { return nil, false }

// Clusters is not supported.
func (p *Provider) Clusters() (cloudprovider.Clusters, bool) { return nil, false }

// Routes is supported when [Route] router-id is set and Neutron has the
// extraroute extension.
func (p *Provider) Routes() (cloudprovider.Routes, bool) {
	if p.routes == nil {
		return nil, false
	}
	return p.routes, true
}

// ProviderName returns "openstack".
func (p *Provider) ProviderName() string { return ProviderName }

// HasClusterID is true: load balancer names include the cluster name.
func (p *Provider) HasClusterID() bool { return true }
