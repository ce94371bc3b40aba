package conformance

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/nifcloud"
	"github.com/kumo-project/kumo/pkg/nifcloud/signer"
	"github.com/kumo-project/kumo/tests/conformance/smithy"
)

const zone = "east-11"

func newSim(t *testing.T) (*nifcloudsim.Sim, *httptest.Server) {
	t.Helper()
	sim, err := nifcloudsim.New(nifcloudsim.Options{Credentials: map[string]string{accessKey: secretKey}, Region: region})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	for _, in := range []nifcloudsim.Instance{
		{InstanceID: "web1", InstanceUniqueID: "i-web00001", Zone: zone, PrivateIP: "10.0.0.11", PublicIP: "203.0.113.11", SecurityGroup: "fw1"},
		{InstanceID: "web2", InstanceUniqueID: "i-web00002", Zone: zone, PrivateIP: "10.0.0.12", SecurityGroup: "fw1"},
	} {
		if err := sim.AddInstance(in); err != nil {
			t.Fatal(err)
		}
	}
	return sim, srv
}

// TestSimulatorAllowList checks the simulator's hand-written per-action
// allow-list against the model and that a bogus key is refused with the
// unknown-parameter error for every action kumo uses.
func TestSimulatorAllowList(t *testing.T) {
	m := loadModel(t)
	_, srv := newSim(t)
	u, _ := url.Parse(srv.URL)
	for _, meth := range apiMethods() {
		t.Run(meth.Name, func(t *testing.T) {
			op := m.Operations[meth.Name]
			model := map[string]bool{}
			for _, k := range m.QueryKeys(op.Input) {
				model[k] = true
			}
			pats := nifcloudsim.ParamPatterns(meth.Name)
			if pats == nil {
				t.Fatalf("the simulator has no allow-list for %s", meth.Name)
			}
			for _, k := range pats {
				if !model[k] && !sdkOverride(meth.Name, k) {
					t.Errorf("allow-list key %s is not in input shape %s", k, op.Input)
				}
				if slices.Contains(docForbidden[meth.Name], k) {
					t.Errorf("allow-list key %s is marked not specifiable by the public API reference (docForbidden)", k)
				}
			}
			form := url.Values{"Action": {meth.Name}, "Version": {nifcloud.APIVersion}, "KumoBogusKey": {"1"}}
			signer.Sign(form, accessKey, secretKey, u.Host, "/api/", time.Now())
			resp, err := http.PostForm(srv.URL+"/api/", form)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close() // read-only body, fully read or discarded
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), nifcloudsim.CodeUnknownParameter) {
				t.Errorf("bogus key: HTTP %d %s, want 400 %s", resp.StatusCode, body, nifcloudsim.CodeUnknownParameter)
			}
		})
	}
}

// TestDocForbiddenKeys keeps the docForbidden override honest: each key is
// one the model defines (else the override is stale) and the simulator
// refuses it with the unknown-parameter error, as the public reference
// says it cannot be specified.
func TestDocForbiddenKeys(t *testing.T) {
	m := loadModel(t)
	_, srv := newSim(t)
	u, _ := url.Parse(srv.URL)
	for action, keys := range docForbidden {
		op, ok := m.Operations[action]
		if !ok {
			t.Errorf("docForbidden names %s, which the model does not define", action)
			continue
		}
		model := m.QueryKeys(op.Input)
		for _, k := range keys {
			if !slices.Contains(model, k) {
				t.Errorf("%s: docForbidden key %s is not in input shape %s; drop it from the override", action, k, op.Input)
			}
			form := url.Values{"Action": {action}, "Version": {nifcloud.APIVersion}, strings.ReplaceAll(k, ".N", ".1"): {"x"}}
			signer.Sign(form, accessKey, secretKey, u.Host, "/api/", time.Now())
			resp, err := http.PostForm(srv.URL+"/api/", form)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close() // read-only body, fully read or discarded
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), nifcloudsim.CodeUnknownParameter) {
				t.Errorf("%s with %s: HTTP %d %s, want 400 %s", action, k, resp.StatusCode, body, nifcloudsim.CodeUnknownParameter)
			}
		}
	}
}

