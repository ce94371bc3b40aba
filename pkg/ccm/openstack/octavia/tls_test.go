package octavia

import (
	"strings"
	"testing"
)

func TestTLSTerminationWithABarbicanCertificate(t *testing.T) {
	e := newEnv(t, "")
	id, err := e.sim.AddTLSContainer("web-cert", "containers")
	if err != nil {
		t.Fatal(err)
	}
	ref := e.cl.KeyManager.ResourceBase + "containers/" + id
	svc := service("secure", 443)
	svc.Annotations[AnnDefaultTLSContainerRef] = ref
	svc.Annotations[AnnXForwardedFor] = "true"
	e.ensure(svc)
	s := e.state()
	l := s.listeners[0]
	p := s.poolOf(l)
	if l.Protocol != "TERMINATED_HTTPS" || l.DefaultTLSContainerRef != ref || p.Protocol != "HTTP" || l.InsertHeaders["X-Forwarded-For"] != "true" {
		t.Fatalf("listener %s ref %q headers %v, pool %s", l.Protocol, l.DefaultTLSContainerRef, l.InsertHeaders, p.Protocol)
	}
	e.reset()
	e.ensure(svc)
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("no-op sync wrote %v", w)
	}

	// A new certificate is checked, then put on the listener in place.
	id2, _ := e.sim.AddTLSContainer("web-cert-2", "secrets")
	ref2 := e.cl.KeyManager.ResourceBase + "secrets/" + id2
	svc.Annotations[AnnDefaultTLSContainerRef] = ref2
	e.reset()
	e.ensure(svc)
	if w := e.writes(); len(w) != 1 || w["octavia.listener_update"] != 1 || e.state().listeners[0].DefaultTLSContainerRef != ref2 {
		t.Fatalf("certificate change: writes %v", w)
	}

	// A reference Barbican does not know is reported by key, unwritten.
	missing := service("typo", 443)
	missing.Annotations[AnnDefaultTLSContainerRef] = e.cl.KeyManager.ResourceBase + "containers/no-such-id"
	e.reset()
	e.expectRefFailure(t, "unknown certificate", func() error {
		_, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, missing, e.nodes)
		return err
	}, AnnDefaultTLSContainerRef, "does not exist in Barbican")
}

func TestTLSWithExternalStoreIsPassedOnAndOVNRefusesIt(t *testing.T) {
	e := newEnv(t, "container-store = external")
	id, _ := e.sim.AddTLSContainer("ext", "containers")
	svc := service("ext", 443)
	svc.Annotations[AnnDefaultTLSContainerRef] = "https://other-barbican/v1/containers/" + id
	e.ensure(svc)
	if l := e.state().listeners[0]; l.Protocol != "TERMINATED_HTTPS" {
		t.Fatalf("listener %s", l.Protocol)
	}
	if n := e.total(func(a string) bool { return strings.HasPrefix(a, "barbican.") }); n != 0 {
		t.Errorf("%d Barbican calls with container-store = external", n)
	}

	o := newEnv(t, "lb-provider = ovn")
	bad := service("tls-ovn", 443)
	bad.Annotations[AnnDefaultTLSContainerRef] = "https://barbican/v1/containers/x"
	if _, err := o.lb.EnsureLoadBalancer(o.ctx, testCluster, bad, o.nodes); err == nil || !strings.Contains(err.Error(), AnnDefaultTLSContainerRef) {
		t.Fatalf("TLS on ovn: %v", err)
	}
}
