package nifcloudsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/nifcloud/signer"
)

func TestSignatureVerification(t *testing.T) {
	h := newHarness(t, Options{})
	seed(t, h.sim, Instance{InstanceID: "web01"})

	// Good signature.
	n := h.ok("DescribeInstances")
	if n.text("requestId") == "" {
		t.Fatal("no requestId")
	}

	// Wrong secret.
	f := form("DescribeInstances")
	signer.Sign(f, testAK, "wrong-secret", h.host(), "/api/", time.Now())
	resp, body := h.postRaw(f.Encode())
	checkError(t, resp, body, http.StatusForbidden, CodeSignatureMismatch)

	// Tampered body: sign, then change a parameter.
	f = form("DescribeInstances", "InstanceId.1", "web01")
	signer.Sign(f, testAK, testSK, h.host(), "/api/", time.Now())
	f.Set("InstanceId.1", "other")
	resp, body = h.postRaw(f.Encode())
	checkError(t, resp, body, http.StatusForbidden, CodeSignatureMismatch)

	// Signed for another host.
	f = form("DescribeInstances")
	signer.Sign(f, testAK, testSK, "jp-east-1.computing.api.nifcloud.com", "/api/", time.Now())
	resp, body = h.postRaw(f.Encode())
	checkError(t, resp, body, http.StatusForbidden, CodeSignatureMismatch)

	// Unknown access key.
	f = form("DescribeInstances")
	signer.Sign(f, "NOSUCHKEY", testSK, h.host(), "/api/", time.Now())
	resp, body = h.postRaw(f.Encode())
	checkError(t, resp, body, http.StatusUnauthorized, CodeUnknownAccessKey)

	// No signature at all.
	resp, body = h.postRaw(form("DescribeInstances").Encode())
	checkError(t, resp, body, http.StatusBadRequest, CodeMissingParameter)

	// Bad signature version.
	f = form("DescribeInstances")
	signer.Sign(f, testAK, testSK, h.host(), "/api/", time.Now())
	f.Set(signer.KeySignatureVersion, "4")
	resp, body = h.postRaw(f.Encode())
	checkError(t, resp, body, http.StatusBadRequest, CodeBadSignatureVersion)

	// HmacSHA1 is accepted too.
	f = form("DescribeInstances", signer.KeyAccessKeyID, testAK, signer.KeySignatureVersion, "2",
		signer.KeySignatureMethod, signer.MethodHmacSHA1, signer.KeyTimestamp, "2026-01-01T00:00:00Z")
	f.Set(signer.KeySignature, signer.Compute(f, testSK, "POST", h.host(), "/api/", signer.MethodHmacSHA1))
	if resp, body = h.postRaw(f.Encode()); resp.StatusCode != 200 {
		t.Fatalf("HmacSHA1: %d %s", resp.StatusCode, body)
	}

	// Values with spaces and symbols survive the form encoding.
	seed(t, h.sim, Instance{InstanceID: "sg01", SecurityGroup: "fw"})
	h.ok("AuthorizeSecurityGroupIngress", "GroupName", "fw", "IpPermissions.1.IpProtocol", "TCP",
		"IpPermissions.1.FromPort", "80", "IpPermissions.1.Description", "a b+c/d&e=f*~",
		"IpPermissions.1.IpRanges.1.CidrIp", "10.0.0.0/8")
}

func TestRequestShapeErrors(t *testing.T) {
	h := newHarness(t, Options{})
	h.fail(http.StatusBadRequest, CodeUnknownAction, "TerminateEverything")
	f := form("DescribeInstances")
	f.Set("Version", "4.0")
	resp, body := h.post(f)
	checkError(t, resp, body, http.StatusBadRequest, CodeBadVersion)
	// Version is optional and older versions are documented (1.7).
	for _, v := range []string{"", "1.7", "2.0"} {
		f = form("DescribeInstances")
		f.Set("Version", v)
		if resp, body = h.post(f); resp.StatusCode != http.StatusOK {
			t.Errorf("Version %q: HTTP %d %s", v, resp.StatusCode, body)
		}
	}
	f = url.Values{"Version": {"3.0"}}
	resp, body = h.post(f)
	checkError(t, resp, body, http.StatusBadRequest, CodeMissingParameter)

	// Each response carries a fresh request id.
	a := h.ok("DescribeVolumes").text("requestId")
	b := h.ok("DescribeVolumes").text("requestId")
	if a == "" || a == b {
		t.Fatalf("request ids %q %q", a, b)
	}
	// ELB style has ResponseMetadata/RequestId and a Result element.
	n := h.ok("DescribeLoadBalancers")
	if n.text("ResponseMetadata/RequestId") == "" || len(n.all("DescribeLoadBalancersResult")) != 1 {
		t.Fatalf("ELB envelope wrong: %+v", n)
	}
	// GET is accepted as well (SDK-a style).
	g := form("DescribeVolumes", signer.KeyAccessKeyID, testAK, signer.KeySignatureVersion, "2",
		signer.KeySignatureMethod, signer.MethodHmacSHA256, signer.KeyTimestamp, "2026-01-01T00:00:00Z")
	g.Set(signer.KeySignature, signer.Compute(g, testSK, "GET", h.host(), "/api/", signer.MethodHmacSHA256))
	r, err := http.Get(h.srv.URL + "/api/?" + g.Encode())
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	_ = r.Body.Close() // only the status matters here
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET: %s", r.Status)
	}
}