// bodyRecorder keeps the 2xx response bodies per action.
type bodyRecorder struct {
	mu     sync.Mutex
	bodies map[string][][]byte
}

func (b *bodyRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	req, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(req))
	form, _ := url.ParseQuery(string(req))
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close() // read-only body, fully read or discarded
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.StatusCode/100 == 2 {
		b.mu.Lock()
		b.bodies[form.Get("Action")] = append(b.bodies[form.Get("Action")], body)
		b.mu.Unlock()
	}
	return resp, nil
}

// TestSimulatorResponses runs every action kumo uses against the simulator
// and walks each success body against the output shape: element names
// (exact case), list wrapping and nothing the shape does not define.
func TestSimulatorResponses(t *testing.T) {
	m := loadModel(t)
	_, srv := newSim(t)
	rec := &bodyRecorder{bodies: map[string][][]byte{}}
	c := newClient(t, srv.URL, &http.Client{Transport: rec})
	runScenario(t, c)
	// InstancesSet.blockDeviceMapping must list an attached volume.
	attached := false
	for _, b := range rec.bodies["DescribeInstances"] {
		attached = attached || strings.Contains(string(b), "<blockDeviceMapping><item><deviceName>")
	}
	if !attached {
		t.Errorf("no DescribeInstances answer listed the attached volume in blockDeviceMapping")
	}
	for _, meth := range apiMethods() {
		bodies := rec.bodies[meth.Name]
		if len(bodies) == 0 {
			t.Errorf("%s: the scenario got no successful answer to check", meth.Name)
			continue
		}
		op := m.Operations[meth.Name]
		for _, b := range bodies {
			walkResponse(t, m, meth.Name, op.Output, b)
		}
	}
}

type xnode struct {
	XMLName xml.Name
	Kids    []xnode `xml:",any"`
	Text    string  `xml:",chardata"`
}

func walkResponse(t *testing.T, m *smithy.Model, action, output string, body []byte) {
	t.Helper()
	var root xnode
	if err := xml.Unmarshal(body, &root); err != nil {
		t.Errorf("%s: %v", action, err)
		return
	}
	if root.XMLName.Local != action+"Response" {
		t.Errorf("%s: root <%s>", action, root.XMLName.Local)
	}
	walkStruct(t, m, action, root.XMLName.Local, m.Shapes[output], root.Kids)
}

func walkStruct(t *testing.T, m *smithy.Model, action, path string, shape *smithy.Shape, kids []xnode) {
	t.Helper()
	for _, k := range kids {
		name := k.XMLName.Local
		p := path + "/" + name
		mb, ok := shape.Member(name)
		if !ok {
			t.Errorf("%s: simulator writes %s, which %s does not define", action, p, shape.Name)
			continue
		}
		walkValue(t, m, action, p, mb.Target, k)
	}
}

func walkValue(t *testing.T, m *smithy.Model, action, path, target string, n xnode) {
	t.Helper()
	s := m.Shapes[target]
	switch {
	case s == nil:
		if len(n.Kids) > 0 {
			t.Errorf("%s: %s has child elements but is a %s", action, path, target)
		}
	case s.Kind == "list":
		for _, item := range n.Kids {
			if item.XMLName.Local != s.ListElementName() {
				t.Errorf("%s: %s/<%s> in list %s, whose items are <%s>", action, path, item.XMLName.Local, target, s.ListElementName())
				continue
			}
			walkValue(t, m, action, path+"/"+item.XMLName.Local, s.Members[0].Target, item)
		}
	default:
		walkStruct(t, m, action, path, s, n.Kids)
	}
}

