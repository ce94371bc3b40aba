package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
)

var (
	snapshotGVR      = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}
	snapshotClassGVR = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}
)

// snapshotRestoreScenario: a VolumeSnapshot of the written claim becomes
// ready through snapshot-controller and csi-snapshotter, a claim restored
// from it carries the file, and deleting the snapshot deletes the cloud's.
func snapshotRestoreScenario(t *testing.T, c *podCluster, sc podStorageCase) {
	ctx := c.ctx
	dyn, err := dynamic.NewForConfig(c.cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	class := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
		"metadata": map[string]any{"name": "kumo-snapshots"}, "driver": sc.driverName, "deletionPolicy": "Delete",
	}}
	if _, err := dyn.Resource(snapshotClassGVR).Create(ctx, class, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	snap := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
		"metadata": map[string]any{"name": "data-snap", "namespace": "default"},
		"spec":     map[string]any{"volumeSnapshotClassName": "kumo-snapshots", "source": map[string]any{"persistentVolumeClaimName": "data"}},
	}}
	snaps := dyn.Resource(snapshotGVR).Namespace("default")
	if _, err := snaps.Create(ctx, snap, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.eventually("VolumeSnapshot ready", 2*time.Minute, func(ctx context.Context) (bool, error) {
		s, err := snaps.Get(ctx, "data-snap", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready, _, _ := unstructured.NestedBool(s.Object, "status", "readyToUse")
		return ready, fmt.Errorf("status %v", s.Object["status"])
	})
	// csi-snapshotter's --extra-create-metadata reaches Cinder.
	st, err := (&openstackEnv{env: c.env}).state(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tagged := 0
	for _, s := range st.Snapshots {
		if s.Metadata["csi.storage.k8s.io/volumesnapshot/name"] == "data-snap" && s.Metadata["csi.storage.k8s.io/volumesnapshot/namespace"] == "default" &&
			s.Metadata["csi.storage.k8s.io/volumesnapshotcontent/name"] != "" {
			tagged++
		}
	}
	if tagged != 1 {
		t.Errorf("%d of %d Cinder snapshots carry the VolumeSnapshot's names: %+v", tagged, len(st.Snapshots), st.Snapshots)
	}
	k := c.cp.Client
	if _, err := k.CoreV1().PersistentVolumeClaims("default").Create(ctx, &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "restored", Namespace: "default"},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			StorageClassName: ptr.To("kumo-wffc"),
			DataSource:       &v1.TypedLocalObjectReference{APIGroup: ptr.To("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "data-snap"},
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if log := c.runPod(t, busyboxPod("restore-reader", sc.nodes[1], "restored", "cat /data/out.txt")); strings.TrimSpace(log) != "kumo-was-here" {
		t.Errorf("restored claim holds %q", log)
	}
	if err := snaps.Delete(ctx, "data-snap", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.eventually("VolumeSnapshot and its content gone", 2*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := snaps.Get(ctx, "data-snap", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("snapshot still there (%v)", err)
		}
		contents, err := dyn.Resource(schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotcontents"}).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		return len(contents.Items) == 0, fmt.Errorf("%d contents left", len(contents.Items))
	})
}
