package startuptaint

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"
)

const (
	driver = "cinder.csi.openstack.org"
	node   = "node-1"
)

var key = Key(driver)

func taintedNode(taints ...v1.Taint) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}, Spec: v1.NodeSpec{Taints: taints}}
}

func csiNode(drivers ...string) *storagev1.CSINode {
	n := &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: node}}
	for _, d := range drivers {
		n.Spec.Drivers = append(n.Spec.Drivers, storagev1.CSINodeDriver{Name: d, NodeID: "id-" + d, Allocatable: &storagev1.VolumeNodeResources{Count: ptr.To[int32](25)}})
	}
	return n
}

func fastOptions(c *fake.Clientset) Options {
	return Options{Client: c, NodeName: node, DriverName: driver, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, RecheckFor: -1}
}

// testContext has a logger at -v=2 that also keeps what it logged.
func testContext(t *testing.T) (context.Context, ktesting.Buffer) {
	t.Helper()
	logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.Verbosity(2), ktesting.BufferLogs(true)))
	ctx, cancel := context.WithTimeout(klog.NewContext(context.Background(), logger), 10*time.Second)
	t.Cleanup(cancel)
	return ctx, logger.GetSink().(ktesting.Underlier).GetBuffer()
}

func mustNew(t *testing.T, opts Options) *Remover {
	t.Helper()
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func taintKeys(t *testing.T, c *fake.Clientset) []string {
	t.Helper()
	n, err := c.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, tt := range n.Spec.Taints {
		keys = append(keys, tt.Key+":"+string(tt.Effect))
	}
	return keys
}

func patches(c *fake.Clientset) int {
	n := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == "patch" {
			n++
		}
	}
	return n
}

// waitUntil polls cond for up to 5s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestNewNamesMissingParameters(t *testing.T) {
	_, err := New(Options{InitialBackoff: -time.Second})
	if err == nil {
		t.Fatal("New accepted empty options")
	}
	for _, want := range []string{"Kubernetes client", "node name", "--node-name", "driver name", "initial backoff"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	r := mustNew(t, Options{Client: fake.NewClientset(), NodeName: node, DriverName: driver})
	if r.TaintKey() != "cinder.csi.openstack.org/agent-not-ready" {
		t.Errorf("key %q", r.TaintKey())
	}
	if r.opts.InitialBackoff != DefaultInitialBackoff || r.opts.MaxBackoff != DefaultMaxBackoff || r.opts.RecheckFor != DefaultRecheckFor {
		t.Errorf("defaults not filled: %+v", r.opts)
	}
}

func TestAbsentTaintWritesAndLogsNothing(t *testing.T) {
	c := fake.NewClientset(taintedNode(v1.Taint{Key: "other", Effect: v1.TaintEffectNoSchedule}), csiNode(driver))
	ctx, buf := testContext(t)
	mustNew(t, fastOptions(c)).Run(ctx)
	if n := patches(c); n != 0 {
		t.Errorf("%d patches without the taint", n)
	}
	for _, a := range c.Actions() {
		if a.GetResource().Resource == "csinodes" {
			t.Errorf("read CSINode although the node has no startup taint")
		}
	}
	if log := buf.String(); log != "" {
		t.Errorf("logged without a taint to remove:\n%s", log)
	}
}