// runScenario calls every method of nifcloud.API at least once with
// arguments the simulator accepts.
func runScenario(t *testing.T, c *nifcloud.Client) {
	ctx := context.Background()
	try := func(what string, err error) {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	// Instances and volumes.
	_, err := c.DescribeInstances(ctx, &nifcloud.DescribeInstancesInput{})
	try("DescribeInstances", err)
	vol, err := c.CreateVolume(ctx, &nifcloud.CreateVolumeInput{Size: 100, DiskType: "2", InstanceID: "web1", Description: "pv"})
	try("CreateVolume", err)
	if vol != nil {
		_, err = c.DescribeVolumes(ctx, &nifcloud.DescribeVolumesInput{VolumeIDs: []string{vol.VolumeID}})
		try("DescribeVolumes", err)
		_, err = c.DescribeInstances(ctx, &nifcloud.DescribeInstancesInput{InstanceIDs: []string{"web1"}})
		try("DescribeInstances (attached)", err)
		_, err = c.DescribeInstanceAttribute(ctx, &nifcloud.DescribeInstanceAttributeInput{InstanceID: "web1"})
		try("DescribeInstanceAttribute", err)
		_, err = c.DetachVolume(ctx, &nifcloud.DetachVolumeInput{VolumeID: vol.VolumeID, InstanceID: "web1"})
		try("DetachVolume", err)
		_, err = c.AttachVolume(ctx, &nifcloud.AttachVolumeInput{VolumeID: vol.VolumeID, InstanceID: "web2"})
		try("AttachVolume", err)
		_, err = c.DetachVolume(ctx, &nifcloud.DetachVolumeInput{VolumeID: vol.VolumeID, InstanceID: "web2"})
		try("DetachVolume", err)
		_, err = c.ExtendVolumeSize(ctx, &nifcloud.ExtendVolumeSizeInput{VolumeID: vol.VolumeID})
		try("ExtendVolumeSize", err)
		_, err = c.DeleteVolume(ctx, vol.VolumeID)
		try("DeleteVolume", err)
	}
	runLBScenario(t, c, try)
	// Security groups and private LANs.
	_, err = c.DescribeSecurityGroups(ctx, &nifcloud.DescribeSecurityGroupsInput{GroupNames: []string{"fw1"}})
	try("DescribeSecurityGroups", err)
	rule := &nifcloud.SecurityGroupIngressInput{GroupName: "fw1", IPPermissions: []nifcloud.IPPermission{
		{IPProtocol: "TCP", FromPort: 30080, ToPort: 30080, InOut: "IN", CIDRs: []string{"10.0.0.0/8"}, Description: "kumo"}}}
	_, err = c.AuthorizeSecurityGroupIngress(ctx, rule)
	try("AuthorizeSecurityGroupIngress", err)
	_, err = c.DescribeSecurityGroups(ctx, &nifcloud.DescribeSecurityGroupsInput{GroupNames: []string{"fw1"}})
	try("DescribeSecurityGroups (rule)", err)
	_, err = c.RevokeSecurityGroupIngress(ctx, rule)
	try("RevokeSecurityGroupIngress", err)
	_, err = c.NiftyDescribePrivateLans(ctx, &nifcloud.DescribePrivateLansInput{})
	try("NiftyDescribePrivateLans", err)
}

// TestSimulatorTimestamp: Timestamp is a required common parameter in UTC
// YYYY-MM-DDThh:mm:ssZ; the simulator must refuse it missing or malformed
// even when the signature over the form is right.
func TestSimulatorTimestamp(t *testing.T) {
	_, srv := newSim(t)
	u, _ := url.Parse(srv.URL)
	for name, ts := range map[string]string{"missing": "", "local format": "2026-01-02 03:04:05", "offset": "2026-01-02T03:04:05+09:00"} {
		t.Run(name, func(t *testing.T) {
			form := url.Values{"Action": {"DescribeInstances"}, "Version": {nifcloud.APIVersion}}
			signer.Sign(form, accessKey, secretKey, u.Host, "/api/", time.Now())
			form.Del(signer.KeyTimestamp)
			if ts != "" {
				form.Set(signer.KeyTimestamp, ts)
			}
			form.Set(signer.KeySignature, signer.Compute(form, secretKey, "POST", u.Host, "/api/", signer.MethodHmacSHA256))
			resp, err := http.PostForm(srv.URL+"/api/", form)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close() // read-only body, fully read or discarded
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "Timestamp") {
				t.Errorf("HTTP %d %s, want 400 naming Timestamp", resp.StatusCode, body)
			}
		})
	}
}
