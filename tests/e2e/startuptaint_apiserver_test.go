package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kumo-project/kumo/pkg/csi/startuptaint"
	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// patchSpy records the status of every PATCH of a Node and can change the
// Node's taints (as another agent would) just before the first one reaches
// the API server.
type patchSpy struct {
	next   http.RoundTripper
	before func()
	mu     sync.Mutex
	codes  []int
}

func (s *patchSpy) RoundTrip(req *http.Request) (*http.Response, error) {
	isPatch := req.Method == http.MethodPatch && strings.HasPrefix(req.URL.Path, "/api/v1/nodes/")
	if isPatch {
		s.mu.Lock()
		first := len(s.codes) == 0
		s.mu.Unlock()
		if first && s.before != nil {
			s.before()
		}
	}
	resp, err := s.next.RoundTrip(req)
	if isPatch && err == nil {
		s.mu.Lock()
		s.codes = append(s.codes, resp.StatusCode)
		s.mu.Unlock()
	}
	return resp, err
}

func (s *patchSpy) statuses() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.codes...)
}

// TestStartupTaintRemoverAgainstAPIServer runs kumo's startup taint
// remover against a real kube-apiserver: a taint another agent adds
// between our read and our patch makes the API server refuse the patch
// (422, failed "test") and survives the retry; a Node without the taint is
// never written to.
func TestStartupTaintRemoverAgainstAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	bins, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cp, err := framework.StartControlPlane(ctx, framework.Binaries{Etcd: bins.Etcd, APIServer: bins.APIServer}, t.TempDir(), framework.ControlPlaneOptions{APIServerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	const driverName = "cinder.csi.openstack.org"
	key := startuptaint.Key(driverName)
	other := v1.Taint{Key: "efs.csi.aws.com/agent-not-ready", Effect: v1.TaintEffectNoExecute}

	register := func(t *testing.T, name string, taints ...v1.Taint) {
		t.Helper()
		if _, err := cp.Client.CoreV1().Nodes().Create(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.NodeSpec{Taints: taints}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cp.Client.StorageV1().CSINodes().Create(ctx, &storagev1.CSINode{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{Name: driverName, NodeID: "server-" + name}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	run := func(t *testing.T, name string, spy *patchSpy) []v1.Taint {
		t.Helper()
		cfg := rest.CopyConfig(cp.Config)
		cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { spy.next = rt; return spy })
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r, err := startuptaint.New(startuptaint.Options{Client: client, NodeName: name, DriverName: driverName, InitialBackoff: 50 * time.Millisecond, RecheckFor: -1})
		if err != nil {
			t.Fatal(err)
		}
		rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
		defer rcancel()
		r.Run(rctx)
		n, err := cp.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return n.Spec.Taints
	}

	t.Run("a concurrent taint change is refused, re-read and kept", func(t *testing.T) {
		register(t, "racy", v1.Taint{Key: key, Effect: v1.TaintEffectNoExecute})
		spy := &patchSpy{before: func() {
			n, err := cp.Client.CoreV1().Nodes().Get(ctx, "racy", metav1.GetOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			n.Spec.Taints = append(n.Spec.Taints, other)
			if _, err := cp.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
				t.Error(err)
			}
		}}
		taints := run(t, "racy", spy)
		if codes := spy.statuses(); len(codes) != 2 || codes[0] != http.StatusUnprocessableEntity || codes[1] != http.StatusOK {
			t.Errorf("PATCH statuses %v, want [422 200]: the stale patch must be refused, the re-read one accepted", codes)
		}
		kept := false
		for _, tt := range taints {
			if tt.Key == key {
				t.Errorf("startup taint still there: %v", taints)
			}
			kept = kept || tt.Key == other.Key
		}
		if !kept {
			t.Errorf("the concurrently added %s was overwritten: %v", other.Key, taints)
		}
	})

	t.Run("a node without the taint is not written to", func(t *testing.T) {
		register(t, "clean", other)
		spy := &patchSpy{}
		taints := run(t, "clean", spy)
		if codes := spy.statuses(); len(codes) != 0 {
			t.Errorf("%d PATCHes of a Node without the startup taint", len(codes))
		}
		if !framework.HasTaint(&v1.Node{Spec: v1.NodeSpec{Taints: taints}}, other.Key) {
			t.Errorf("taints %v", taints)
		}
	})
}
