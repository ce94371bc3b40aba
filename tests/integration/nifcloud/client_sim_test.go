// Package nifcloud_test drives every call of the kumo NIFCLOUD client over
// real HTTP against the NIFCLOUD simulator, including error and fault paths.
package nifcloud_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

const (
	accessKey = "SIMACCESSKEY01"
	secretKey = "sim-secret-key-0123456789"
	region    = "jp-east-1"
	zone      = "east-11"
)

// env is one simulator behind an httptest server plus a client.
type env struct {
	t      *testing.T
	sim    *nifcloudsim.Sim
	srv    *httptest.Server
	client *nifcloud.Client
	// hits counts HTTP requests reaching the server (also those rejected
	// before the simulator counts an action, e.g. bad signatures).
	hits atomic.Int64
	// afterRequest, when set, runs after each request with the hit number.
	afterRequest atomic.Pointer[func(n int64)]
}

func newEnv(t *testing.T) *env {
	t.Helper()
	sim, err := nifcloudsim.New(nifcloudsim.Options{Credentials: map[string]string{accessKey: secretKey}, Region: region})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, sim: sim}
	h := sim.Handler()
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := e.hits.Add(1)
		h.ServeHTTP(w, r)
		if f := e.afterRequest.Load(); f != nil {
			(*f)(n)
		}
	}))
	t.Cleanup(e.srv.Close)
	e.client = e.newClient(secretKey, nil)
	for _, in := range []nifcloudsim.Instance{
		{InstanceID: "web1", InstanceUniqueID: "i-web00001", InstanceType: "h2-large16", Zone: zone, PrivateIP: "10.0.0.11", PublicIP: "203.0.113.11", SecurityGroup: "fw1"},
		{InstanceID: "web2", InstanceUniqueID: "i-web00002", Zone: zone, PrivateIP: "10.0.0.12", SecurityGroup: "fw1"},
		{InstanceID: "db1", InstanceUniqueID: "i-db000001", Zone: zone, State: "stopped", SecurityGroup: "fw2"},
	} {
		if err := sim.AddInstance(in); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) newClient(secret string, mutate func(*nifcloud.Config)) *nifcloud.Client {
	e.t.Helper()
	cfg := nifcloud.Config{
		Region:          region,
		Endpoint:        e.srv.URL + "/api/",
		AccessKeyID:     accessKey,
		SecretAccessKey: secret,
		Timeout:         5 * time.Second,
		QPS:             -1,
		MaxAttempts:     3,
		Retry:           backoff.Policy{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 2},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := nifcloud.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) onRequest(f func(n int64)) { e.afterRequest.Store(&f) }

// wantCode fails the test unless err is an APIError with the given code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	_ = wantAPIError(t, err, code) // checked inside; callers here need no fields
}

// wantAPIError is wantCode for callers that inspect the error further.
func wantAPIError(t *testing.T, err error, code string) *nifcloud.APIError {
	t.Helper()
	apiErr, ok := nifcloud.AsAPIError(err)
	if !ok {
		t.Fatalf("err = %v (%T), want APIError %s", err, err, code)
	}
	if apiErr.Code != code {
		t.Fatalf("code = %q (%v), want %q", apiErr.Code, err, code)
	}
	if apiErr.RequestID == "" {
		t.Errorf("error without request id: %v", err)
	}
	return apiErr
}

