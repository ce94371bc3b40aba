package client

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRequestName(t *testing.T) {
	cases := []struct{ method, path, action, want string }{
		{"GET", "/v2.1/servers/detail", "", "server_list"},
		{"GET", "/compute/v2.1/servers/detail", "", "server_list"},
		{"GET", "/v2.1/servers", "", "server_list"},
		{"GET", "/v2.1/servers/3f2a-4b1c-9d8e-000000000001", "", "server_get"},
		{"POST", "/v2.1/servers", "", "server_create"},
		{"DELETE", "/v2.1/servers/abc", "", "server_delete"},
		{"GET", "/v2.1/flavors/1", "", "flavor_get"},
		{"POST", "/v2.1/servers/abc/os-volume_attachments", "", "volume_attach"},
		{"DELETE", "/v2.1/servers/abc/os-volume_attachments/vol", "", "volume_detach"},
		{"GET", "/v2.1/servers/abc/os-volume_attachments", "", "volume_attachment_list"},
		{"GET", "/v2.1/servers/abc/os-interface", "", "interface_list"},
		{"POST", "/v2.1/servers/abc/action", "os-start", "server_start"},
		{"GET", "/v3/0123456789abcdef0123456789abcdef/volumes/detail", "", "volume_list"},
		{"POST", "/volume/v3/proj/volumes", "", "volume_create"},
		{"GET", "/v3/proj/volumes/vol-1", "", "volume_get"},
		{"POST", "/v3/proj/volumes/vol-1/action", "os-extend", "volume_extend"},
		{"POST", "/v3/proj/volumes/vol-1/action", "", "volume_action"},
		{"POST", "/v3/proj/volumes/vol-1/action", "bad key!", "volume_action"},
		{"GET", "/v3/proj/snapshots/detail", "", "snapshot_list"},
		{"POST", "/v3/proj/backups", "", "backup_create"},
		{"GET", "/v2.0/ports", "", "port_list"},
		{"PUT", "/v2.0/ports/p1", "", "port_update"},
		{"DELETE", "/v2.0/ports/p1/tags/kube_service_x", "", "port_tag_delete"},
		{"PUT", "/v2.0/ports/p1/tags/x", "", "port_tag_add"},
		{"GET", "/v2.0/floatingips", "", "floating_ip_list"},
		{"POST", "/v2.0/floatingips", "", "floating_ip_create"},
		{"PUT", "/v2.0/floatingips/f1", "", "floating_ip_update"},
		{"GET", "/v2.0/security-groups", "", "security_group_list"},
		{"POST", "/v2.0/security-group-rules", "", "security_group_rule_create"},
		{"GET", "/v2.0/extensions", "", "extension_list"},
		{"GET", "/network/v2.0/networks/n1", "", "network_get"},
		{"PUT", "/v2.0/routers/r1/add_extraroutes", "", "router_add_extraroutes"},
		{"PUT", "/v2.0/routers/r1", "", "router_update"},
		{"GET", "/load-balancer/v2.0/lbaas/loadbalancers", "", "loadbalancer_list"},
		{"POST", "/v2/lbaas/loadbalancers", "", "loadbalancer_create"},
		{"GET", "/v2/lbaas/loadbalancers/lb1", "", "loadbalancer_get"},
		{"DELETE", "/v2/lbaas/loadbalancers/lb1", "", "loadbalancer_delete"},
		{"GET", "/v2/lbaas/loadbalancers/lb1/status", "", "loadbalancer_status_get"},
		{"PUT", "/v2/lbaas/loadbalancers/lb1/failover", "", "loadbalancer_failover"},
		{"PUT", "/v2/lbaas/pools/p1/members", "", "member_batch_update"},
		{"GET", "/v2/lbaas/pools/p1/members", "", "member_list"},
		{"POST", "/v2/lbaas/pools/p1/members", "", "member_create"},
		{"DELETE", "/v2/lbaas/pools/p1/members/m1", "", "member_delete"},
		{"PUT", "/v2/lbaas/healthmonitors/h1", "", "healthmonitor_update"},
		{"GET", "/v2/lbaas/listeners", "", "listener_list"},
		{"POST", "/v3/auth/tokens", "", "token_create"},
		{"POST", "/identity/v3/auth/tokens", "", "token_create"},
		{"GET", "/v1/containers/c1", "", "container_get"},
		{"GET", "/", "", "version_list"},
		{"GET", "/network/", "", "version_list"},
		{"GET", "/v3/", "", "version_list"},
		{"GET", "/v2.1/os-services", "", "os_services_get"},
		{"POST", "/foo/bar", "", "foo_post"},
	}
	for _, c := range cases {
		if got := RequestName(c.method, c.path, c.action); got != c.want {
			t.Errorf("RequestName(%s %s %q) = %q, want %q", c.method, c.path, c.action, got, c.want)
		}
	}
}

func TestPeekAction(t *testing.T) {
	req, _ := http.NewRequest("POST", "http://x/v3/p/volumes/v/action", strings.NewReader(`{"os-extend":{"new_size":2}}`))
	if got := peekAction(req); got != "os-extend" {
		t.Errorf("peekAction = %q", got)
	}
	if b, _ := req.GetBody(); b == nil {
		t.Error("GetBody")
	}
	req, _ = http.NewRequest("POST", "http://x/v3/p/volumes", strings.NewReader(`{"volume":{}}`))
	if got := peekAction(req); got != "" {
		t.Errorf("non-action path: %q", got)
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-30 * time.Second).Format(http.TimeFormat), 0, true},
	}
	for _, c := range cases {
		got, ok := retryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("retryAfter(%q) = %v %v, want %v %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
