package nifcloudsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestPrivateLans(t *testing.T) {
	h := newHarness(t, Options{Region: "jp-west-1"})
	base := h.srv.URL + AdminPrefix

	code, body := adminDo(t, "POST", base+"private-lans", `{"networkId":"net-lan1","privateLanName":"lan1","cidrBlock":"10.2.0.0/24"}`)
	if code != http.StatusCreated {
		t.Fatalf("POST private-lans: %d %s", code, body)
	}
	var l PrivateLan
	if err := json.Unmarshal(body, &l); err != nil || l.Zone != "west-11" || l.State != "available" {
		t.Fatalf("defaults: %+v (%v)", l, err)
	}
	if code, _ = adminDo(t, "POST", base+"private-lans", `{"networkId":"net-lan1"}`); code != http.StatusConflict {
		t.Fatalf("duplicate: %d", code)
	}
	for _, bad := range []string{`{"networkId":"net-COMMON_GLOBAL"}`, `{"networkId":"lan-1"}`, `{bad`} {
		if code, _ = adminDo(t, "POST", base+"private-lans", bad); code != http.StatusBadRequest {
			t.Fatalf("POST %s: %d, want 400", bad, code)
		}
	}
	code, body = adminDo(t, "POST", base+"private-lans", `{}`)
	if err := json.Unmarshal(body, &l); code != http.StatusCreated || err != nil || !privateLANIDPattern.MatchString(l.NetworkID) {
		t.Fatalf("generated id: %d %s", code, body)
	}
	generated := l.NetworkID
	if code, body = adminDo(t, "POST", base+"seed", `{"privateLans":[{"networkId":"net-lan2","zone":"west-12"},{"networkId":"net-lan1"}]}`); code != http.StatusNoContent {
		t.Fatalf("seed: %d %s", code, body)
	}

	h.sim.Controls().ResetCounts()
	n := h.ok("NiftyDescribePrivateLans", "NetworkId.1", "net-lan2", "NetworkId.2", "net-lan1")
	if got := n.texts("privateLanSet/item/networkId"); strings.Join(got, ",") != "net-lan2,net-lan1" {
		t.Fatalf("by id: %v", got)
	}
	if n.text("privateLanSet/item/availabilityZone") != "west-12" || n.texts("privateLanSet/item/cidrBlock")[1] != "10.2.0.0/24" {
		t.Fatalf("fields: %+v", n)
	}
	n = h.ok("NiftyDescribePrivateLans", "PrivateLanName.1", "lan1")
	if got := n.texts("privateLanSet/item/networkId"); len(got) != 1 || got[0] != "net-lan1" {
		t.Fatalf("by name: %v", got)
	}
	if got := h.ok("NiftyDescribePrivateLans").texts("privateLanSet/item/networkId"); len(got) != 3 {
		t.Fatalf("all: %v", got)
	}
	// One unknown id fails the whole call and names it.
	e := h.fail(http.StatusBadRequest, CodeNetworkIDNotFound, "NiftyDescribePrivateLans", "NetworkId.1", "net-lan1", "NetworkId.2", "net-nosuch")
	if !strings.Contains(e.text("Errors/Error/Message"), "net-nosuch") {
		t.Fatalf("message does not name the id: %+v", e)
	}
	if c := h.sim.Controls().Count("NiftyDescribePrivateLans"); c != 4 {
		t.Fatalf("counter = %d, want 4", c)
	}

	// An elastic LB on a private LAN that does not exist is refused.
	nic := func(id string) []string {
		return []string{"ElasticLoadBalancerName", "elbx", "Listeners.member.1.ElasticLoadBalancerPort", "80",
			"Listeners.member.1.InstancePort", "30080", "NetworkInterface.1.NetworkId", id,
			"NetworkInterface.1.IpAddress", "10.2.0.10", "NetworkInterface.1.SystemIpAddresses.1.SystemIpAddress", "10.2.0.11",
			"NetworkInterface.1.SystemIpAddresses.2.SystemIpAddress", "10.2.0.12"}
	}
	h.fail(http.StatusBadRequest, CodeNetworkIDNotFound, "NiftyCreateElasticLoadBalancer", nic("net-nosuch")...)
	if len(h.sim.Snapshot().ElasticLBs) != 0 {
		t.Fatal("elastic LB created on a missing private LAN")
	}
	h.ok("NiftyCreateElasticLoadBalancer", nic("net-lan1")...)

	if code, _ = adminDo(t, "DELETE", base+"private-lans/"+generated, ""); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d", code)
	}
	if code, _ = adminDo(t, "DELETE", base+"private-lans/"+generated, ""); code != http.StatusNotFound {
		t.Fatalf("DELETE again: %d", code)
	}
	h.fail(http.StatusBadRequest, CodeNetworkIDNotFound, "NiftyDescribePrivateLans", "NetworkId.1", generated)
}
