// Package nifcloud is the "nifcloud" k8s.io/cloud-provider implementation:
// InstancesV2 (node identity, addresses, zone, shutdown/existence) and
// LoadBalancer (L4 "lb" and elastic "elb" load balancers for Services of
// type LoadBalancer). It talks to NIFCLOUD only through nifcloud.API.
package nifcloud

import (
	"errors"
	"fmt"
	"io"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/cloudmetrics"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// ProviderName is the --cloud-provider name.
const ProviderName = "nifcloud"

// eventComponent is the source component of the events the provider records.
const eventComponent = "nifcloud-cloud-provider"

// Register registers the provider with k8s.io/cloud-provider under
// ProviderName. The CCM main calls it (there is no init()).
//
// rec (may be nil) records every NIFCLOUD API call.
func Register(rec *cloudmetrics.Recorder) {
	cloudprovider.RegisterCloudProvider(ProviderName, func(r io.Reader) (cloudprovider.Interface, error) {
		return factory(r, rec)
	})
}

// factory builds a provider from the --cloud-config file (nil when not
// given) and the environment.
func factory(r io.Reader, rec *cloudmetrics.Recorder) (cloudprovider.Interface, error) {
	cc, err := LoadCloudConfig(r, nil)
	if err != nil {
		return nil, err
	}
	cc.API.Metrics = rec
	api, err := nifcloud.New(cc.API)
	if err != nil {
		return nil, err
	}
	return NewProvider(api, cc.Provider)
}

// Provider implements cloudprovider.Interface, InstancesV2 and LoadBalancer.
type Provider struct {
	api       nifcloud.API
	cfg       ProviderConfig
	instances *instanceCache

	// sgMu serialises security group changes: the groups are shared by all
	// services and a group refuses changes while it is being applied.
	sgMu sync.Mutex

	recMu    sync.RWMutex
	recorder record.EventRecorder
}

var (
	_ cloudprovider.Interface    = (*Provider)(nil)
	_ cloudprovider.InstancesV2  = (*Provider)(nil)
	_ cloudprovider.LoadBalancer = (*Provider)(nil)
)

// NewProvider builds a provider on api. cfg.Region is required (it is the
// nodes' region label).
func NewProvider(api nifcloud.API, cfg ProviderConfig) (*Provider, error) {
	if api == nil {
		return nil, errors.New("nifcloud: NewProvider: nil API")
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("nifcloud: NewProvider: missing region (set %s)", nifcloud.EnvRegion)
	}
	cfg = cfg.withDefaults()
	return &Provider{
		api:       api,
		cfg:       cfg,
		instances: newInstanceCache(api, cfg.InstanceCacheMaxAge, cfg.Now),
	}, nil
}

// SetEventRecorder sets the recorder used for the provider's own Warning
// events on Services (Initialize builds one; tests may inject a fake).
func (p *Provider) SetEventRecorder(r record.EventRecorder) {
	p.recMu.Lock()
	p.recorder = r
	p.recMu.Unlock()
}

// Initialize builds the event recorder from the controller client builder.
// The broadcaster stops with stop.
func (p *Provider) Initialize(clientBuilder cloudprovider.ControllerClientBuilder, stop <-chan struct{}) {
	if clientBuilder == nil {
		return
	}
	client, err := clientBuilder.Client(eventComponent)
	if err != nil {
		klog.Background().Error(err, "Cannot build a Kubernetes client; provider events are disabled")
		return
	}
	b := record.NewBroadcaster()
	b.StartStructuredLogging(0)
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	p.SetEventRecorder(b.NewRecorder(scheme.Scheme, v1.EventSource{Component: eventComponent}))
	go func() {
		<-stop
		b.Shutdown()
	}()
}

// LoadBalancer is supported.
func (p *Provider) LoadBalancer() (cloudprovider.LoadBalancer, bool) { return p, true }

// Instances (v1) is not: InstancesV2 is.
func (p *Provider) Instances() (cloudprovider.Instances, bool) { return nil, false }

// InstancesV2 is supported.
func (p *Provider) InstancesV2() (cloudprovider.InstancesV2, bool) { return p, true }

// Zones is not needed with InstancesV2.
func (p *Provider) Zones() (cloudprovider.Zones, bool) { return nil, false }

// Clusters is not supported.
func (p *Provider) Clusters() (cloudprovider.Clusters, bool) { return nil, false }

// Routes is not supported.
func (p *Provider) Routes() (cloudprovider.Routes, bool) { return nil, false }

// ProviderName returns "nifcloud".
func (p *Provider) ProviderName() string { return ProviderName }

// HasClusterID is true: load balancer names derive from Service UIDs.
func (p *Provider) HasClusterID() bool { return true }
