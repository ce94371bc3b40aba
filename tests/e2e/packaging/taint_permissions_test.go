package packaging

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"

	"github.com/kumo-project/kumo/pkg/csi/startuptaint"
)

// TestNodePluginRemovesStartupTaintWithShippedRBAC: for each cloud and
// install path, only that rendering's RBAC is created and kumo's real
// startup taint remover runs as the node ServiceAccount against a real
// API server: it must read the CSINode and strip <driver>/agent-not-ready
// from the Node, keeping the other taints, and the ServiceAccount must get
// nothing beyond that. The driver container must also get a token.
func TestNodePluginRemovesStartupTaintWithShippedRBAC(t *testing.T) {
	s := startAPIServer(t)
	for _, cloud := range clouds {
		helm, err := renderChart("charts/kumo-csi-driver", "kube-system", chartValues(cloud))
		if err != nil {
			t.Fatal(err)
		}
		for how, objs := range map[string]objects{"kustomize": renderKustomize(t, "deploy/csi/overlays/"+cloud), "helm": helm} {
			t.Run(cloud+"/"+how, func(t *testing.T) {
				node, ok := podSpecs(t, objs)["kumo-csi-node"]
				if !ok {
					t.Fatal("no kumo-csi-node DaemonSet")
				}
				for _, c := range node.Containers {
					if c.Name == "csi-driver" && !mountsToken(node, c) {
						t.Error("csi-driver has no ServiceAccount token: it cannot remove the startup taint")
					}
				}
				drivers := objs.ofKind("CSIDriver")
				if len(drivers) != 1 {
					t.Fatalf("%d CSIDrivers rendered", len(drivers))
				}
				s.applyRBACOnly(t, objs)
				removeTaintAsNodeServiceAccount(t, s, "taint-"+cloud+"-"+how, drivers[0].GetName())
				for _, p := range []permission{
					{verb: "list", resource: "nodes"}, {verb: "watch", resource: "nodes"}, {verb: "update", resource: "nodes"},
					{verb: "delete", resource: "nodes"}, {verb: "patch", resource: "nodes", sub: "status"},
					{verb: "list", group: "storage.k8s.io", resource: "csinodes"}, {verb: "update", group: "storage.k8s.io", resource: "csinodes"},
					{verb: "patch", group: "storage.k8s.io", resource: "csinodes"},
				} {
					p.sa, p.why = "kumo-csi-node", "least privilege: get and patch nodes, get csinodes only"
					if s.allowed(t, p) {
						t.Errorf("%s: allowed (%s)", p, p.why)
					}
				}
			})
		}
	}
}

// applyRBACOnly creates the rendering's RBAC objects and deletes them when
// the test ends, so the next rendering is judged on its own.
func (s *apiServer) applyRBACOnly(t *testing.T, objs objects) {
	t.Helper()
	var created []*unstructured.Unstructured
	for _, k := range objs.keys() {
		switch objs[k].GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			if err := s.apply(objs[k], false); err != nil {
				t.Fatal(err)
			}
			created = append(created, objs[k])
		}
	}
	t.Cleanup(func() {
		for _, u := range created {
			gvk := u.GroupVersionKind()
			m, err := s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Error(err)
				continue
			}
			if err := s.dyn.Resource(m.Resource).Namespace(u.GetNamespace()).Delete(s.ctx, u.GetName(), metav1.DeleteOptions{}); err != nil {
				t.Errorf("delete %s: %v", key(u), err)
			}
		}
	})
}

// removeTaintAsNodeServiceAccount registers a Node with the startup taint
// and a CSINode listing the driver (as the kubelet would), then runs the
// remover with the node ServiceAccount's identity.
func removeTaintAsNodeServiceAccount(t *testing.T, s *apiServer, nodeName, driverName string) {
	t.Helper()
	key := startuptaint.Key(driverName)
	other := corev1.Taint{Key: "example.com/keep", Value: "yes", Effect: corev1.TaintEffectNoSchedule}
	if _, err := s.client.CoreV1().Nodes().Create(s.ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: nodeName},
		Spec:       corev1.NodeSpec{Taints: []corev1.Taint{{Key: key, Effect: corev1.TaintEffectNoExecute}, other}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.StorageV1().CSINodes().Create(s.ctx, &storagev1.CSINode{
		ObjectMeta: metav1.ObjectMeta{Name: nodeName},
		Spec:       storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{Name: driverName, NodeID: "i-" + nodeName}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := startuptaint.New(startuptaint.Options{
		Client: s.impersonate(t, "kumo-csi-node"), NodeName: nodeName, DriverName: driverName,
		InitialBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, RecheckFor: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The RBAC authorizer sees new bindings through its informers: allow
	// a few Forbidden retries, not a hang.
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	<-r.Start(ctx)
	var got []corev1.Taint
	err = retry.OnError(retry.DefaultBackoff, func(error) bool { return true }, func() error {
		n, err := s.client.CoreV1().Nodes().Get(s.ctx, nodeName, metav1.GetOptions{})
		if err == nil {
			got = n.Spec.Taints
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Admission (TaintNodesByCondition) adds node.kubernetes.io/not-ready
	// too: every taint but ours must stay.
	kept := false
	for _, tt := range got {
		if tt.Key == key {
			t.Errorf("%s still has %s after the node plugin ran as kumo-csi-node: the RBAC does not suffice", nodeName, key)
		}
		kept = kept || tt == other
	}
	if !kept || len(got) != 2 {
		t.Errorf("taints of %s: %v, want %s and the admission's not-ready taint kept", nodeName, got, other.Key)
	}
}
