package packaging

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/utils/ptr"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// fieldManager owns whatever the tests apply.
const fieldManager = "kumo-packaging-test"

// apiServer is a real control plane plus clients to apply manifests.
type apiServer struct {
	ctx    context.Context
	cfg    *rest.Config // cluster admin (system:masters)
	client kubernetes.Interface
	dyn    dynamic.Interface
	mapper meta.RESTMapper
}

// startAPIServer starts etcd and kube-apiserver from the binaries that
// hack/build-kube.sh leaves in tests/e2e/.bin; it needs none of kumo's own
// commands. Missing binaries fail the test, or skip it with -short.
func startAPIServer(t *testing.T) *apiServer {
	t.Helper()
	etcd, apiserver, err := kubeBinaries(repoRoot(t))
	if err != nil {
		if testing.Short() {
			t.Skipf("skipping API server checks with -short: %v", err)
		}
		t.Fatalf("%v (run hack/build-kube.sh, or use -short to skip)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	cp, err := framework.StartControlPlane(ctx, framework.Binaries{Etcd: etcd, APIServer: apiserver}, t.TempDir(),
		framework.ControlPlaneOptions{APIServerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range cp.Processes() {
				t.Logf("%s log tail:\n%s", p.Name, p.LogTail(30))
			}
		}
		cp.Stop()
	})
	// The chart's VolumeSnapshotClasses need the snapshot CRDs, which
	// hack/build-kube.sh leaves next to the binaries.
	if err := framework.InstallSnapshotCRDs(ctx, cp, filepath.Join(filepath.Dir(apiserver), "crds")); err != nil {
		t.Fatal(err)
	}
	cfg := cp.Config
	client := cp.Client
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := restmapper.GetAPIGroupResources(client.Discovery())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &apiServer{ctx: ctx, cfg: cfg, client: client, dyn: dyn, mapper: restmapper.NewDiscoveryRESTMapper(groups)}
}

// kubeBinaries locates etcd and kube-apiserver without building anything.
func kubeBinaries(root string) (etcd, apiserver string, err error) {
	etcd, err = exec.LookPath("etcd")
	if err != nil {
		return "", "", fmt.Errorf("%w: etcd (KUMO_NEED_ETCD=1 hack/install-deps.sh)", framework.ErrMissingBinary)
	}
	dir := os.Getenv("KUMO_BIN_DIR")
	if dir == "" {
		dir = filepath.Join(root, "tests", "e2e", ".bin")
	}
	apiserver = filepath.Join(dir, "kube-apiserver")
	if _, err := os.Stat(apiserver); err != nil {
		return "", "", fmt.Errorf("%w: %s", framework.ErrMissingBinary, apiserver)
	}
	return etcd, apiserver, nil
}

// apply sends u as a server-side apply with strict field validation, so
// unknown or misplaced fields are errors, not warnings. dryRun leaves
// nothing behind.
func (s *apiServer) apply(u *unstructured.Unstructured, dryRun bool) error {
	gvk := u.GroupVersionKind()
	m, err := s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s: %w", key(u), err)
	}
	var ri dynamic.ResourceInterface = s.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			return fmt.Errorf("%s: namespaced object without a namespace", key(u))
		}
		ri = s.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	data, err := u.MarshalJSON()
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: fieldManager, Force: ptr.To(true), FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := ri.Patch(s.ctx, u.GetName(), types.ApplyPatchType, data, opts); err != nil {
		return fmt.Errorf("%s: %w", key(u), err)
	}
	return nil
}

// applyAll applies every object and joins the errors.
func (s *apiServer) applyAll(objs objects, dryRun bool) error {
	var errs []error
	for _, k := range objs.keys() {
		errs = append(errs, s.apply(objs[k], dryRun))
	}
	return errors.Join(errs...)
}
