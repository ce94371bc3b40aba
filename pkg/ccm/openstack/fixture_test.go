package openstack

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudproviderapi "k8s.io/cloud-provider/api"
	"k8s.io/klog/v2/ktesting"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// env is an OpenStack simulator served over real HTTP plus authenticated
// clients built from a cloud.conf, as the factory does.
type env struct {
	sim     *openstacksim.Sim
	srv     *httptest.Server
	cfg     *config.Config
	clients *client.Clients
	ctx     context.Context
}

// newEnv starts a simulator; extraConf is appended to the [Global] section
// of the cloud.conf.
func newEnv(t *testing.T, extraConf string) *env {
	t.Helper()
	sim, err := openstacksim.New(openstacksim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg, err := config.Parse("cloud.conf", []byte(cloudConf(srv.URL)+extraConf))
	if err != nil {
		t.Fatal(err)
	}
	_, ctx := ktesting.NewTestContext(t)
	clients, err := client.New(ctx, cfg, client.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: sim, srv: srv, cfg: cfg, clients: clients, ctx: ctx}
}

func cloudConf(url string) string {
	return openstacksim.CloudConf(url)
}

// provider builds a provider with a short cache age unless opts says
// otherwise.
func (e *env) provider(t *testing.T, opts Options) *Provider {
	t.Helper()
	if opts.CacheMaxAge == 0 {
		opts.CacheMaxAge = 200 * time.Millisecond
	}
	if opts.MinRefresh == 0 {
		opts.MinRefresh = 50 * time.Millisecond
	}
	p, err := NewProvider(e.ctx, e.cfg, e.clients, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) addServer(t *testing.T, sv openstacksim.Server) openstacksim.Server {
	t.Helper()
	out, err := e.sim.AddServer(sv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// count is the simulator's counter of an action (e.g. "nova.server_list").
func (e *env) count(action string) int64 { return e.sim.Controls().Count(action) }

// privateServer is a server with one fixed address on the seeded
// "private" network (10.0.0.0/24).
func privateServer(name, ip string) openstacksim.Server {
	return openstacksim.Server{Name: name, Addresses: map[string][]openstacksim.Address{"private": {{Addr: ip}}}}
}

// uninitializedNode is a Node as kubelet registers it with
// --cloud-provider=external.
func uninitializedNode(name, providerID string) *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.Now()},
		Spec: v1.NodeSpec{ProviderID: providerID, Taints: []v1.Taint{{
			Key: cloudproviderapi.TaintExternalCloudProvider, Value: "true", Effect: v1.TaintEffectNoSchedule}}},
	}
}

// eventually polls cond every 20ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