func TestSimInstances(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	all, err := e.client.DescribeInstances(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if all.RequestID == "" || len(all.Instances()) != 3 {
		t.Fatalf("all = %+v", all)
	}
	out, err := e.client.DescribeInstances(ctx, &nifcloud.DescribeInstancesInput{InstanceIDs: []string{"web1"}})
	if err != nil {
		t.Fatal(err)
	}
	insts := out.Instances()
	if len(insts) != 1 {
		t.Fatalf("instances = %+v", insts)
	}
	in := insts[0]
	if in.InstanceID != "web1" || in.InstanceUniqueID != "i-web00001" || in.InstanceType != "h2-large16" ||
		in.IPAddress != "203.0.113.11" || in.PrivateIPAddress != "10.0.0.11" || in.Placement.AvailabilityZone != zone ||
		in.State.Name != nifcloud.InstanceStateRunning || in.State.Code != 16 {
		t.Errorf("web1 = %+v", in)
	}
	var sawGlobal bool
	for _, ni := range in.NetworkInterfaces {
		if ni.NetworkID == nifcloud.NetworkCommonGlobal && ni.PublicIP == "203.0.113.11" {
			sawGlobal = true
		}
	}
	if !sawGlobal {
		t.Errorf("network interfaces = %+v", in.NetworkInterfaces)
	}
	db, err := e.client.DescribeInstances(ctx, &nifcloud.DescribeInstancesInput{InstanceIDs: []string{"db1"}})
	if err != nil || db.Instances()[0].State.Name != nifcloud.InstanceStateStopped {
		t.Errorf("db1 = %+v, %v", db, err)
	}

	_, err = e.client.DescribeInstances(ctx, &nifcloud.DescribeInstancesInput{InstanceIDs: []string{"nosuch"}})
	apiErr := wantAPIError(t, err, nifcloud.CodeInstanceNotFound)
	if !nifcloud.IsNotFound(err) || apiErr.HTTPStatus != http.StatusBadRequest {
		t.Errorf("not found: %+v", apiErr)
	}
	if n := e.sim.Controls().Count("DescribeInstances"); n != 4 {
		t.Errorf("DescribeInstances count = %d, want 4 (no retry of Client.*)", n)
	}

	attr, err := e.client.DescribeInstanceAttribute(ctx, &nifcloud.DescribeInstanceAttributeInput{InstanceID: "web1"})
	if err != nil {
		t.Fatal(err)
	}
	if attr.InstanceUniqueID != "i-web00001" || len(attr.BlockDeviceMappings) != 0 {
		t.Errorf("attribute = %+v", attr)
	}
	_, err = e.client.DescribeInstanceAttribute(ctx, &nifcloud.DescribeInstanceAttributeInput{InstanceID: "nosuch"})
	wantCode(t, err, nifcloud.CodeInstanceNotFound)
}

func TestSimVolumeLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client
	created, err := c.CreateVolume(ctx, &nifcloud.CreateVolumeInput{
		Size: 100, DiskType: "6", AccountingType: nifcloud.AccountingTypeHourly, InstanceID: "web1",
		Description: "pvc-00000000-1111-2222-3333-444444444444",
	})
	if err != nil {
		t.Fatal(err)
	}
	id := created.VolumeID
	if id == "" || created.Size != 100 || created.DiskType != "6" || created.AvailabilityZone != zone || created.RequestID == "" {
		t.Fatalf("created = %+v", created)
	}
	vol := describeVolume(t, c, id)
	if vol.Status != nifcloud.VolumeStatusInUse || len(vol.Attachments) != 1 || vol.Attachments[0].InstanceID != "web1" ||
		vol.Attachments[0].Status != nifcloud.AttachmentAttached || vol.Description != created.Description {
		t.Fatalf("after create = %+v", vol)
	}
	attr, err := c.DescribeInstanceAttribute(ctx, &nifcloud.DescribeInstanceAttributeInput{InstanceID: "web1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(attr.BlockDeviceMappings) != 1 || attr.BlockDeviceMappings[0].DeviceName != "SCSI (0:1)" ||
		attr.BlockDeviceMappings[0].EBS.VolumeID != id || attr.BlockDeviceMappings[0].EBS.VolumeUniqueID != vol.VolumeUniqueID {
		t.Errorf("block devices = %+v", attr.BlockDeviceMappings)
	}

	// Wrong state: already attached is a Server.Inoperable code, answered
	// with HTTP 400 by the simulator so that no client retries it.
	before := e.sim.Controls().Count("AttachVolume")
	_, err = c.AttachVolume(ctx, &nifcloud.AttachVolumeInput{VolumeID: id, InstanceID: "web2"})
	if apiErr := wantAPIError(t, err, nifcloud.CodeVolumeAlreadyAttached); apiErr.HTTPStatus != http.StatusBadRequest {
		t.Errorf("status = %d", apiErr.HTTPStatus)
	}
	if n := e.sim.Controls().Count("AttachVolume") - before; n != 1 {
		t.Errorf("AttachVolume attempts = %d, want 1", n)
	}
	// Deleting an attached volume fails.
	_, err = c.DeleteVolume(ctx, id)
	if apiErr, ok := nifcloud.AsAPIError(err); !ok || apiErr.Code == "" || nifcloud.IsRetryable(err) {
		t.Errorf("delete attached: %v", err)
	}

	det, err := c.DetachVolume(ctx, &nifcloud.DetachVolumeInput{VolumeID: id, InstanceID: "web1"})
	if err != nil {
		t.Fatal(err)
	}
	if det.VolumeID != id || det.InstanceID != "web1" || det.RequestID == "" {
		t.Errorf("detach = %+v", det)
	}
	if vol = describeVolume(t, c, id); vol.Status != nifcloud.VolumeStatusAvailable || len(vol.Attachments) != 0 {
		t.Errorf("after detach = %+v", vol)
	}
	_, err = c.DetachVolume(ctx, &nifcloud.DetachVolumeInput{VolumeID: id, InstanceID: "web1", Force: true})
	wantCode(t, err, nifcloud.CodeVolumeAlreadyDetached)

	if r, err := c.ExtendVolumeSize(ctx, &nifcloud.ExtendVolumeSizeInput{VolumeID: id, NiftyReboot: nifcloud.NiftyRebootFalse}); err != nil || !r.Return {
		t.Fatalf("extend = %+v, %v", r, err)
	}
	if vol = describeVolume(t, c, id); vol.Size != 200 {
		t.Errorf("size after extend = %d, want 200", vol.Size)
	}

	att, err := c.AttachVolume(ctx, &nifcloud.AttachVolumeInput{VolumeID: id, InstanceID: "web2"})
	if err != nil {
		t.Fatal(err)
	}
	if att.InstanceUniqueID != "i-web00002" || att.Device != "SCSI (0:1)" {
		t.Errorf("attach = %+v", att)
	}
	if vol = describeVolume(t, c, id); vol.Attachments[0].InstanceID != "web2" || vol.Status != nifcloud.VolumeStatusInUse {
		t.Errorf("after attach = %+v", vol)
	}
	if _, err := c.DetachVolume(ctx, &nifcloud.DetachVolumeInput{VolumeID: id, InstanceID: "web2"}); err != nil {
		t.Fatal(err)
	}
	if r, err := c.DeleteVolume(ctx, id); err != nil || !r.Return {
		t.Fatalf("delete = %+v, %v", r, err)
	}
	_, err = c.DescribeVolumes(ctx, &nifcloud.DescribeVolumesInput{VolumeIDs: []string{id}})
	wantCode(t, err, nifcloud.CodeVolumeNotFound)
	_, err = c.DeleteVolume(ctx, id)
	if !nifcloud.IsNotFound(err) {
		t.Errorf("delete again: %v", err)
	}

	// Duplicate VolumeId, unknown instance.
	if _, err := c.CreateVolume(ctx, &nifcloud.CreateVolumeInput{Size: 100, InstanceID: "web1", VolumeID: "fixedid"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateVolume(ctx, &nifcloud.CreateVolumeInput{Size: 100, InstanceID: "web2", VolumeID: "fixedid"})
	if !nifcloud.IsDuplicate(err) {
		t.Errorf("duplicate volume id: %v", err)
	}
	_, err = c.CreateVolume(ctx, &nifcloud.CreateVolumeInput{Size: 100, InstanceID: "nosuch"})
	wantCode(t, err, nifcloud.CodeInstanceNotFound)
	all, err := c.DescribeVolumes(ctx, nil)
	if err != nil || len(all.Volumes) != 1 || all.Volumes[0].VolumeID != "fixedid" {
		t.Errorf("all volumes = %+v, %v", all, err)
	}
}

func describeVolume(t *testing.T, c nifcloud.API, id string) nifcloud.Volume {
	t.Helper()
	out, err := c.DescribeVolumes(context.Background(), &nifcloud.DescribeVolumesInput{VolumeIDs: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Volumes) != 1 || out.Volumes[0].VolumeID != id {
		t.Fatalf("DescribeVolumes(%s) = %+v", id, out.Volumes)
	}
	return out.Volumes[0]
}

func TestSimAuthentication(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bad := e.newClient("not-the-secret", nil)
	before := e.hits.Load()
	_, err := bad.DescribeInstances(ctx, nil)
	apiErr := wantAPIError(t, err, nifcloud.CodeSignatureDoesNotMatch)
	if apiErr.HTTPStatus != http.StatusForbidden || nifcloud.IsRetryable(err) {
		t.Errorf("bad signature: %+v", apiErr)
	}
	if n := e.hits.Load() - before; n != 1 {
		t.Errorf("bad signature sent %d requests, want 1", n)
	}
	for _, leak := range []string{"not-the-secret", secretKey} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error leaks a secret: %v", err)
		}
	}
	unknown := e.newClient(secretKey, func(c *nifcloud.Config) { c.AccessKeyID = "UNKNOWNKEY" })
	_, err = unknown.DescribeInstances(ctx, nil)
	if apiErr, ok := nifcloud.AsAPIError(err); !ok || apiErr.HTTPStatus != http.StatusUnauthorized || nifcloud.IsRetryable(err) || nifcloud.IsNotFound(err) {
		t.Errorf("unknown access key: %v", err)
	}
}

func TestSimFaultsErrorThenRecovery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ctl := e.sim.Controls()

	// Every DescribeVolumes fails: the client gives up after MaxAttempts.
	ctl.SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"DescribeVolumes"}})
	_, err := e.client.DescribeVolumes(ctx, nil)
	wantCode(t, err, "Server.InternalError")
	if !nifcloud.IsRetryable(err) {
		t.Errorf("injected 500 should be retryable: %v", err)
	}
	if n := ctl.Count("DescribeVolumes"); n != 3 {
		t.Errorf("attempts = %d, want MaxAttempts=3", n)
	}
	// Faults limited to one action leave the others alone.
	if _, err := e.client.DescribeInstances(ctx, nil); err != nil {
		t.Errorf("DescribeInstances under DescribeVolumes faults: %v", err)
	}

	// Errors for a while, then success: the retries carry the call through.
	ctl.ResetCounts()
	start := e.hits.Load()
	e.onRequest(func(n int64) {
		if n-start == 2 {
			ctl.SetFaults(simcore.FaultConfig{})
		}
	})
	out, err := e.client.DescribeVolumes(ctx, nil)
	if err != nil || out == nil {
		t.Fatalf("after recovery: %v", err)
	}
	if n := ctl.Count("DescribeVolumes"); n != 3 {
		t.Errorf("attempts = %d, want 3 (2 injected errors + success)", n)
	}
}

