package openstack

import (
	"context"
	"errors"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/kumo-project/kumo/pkg/ccm/openstack/octavia"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// TestRegisterAndFactory goes through the cloud-provider registry with a
// cloud.conf, authenticating against the simulator.
func TestRegisterAndFactory(t *testing.T) {
	e := newEnv(t, "")
	// Register once per process (a second registration is fatal), e.g.
	// with -count=2: a registered provider fails on the nil config.
	if _, err := cloudprovider.GetCloudProvider(ProviderName, nil); err == nil {
		Register(nil)
	}
	cloud, err := cloudprovider.GetCloudProvider(ProviderName, strings.NewReader(cloudConf(e.srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	if cloud.ProviderName() != "openstack" || !cloud.HasClusterID() {
		t.Errorf("name %q, HasClusterID %v", cloud.ProviderName(), cloud.HasClusterID())
	}
	if _, ok := cloud.InstancesV2(); !ok {
		t.Error("InstancesV2 not supported")
	}
	// Register wires Octavia in; the simulator's catalog has it.
	if _, ok := cloud.LoadBalancer(); !ok {
		t.Error("LoadBalancer not supported through Register")
	}
	for name, ok := range map[string]bool{"Routes": second(cloud.Routes()),
		"Instances": second(cloud.Instances()), "Zones": second(cloud.Zones()), "Clusters": second(cloud.Clusters())} {
		if ok {
			t.Errorf("%s supported, want not (no router-id)", name)
		}
	}

	if _, err := factory(nil, nil, nil); err == nil || !strings.Contains(err.Error(), "--cloud-config") {
		t.Errorf("nil config err = %v", err)
	}
	bad := cloudConf(e.srv.URL) + "\n[LoadBalancer]\nmonitor-delay = 5x\n"
	if _, err := factory(strings.NewReader(bad), nil, nil); err == nil || !strings.Contains(err.Error(), "monitor-delay") {
		t.Errorf("bad config err = %v, want it to name monitor-delay", err)
	}
	wrong := strings.Replace(cloudConf(e.srv.URL), "password = secret", "password = wrong", 1)
	if _, err := factory(strings.NewReader(wrong), nil, nil); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Errorf("bad password err = %v (must fail without echoing the password)", err)
	}
}

func second[T any](_ T, ok bool) bool { return ok }

// fakeLB records what the LoadBalancerFactory hook hands over.
type fakeLB struct {
	cloudprovider.LoadBalancer
	events   record.EventRecorder
	services octavia.ServicePatcher
}

func TestLoadBalancerFactoryHook(t *testing.T) {
	e := newEnv(t, "")
	var got *fakeLB
	f := func(c *client.Clients, cfg *config.Config, ev record.EventRecorder, sp octavia.ServicePatcher) (cloudprovider.LoadBalancer, error) {
		if c != e.clients || cfg != e.cfg {
			t.Error("factory got other clients or config")
		}
		got = &fakeLB{events: ev, services: sp}
		return got, nil
	}
	p, err := NewProvider(e.ctx, e.cfg, e.clients, Options{}, f)
	if err != nil {
		t.Fatal(err)
	}
	lb, ok := p.LoadBalancer()
	if !ok || lb != got {
		t.Fatalf("LoadBalancer() = %v, %v", lb, ok)
	}
	// Events recorded by the LB before and after a recorder is set.
	svc := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default"}}
	got.events.Eventf(svc, v1.EventTypeWarning, "Dropped", "before %d", 1)
	rec := record.NewFakeRecorder(4)
	p.SetEventRecorder(rec)
	got.events.Eventf(svc, v1.EventTypeWarning, "LoadBalancerForcedInternal", "no floating network %s", "x")
	if n := len(rec.Events); n != 1 {
		t.Fatalf("%d events recorded, want 1", n)
	}
	if ev := <-rec.Events; ev != "Warning LoadBalancerForcedInternal no floating network x" {
		t.Errorf("event = %q", ev)
	}

	// Annotations reach the Service once Initialize has a client.
	ann := map[string]string{octavia.AnnLoadBalancerID: "lb-1"}
	if err := got.services.PatchAnnotations(e.ctx, "default", "s", ann); err == nil {
		t.Error("patch before Initialize succeeded")
	}
	kc := fake.NewClientset(svc)
	stop := make(chan struct{})
	defer close(stop)
	p.Initialize(clientBuilder{kc}, stop)
	if err := got.services.PatchAnnotations(e.ctx, "default", "s", ann); err != nil {
		t.Fatal(err)
	}
	if s, err := kc.CoreV1().Services("default").Get(e.ctx, "s", metav1.GetOptions{}); err != nil || s.Annotations[octavia.AnnLoadBalancerID] != "lb-1" {
		t.Fatalf("Service after patch: %v %v", s, err)
	}

	e.cfg.LoadBalancer.Enabled = false
	if p, err := NewProvider(e.ctx, e.cfg, e.clients, Options{}, f); err != nil || second(p.LoadBalancer()) {
		t.Errorf("enabled=false: LoadBalancer supported (%v)", err)
	}
	e.cfg.LoadBalancer.Enabled = true
	failing := func(*client.Clients, *config.Config, record.EventRecorder, octavia.ServicePatcher) (cloudprovider.LoadBalancer, error) {
		return nil, errors.New("boom")
	}
	if _, err := NewProvider(context.Background(), e.cfg, e.clients, Options{}, failing); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing factory err = %v", err)
	}
}

// clientBuilder hands out one clientset for every controller.
type clientBuilder struct{ c kubernetes.Interface }

func (b clientBuilder) Config(string) (*restclient.Config, error)   { return &restclient.Config{}, nil }
func (b clientBuilder) ConfigOrDie(string) *restclient.Config       { return &restclient.Config{} }
func (b clientBuilder) Client(string) (kubernetes.Interface, error) { return b.c, nil }
func (b clientBuilder) ClientOrDie(string) kubernetes.Interface     { return b.c }
