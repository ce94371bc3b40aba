package octavia

import (
	"strings"
	"testing"
)

func TestInvalidAnnotationsWarnAndMakeNoCloudCall(t *testing.T) {
	cases := []struct{ key, value, allowed string }{
		{AnnLBMethod, "FASTEST", "ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP, SOURCE_IP_PORT"},
		{AnnHMMaxRetries, "eleven", "integers from 1 to 10"},
		{AnnKeepFloatingIP, "yes", `"true" or "false"`},
		{AnnProxyProtocol, "v3", `"true", "v1", "v2" or "false"`},
		{AnnTimeoutClientData, "-5", "integers from 0"},
		{AnnInternal, "1", `"true" or "false"`},
		{AnnSourceRanges, "10.0.0.0/33", "CIDRs"},
	}
	e := newEnv(t, "")
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			e.reset()
			svc := service("bad", 80)
			svc.Annotations[c.key] = c.value
			_, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, svc, e.nodes)
			if err == nil || !strings.Contains(err.Error(), c.key) {
				t.Fatalf("error %v does not name %s", err, c.key)
			}
			select {
			case ev := <-e.events.Events:
				if !strings.HasPrefix(ev, "Warning "+reasonInvalidAnnotation) || !strings.Contains(ev, c.key) || !strings.Contains(ev, c.allowed) {
					t.Errorf("event %q must name %s and %q", ev, c.key, c.allowed)
				}
			default:
				t.Errorf("no Warning event")
			}
			if n := e.total(func(string) bool { return true }); n != 0 {
				t.Errorf("invalid Service caused %d cloud calls: %v", n, e.sim.Controls().Counts())
			}
		})
	}
	if s := e.state(); s.lb != nil || len(s.fips) != 0 {
		t.Fatalf("cloud changed: lb=%v fips=%v", s.lb, s.fips)
	}

	// Mutually exclusive annotations are rejected the same way.
	svc := service("bad", 80)
	svc.Annotations[AnnProxyProtocol] = "true"
	svc.Annotations[AnnXForwardedFor] = "true"
	if _, err := e.lb.EnsureLoadBalancer(e.ctx, testCluster, svc, e.nodes); err == nil || !strings.Contains(err.Error(), AnnXForwardedFor) {
		t.Fatalf("proxy + x-forwarded-for: %v", err)
	}
	if ev := <-e.events.Events; !strings.Contains(ev, AnnProxyProtocol) {
		t.Errorf("event %q", ev)
	}
}