func TestSimThrottlingHonoursRetryAfter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ctl := e.sim.Controls()
	ctl.SetFaults(simcore.FaultConfig{ThrottleRate: 1, RetryAfter: time.Second, Actions: []string{"DescribeSecurityGroups"}})
	start := e.hits.Load()
	e.onRequest(func(n int64) {
		if n-start == 2 {
			ctl.SetFaults(simcore.FaultConfig{})
		}
	})
	t0 := time.Now()
	out, err := e.client.DescribeSecurityGroups(ctx, nil)
	if err != nil {
		t.Fatalf("DescribeSecurityGroups: %v", err)
	}
	if len(out.SecurityGroups) == 0 {
		t.Errorf("no groups: %+v", out)
	}
	if n := ctl.Count("DescribeSecurityGroups"); n != 3 {
		t.Errorf("attempts = %d, want 3", n)
	}
	// Two throttled answers with Retry-After: 1 each; the client's own
	// backoff is milliseconds, so the wait comes from the header.
	if d := time.Since(t0); d < 1900*time.Millisecond {
		t.Errorf("took %v, want >= 2s (Retry-After honoured twice)", d)
	}

	// Throttled past MaxAttempts: the final error is the throttling answer.
	ctl.SetFaults(simcore.FaultConfig{ThrottleRate: 1, Actions: []string{"DescribeSecurityGroups"}})
	e.onRequest(func(int64) {})
	quick := e.newClient(secretKey, func(c *nifcloud.Config) { c.MaxAttempts = 1 })
	_, err = quick.DescribeSecurityGroups(ctx, nil)
	if !nifcloud.IsThrottling(err) {
		t.Errorf("err = %v, want throttling", err)
	}
	if apiErr, ok := nifcloud.AsAPIError(err); !ok || apiErr.RetryAfter < time.Second {
		t.Errorf("Retry-After not surfaced: %+v", apiErr)
	}
}

func TestSimTimeoutFaultAndCancellation(t *testing.T) {
	e := newEnv(t)
	ctl := e.sim.Controls()
	ctl.SetFaults(simcore.FaultConfig{TimeoutRate: 1, Timeout: 10 * time.Second, Actions: []string{"DescribeInstances"}})
	c := e.newClient(secretKey, func(c *nifcloud.Config) { c.Timeout = 200 * time.Millisecond; c.MaxAttempts = 2 })
	t0 := time.Now()
	_, err := c.DescribeInstances(context.Background(), nil)
	if err == nil || !nifcloud.IsRetryable(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout fault: err = %v", err)
	}
	if n := ctl.Count("DescribeInstances"); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("per-attempt timeout not applied: took %v", d)
	}

	// The caller's context ends the call (and the retries) early.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	slow := e.newClient(secretKey, func(c *nifcloud.Config) { c.MaxAttempts = 10 })
	t0 = time.Now()
	_, err = slow.DescribeInstances(ctx, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ctx deadline: err = %v", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("cancellation ignored: took %v", d)
	}
	if n := ctl.Count("DescribeInstances"); n != 3 {
		t.Errorf("attempts = %d, want 3 (one more, cut by the caller's deadline)", n)
	}
}