func TestFaultInjectionAndCounters(t *testing.T) {
	h := newHarness(t, Options{})
	h.ok("DescribeInstances")
	h.ok("DescribeInstances")

	h.sim.Controls().SetFaults(simcore.FaultConfig{ErrorRate: 1})
	h.fail(http.StatusInternalServerError, CodeInternalError, "DescribeInstances")

	h.sim.Controls().SetFaults(simcore.FaultConfig{ThrottleRate: 1, RetryAfter: 3 * time.Second, Actions: []string{"DescribeVolumes"}})
	resp, body := h.post(form("DescribeVolumes"))
	checkError(t, resp, body, http.StatusServiceUnavailable, CodeRequestLimitExceeded)
	if got := resp.Header.Get("Retry-After"); got != "3" {
		t.Fatalf("Retry-After = %q", got)
	}
	h.ok("DescribeInstances") // not in Actions

	h.sim.Controls().SetFaults(simcore.FaultConfig{TimeoutRate: 1, Timeout: 20 * time.Millisecond})
	start := time.Now()
	h.fail(http.StatusServiceUnavailable, CodeServiceUnavailable, "DescribeInstances")
	if time.Since(start) < 20*time.Millisecond {
		t.Fatal("timeout fault did not hang")
	}
	h.sim.Controls().SetFaults(simcore.FaultConfig{})

	resp2, err := http.Get(h.srv.URL + AdminPrefix + "counters")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp2.Body.Close() }() // read-only body, fully decoded below
	var c struct {
		Calls  map[string]int64 `json:"calls"`
		Faults map[string]int64 `json:"faults"`
	}
	if err := json.NewDecoder(resp2.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.Calls["DescribeInstances"] != 5 || c.Calls["DescribeVolumes"] != 1 {
		t.Fatalf("calls = %v", c.Calls)
	}
	if c.Faults["error:DescribeInstances"] != 1 || c.Faults["throttle:DescribeVolumes"] != 1 || c.Faults["timeout:DescribeInstances"] != 1 {
		t.Fatalf("faults = %v", c.Faults)
	}

	// Latency config through the admin API is honoured.
	req, _ := http.NewRequest(http.MethodPut, h.srv.URL+AdminPrefix+"latency", strings.NewReader(`{"calls":{"DescribeVolumes":30000000}}`))
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Fatalf("PUT latency: %v", err)
	}
	start = time.Now()
	h.ok("DescribeVolumes")
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("call latency not applied")
	}
}

func adminDo(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read-only body
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, b.Bytes()
}

