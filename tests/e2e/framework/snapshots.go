package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// InstallSnapshotCRDs creates the VolumeSnapshot CRDs hack/build-kube.sh
// copied from external-snapshotter's client module and waits until the API
// server serves them.
func InstallSnapshotCRDs(ctx context.Context, cp *ControlPlane, crdDir string) error {
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil || len(files) != 3 {
		return fmt.Errorf("%w: VolumeSnapshot CRDs in %s (found %d; hack/build-kube.sh copies them)", ErrMissingBinary, crdDir, len(files))
	}
	for _, f := range files {
		if _, err := ApplyFile(ctx, cp.Config, f); err != nil {
			return err
		}
	}
	dyn, err := dynamic.NewForConfig(cp.Config)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, res := range []string{"volumesnapshotclasses", "volumesnapshotcontents", "volumesnapshots"} {
		gvr := schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: res}
		if err := WaitFor(wctx, res+" served", 200*time.Millisecond, nil, func(ctx context.Context) (bool, error) {
			_, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
			return err == nil, err
		}); err != nil {
			return err
		}
	}
	return nil
}

// StartSnapshotController runs the common snapshot-controller.
func StartSnapshotController(cp *ControlPlane, bin string) (*Process, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMissingBinary, bin)
	}
	return StartProcess("snapshot-controller", cp.LogDir, bin, []string{
		"--kubeconfig=" + cp.Kubeconfig, "--leader-election=false", "--v=4",
	}, nil)
}