func TestWaitsForCSINodeThenRemovesEveryEffect(t *testing.T) {
	c := fake.NewClientset(taintedNode(
		v1.Taint{Key: key, Effect: v1.TaintEffectNoExecute},
		v1.Taint{Key: "keep-me", Value: "x", Effect: v1.TaintEffectNoSchedule},
		v1.Taint{Key: key, Effect: v1.TaintEffectNoSchedule},
	))
	ctx, buf := testContext(t)
	done := mustNew(t, fastOptions(c)).Start(ctx)

	// No CSINode, then a CSINode with another driver only: the taint stays.
	time.Sleep(30 * time.Millisecond)
	if _, err := c.StorageV1().CSINodes().Create(ctx, csiNode("other.csi.example.com"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if n := patches(c); n != 0 {
		t.Fatalf("patched the Node %d times before the driver was registered", n)
	}
	if got := taintKeys(t, c); len(got) != 3 {
		t.Fatalf("taints changed before registration: %v", got)
	}
	if _, err := c.StorageV1().CSINodes().Update(ctx, csiNode("other.csi.example.com", driver), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("remover did not finish after registration")
	}
	if got := taintKeys(t, c); len(got) != 1 || got[0] != "keep-me:NoSchedule" {
		t.Errorf("taints after removal %v, want only keep-me", got)
	}
	log := buf.String()
	if strings.Count(log, "Keeping the startup taint") != 1 {
		t.Errorf("want the wait logged once:\n%s", log)
	}
	if !strings.Contains(log, "Removed the startup taint") || !strings.Contains(log, `"NoExecute"`) {
		t.Errorf("removal not logged with its effects:\n%s", log)
	}
}

// TestConcurrentTaintChangeIsKept: another agent changes the taints
// between our read and our patch; the API server's 422 for the failed
// "test" makes the remover read again, and the other change survives.
func TestConcurrentTaintChangeIsKept(t *testing.T) {
	c := fake.NewClientset(taintedNode(v1.Taint{Key: key, Effect: v1.TaintEffectNoExecute}), csiNode(driver))
	var raced atomic.Bool
	c.PrependReactor("patch", "nodes", func(clienttesting.Action) (bool, runtime.Object, error) {
		if raced.Swap(true) {
			return false, nil, nil
		}
		n, err := c.Tracker().Get(schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, "", node)
		if err != nil {
			return true, nil, err
		}
		n.(*v1.Node).Spec.Taints = append(n.(*v1.Node).Spec.Taints, v1.Taint{Key: "efs.csi.aws.com/agent-not-ready", Effect: v1.TaintEffectNoExecute})
		if err := c.Tracker().Update(schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, n, ""); err != nil {
			return true, nil, err
		}
		// What kube-apiserver answers when a JSON patch "test" fails.
		return true, nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "patch", schema.GroupResource{Resource: "nodes"}, node, "testing value /spec/taints failed", 0, false)
	})
	ctx, _ := testContext(t)
	mustNew(t, fastOptions(c)).Run(ctx)
	if got := taintKeys(t, c); len(got) != 1 || got[0] != "efs.csi.aws.com/agent-not-ready:NoExecute" {
		t.Errorf("taints %v, want the concurrently added one only", got)
	}
	if n := patches(c); n != 2 {
		t.Errorf("%d patches, want 2 (the raced one and the retry)", n)
	}
}

// TestForbiddenIsLoggedOnceAndRetried: without RBAC the remover says what
// is missing once, keeps retrying and succeeds once RBAC is granted.
func TestForbiddenIsLoggedOnceAndRetried(t *testing.T) {
	c := fake.NewClientset(taintedNode(v1.Taint{Key: key, Effect: v1.TaintEffectNoExecute}), csiNode(driver))
	var denied atomic.Int32
	var allow atomic.Bool
	c.PrependReactor("get", "nodes", func(clienttesting.Action) (bool, runtime.Object, error) {
		if allow.Load() {
			return false, nil, nil
		}
		denied.Add(1)
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, node, errors.New("RBAC: access denied"))
	})
	ctx, buf := testContext(t)
	done := mustNew(t, fastOptions(c)).Start(ctx)
	waitUntil(t, "several denied attempts", func() bool { return denied.Load() >= 5 })
	allow.Store(true)
	<-done
	log := buf.String()
	if n := strings.Count(log, "needs get and patch on nodes and get on csinodes.storage.k8s.io"); n != 1 {
		t.Errorf("RBAC hint logged %d times, want once:\n%s", n, log)
	}
	if got := taintKeys(t, c); len(got) != 0 {
		t.Errorf("taints %v after RBAC was granted", got)
	}
}

// TestTaintPutBackIsRemovedAgain: whatever provisions nodes may add the
// taint after the plugin removed it; the recheck period catches that.
func TestTaintPutBackIsRemovedAgain(t *testing.T) {
	c := fake.NewClientset(taintedNode(v1.Taint{Key: key, Effect: v1.TaintEffectNoExecute}), csiNode(driver))
	opts := fastOptions(c)
	opts.RecheckFor, opts.RecheckEvery = time.Hour, time.Millisecond
	ctx, _ := testContext(t)
	ctx, cancel := context.WithCancel(ctx)
	done := mustNew(t, opts).Start(ctx)
	waitUntil(t, "first removal", func() bool { return patches(c) == 1 })
	n, err := c.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: key, Effect: v1.TaintEffectNoSchedule})
	if _, err := c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "second removal", func() bool { return patches(c) == 2 })
	if got := taintKeys(t, c); len(got) != 0 {
		t.Errorf("taints %v after the second removal", got)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop when its context ended")
	}
}

// TestStopsOnContextWhileWaiting: a node whose driver never registers
// keeps its taint and the remover ends with the process.
func TestStopsOnContextWhileWaiting(t *testing.T) {
	c := fake.NewClientset(taintedNode(v1.Taint{Key: key, Effect: v1.TaintEffectNoExecute}))
	opts := fastOptions(c)
	opts.InitialBackoff, opts.MaxBackoff = time.Hour, time.Hour
	ctx, _ := testContext(t)
	ctx, cancel := context.WithCancel(ctx)
	done := mustNew(t, opts).Start(ctx)
	waitUntil(t, "the first attempt", func() bool { return len(c.Actions()) >= 2 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop when its context ended")
	}
	if got := taintKeys(t, c); len(got) != 1 {
		t.Errorf("taints %v: an unregistered driver must keep its taint", got)
	}
}

// TestWaitsForTheNodeWithoutErrors: the plugin usually starts before the
// kubelet registers its Node; that is waited for, not reported as a
// failure.
func TestWaitsForTheNodeWithoutErrors(t *testing.T) {
	c := fake.NewClientset(csiNode(driver))
	ctx, buf := testContext(t)
	done := mustNew(t, fastOptions(c)).Start(ctx)
	waitUntil(t, "a few Node lookups", func() bool { return len(c.Actions()) >= 4 })
	if _, err := c.CoreV1().Nodes().Create(ctx, taintedNode(v1.Taint{Key: key, Effect: v1.TaintEffectNoExecute}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	<-done
	if got := taintKeys(t, c); len(got) != 0 {
		t.Errorf("taints %v", got)
	}
	log := buf.String()
	if strings.Count(log, "Waiting for the kubelet to register the Node") != 1 || strings.Contains(log, "err=") {
		t.Errorf("want one wait message and no error:\n%s", log)
	}
}