func TestAdminEndpoints(t *testing.T) {
	h := newHarness(t, Options{Region: "jp-west-1"})
	base := h.srv.URL + AdminPrefix

	code, body := adminDo(t, "POST", base+"instances", `{"instanceId":"node1","publicIp":"203.0.113.10","securityGroup":"k8s"}`)
	if code != http.StatusCreated {
		t.Fatalf("POST instances: %d %s", code, body)
	}
	var in Instance
	_ = json.Unmarshal(body, &in)
	if !strings.HasPrefix(in.InstanceUniqueID, "i-") || len(in.InstanceUniqueID) != 10 || in.Zone != "west-11" || in.State != "running" {
		t.Fatalf("defaults: %+v", in)
	}
	if code, _ = adminDo(t, "POST", base+"instances", `{"instanceId":"node1"}`); code != http.StatusConflict {
		t.Fatalf("duplicate: %d", code)
	}
	if code, _ = adminDo(t, "POST", base+"instances", `{bad`); code != http.StatusBadRequest {
		t.Fatalf("bad json: %d", code)
	}
	if code, body = adminDo(t, "PUT", base+"instances/node1/state", `{"state":"stopped"}`); code != 200 {
		t.Fatalf("PUT state: %d %s", code, body)
	}
	n := h.ok("DescribeInstances", "InstanceId.1", "node1")
	if n.text("reservationSet/item/instancesSet/item/instanceState/code") != "80" {
		t.Fatal("state not stopped")
	}
	if code, _ = adminDo(t, "PUT", base+"instances/nope/state", `{"state":"stopped"}`); code != http.StatusNotFound {
		t.Fatalf("PUT unknown state: %d", code)
	}
	if code, _ = adminDo(t, "PUT", base+"instances/node1/state", `{"state":"exploded"}`); code != http.StatusBadRequest {
		t.Fatalf("PUT bad state: %d", code)
	}

	code, body = adminDo(t, "GET", base+"state", "")
	var st State
	if code != 200 || json.Unmarshal(body, &st) != nil || st.Instances["node1"] == nil || st.SecurityGroups["k8s"] == nil {
		t.Fatalf("GET state: %d %s", code, body)
	}

	if code, body = adminDo(t, "POST", base+"local-instances", `{"instanceIds":["node1"]}`); code != 200 {
		t.Fatalf("local-instances: %d %s", code, body)
	}
	if got := h.sim.LocalInstances(); len(got) != 1 || got[0] != "node1" {
		t.Fatalf("local = %v", got)
	}
	if code, _ = adminDo(t, "POST", base+"local-instances", `["a","b"]`); code != 200 || len(h.sim.LocalInstances()) != 2 {
		t.Fatal("bare array not accepted")
	}

	if code, body = adminDo(t, "POST", base+"seed", `{"instances":[{"instanceId":"node1"},{"instanceId":"node2"}]}`); code != http.StatusNoContent {
		t.Fatalf("seed: %d %s", code, body)
	}
	if code, _ = adminDo(t, "DELETE", base+"instances/node1", ""); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d", code)
	}
	if code, _ = adminDo(t, "DELETE", base+"instances/node1", ""); code != http.StatusNotFound {
		t.Fatalf("DELETE again: %d", code)
	}
	h.fail(http.StatusBadRequest, CodeInstanceNotFound, "DescribeInstances", "InstanceId.1", "node1")
	h.ok("DescribeInstances", "InstanceId.1", "node2")

	// Seed file.
	path := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(path, []byte(`{"instances":[{"instanceId":"node3","instanceUniqueId":"i-abcd1234","zone":"west-12","privateIp":"10.0.0.3"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.LoadSeed(path); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.LoadSeed(path); err != nil {
		t.Fatalf("seed is not idempotent: %v", err)
	}
	n = h.ok("DescribeInstances", "InstanceId.1", "node3")
	if n.text("reservationSet/item/instancesSet/item/instanceUniqueId") != "i-abcd1234" ||
		n.text("reservationSet/item/instancesSet/item/placement/availabilityZone") != "west-12" {
		t.Fatal("seeded instance wrong")
	}
	// simcore routes are reachable under the same prefix.
	if code, _ = adminDo(t, "POST", base+"counters/reset", ""); code != http.StatusNoContent {
		t.Fatalf("counters/reset: %d", code)
	}
}

func TestDescribeInstances(t *testing.T) {
	h := newHarness(t, Options{})
	seed(t, h.sim,
		Instance{InstanceID: "n1", InstanceUniqueID: "i-aaaa1111", InstanceType: "h2-large16", Zone: "east-12",
			PrivateIP: "192.168.0.10", PublicIP: "203.0.113.1", SecurityGroup: "fw"},
		Instance{InstanceID: "n2", State: "stopped"})
	n := h.ok("DescribeInstances")
	if got := n.texts("reservationSet/item/instancesSet/item/instanceId"); len(got) != 2 || got[0] != "n1" || got[1] != "n2" {
		t.Fatalf("ids = %v", got)
	}
	if len(n.all("reservationSet/item")) != 2 {
		t.Fatal("want one reservation per instance")
	}
	n = h.ok("DescribeInstances", "InstanceId.1", "n1")
	it := n.one(t, "reservationSet/item/instancesSet/item")
	for path, want := range map[string]string{
		"instanceUniqueId":                              "i-aaaa1111",
		"instanceType":                                  "h2-large16",
		"ipAddress":                                     "203.0.113.1",
		"privateIpAddress":                              "192.168.0.10",
		"placement/availabilityZone":                    "east-12",
		"instanceState/code":                            "16",
		"instanceState/name":                            "running",
		"networkInterfaceSet/item/niftyNetworkId":       "net-COMMON_GLOBAL",
		"networkInterfaceSet/item/association/publicIp": "203.0.113.1",
	} {
		if got := it.text(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	n = h.ok("DescribeInstances", "InstanceId.1", "n2")
	if n.text("reservationSet/item/instancesSet/item/instanceState/name") != "stopped" {
		t.Fatal("n2 not stopped")
	}
	h.fail(http.StatusBadRequest, CodeInstanceNotFound, "DescribeInstances", "InstanceId.1", "n1", "InstanceId.2", "ghost")
	h.fail(http.StatusBadRequest, CodeInstanceNotFound, "DescribeInstanceAttribute", "InstanceId", "ghost", "Attribute", "blockDeviceMapping")
	h.fail(http.StatusBadRequest, CodeMissingParameter, "DescribeInstanceAttribute", "InstanceId", "n1")
	n = h.ok("DescribeInstanceAttribute", "InstanceId", "n1", "Attribute", "blockDeviceMapping")
	if n.text("instanceUniqueId") != "i-aaaa1111" || len(n.all("blockDeviceMapping/item")) != 0 {
		t.Fatal("attribute wrong")
	}
	if err := h.sim.SetInstanceState("n2", "running"); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.SetInstanceState("ghost", "running"); err == nil {
		t.Fatal("want error for unknown instance")
	}
	if err := h.sim.AddInstance(Instance{InstanceID: "n1"}); err == nil {
		t.Fatal("duplicate AddInstance accepted")
	}
}
