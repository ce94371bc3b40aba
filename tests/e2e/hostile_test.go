package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// hostileCase is one cloud's part of hostileCloudScenario.
type hostileCase struct {
	base, admin string // simulator URL and admin prefix
	// extraSecrets are values that must not reach an Event even though
	// they are not credentials by themselves (the NIFCLOUD access key ID).
	extraSecrets []string
	cleanedUp    func(ctx context.Context) (bool, error)
}

// hostileCloudScenario makes the cloud answer every call with an error
// that echoes the request — headers (X-Auth-Token), query (NIFCLOUD's
// AccessKeyId and Signature) and body — as a compromised or buggy endpoint
// might. The CCM's Warning events must say the call failed without
// carrying any of it; once the cloud behaves again the Service gets its
// load balancer, and deleting it leaves nothing behind. The env's
// secrets scan then covers every log, Event and attach error.
func hostileCloudScenario(t *testing.T, e *env, hc hostileCase) {
	c := e.cp.Client.CoreV1()
	const name = "hostile-lb"
	setHostile := func(cfg simcore.HostileConfig) {
		t.Helper()
		if err := e.sim.Admin(e.ctx, http.MethodPut, hc.base, hc.admin+"hostile", cfg, nil); err != nil {
			t.Fatal(err)
		}
	}
	setHostile(simcore.HostileConfig{Rates: map[string]float64{simcore.HostileEcho: 1}})
	cleared := false
	clear := func() {
		if !cleared {
			setHostile(simcore.HostileConfig{})
			cleared = true
		}
	}
	defer clear()

	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1.ServiceSpec{
			Type:     v1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports:    []v1.ServicePort{{Name: "http", Port: 8080, Protocol: v1.ProtocolTCP}},
		},
	}
	if _, err := c.Services("default").Create(e.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	forbidden := append(append([]string{"Signature="}, e.secrets...), hc.extraSecrets...)
	var warning string
	e.eventually("a Warning event for the failed sync", 90*time.Second, func(ctx context.Context) (bool, error) {
		evs, err := c.Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
		if err != nil {
			return false, err
		}
		for _, ev := range evs.Items {
			if ev.Type == v1.EventTypeWarning && ev.Reason == "SyncLoadBalancerFailed" {
				warning = ev.Message
				return true, nil
			}
		}
		return false, fmt.Errorf("%d events, none a SyncLoadBalancerFailed warning", len(evs.Items))
	})
	for _, s := range append(forbidden, e.sim.Tokens(e.ctx)...) {
		if strings.Contains(warning, s) {
			t.Errorf("the Warning event carries a secret (%d chars starting %q): %s", len(s), s[:3], warning)
		}
	}
	if !strings.Contains(warning, "400") {
		t.Errorf("the Warning event does not say what failed (HTTP 400): %q", warning)
	}
	t.Logf("Warning event while the cloud echoed requests: %s", warning)

	clear()
	e.eventually("load balancer created once the cloud behaves", 120*time.Second, func(ctx context.Context) (bool, error) {
		s, err := c.Services("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(s.Status.LoadBalancer.Ingress) == 1, fmt.Errorf("ingress %v", s.Status.LoadBalancer.Ingress)
	})
	if err := c.Services("default").Delete(e.ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("Service and its load balancer deleted", 90*time.Second, func(ctx context.Context) (bool, error) {
		_, err := c.Services("default").Get(ctx, name, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("service still there (%v)", err)
		}
		return hc.cleanedUp(ctx)
	})
}
