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
	snapshotGVR        = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}
	snapshotClassGVR   = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}
	snapshotContentGVR = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotcontents"}
)

// snapshotKind is one VolumeSnapshotClass of the restore scenario.
type snapshotKind struct {
	class, snapshot, restored string
	params                    map[string]any
	// tagged counts the cloud objects (Cinder snapshots or backups) that
	// carry the VolumeSnapshot's names from --extra-create-metadata.
	tagged func(st openstackState, snapshot string) int
}

// cinderSnapshots and cinderBackups are the two kinds of Cinder
// VolumeSnapshotClass (parameter type: snapshot, the default, or backup).
var (
	cinderSnapshots = snapshotKind{class: "kumo-snapshots", snapshot: "data-snap", restored: "restored",
		tagged: func(st openstackState, name string) int {
			n := 0
			for _, s := range st.Snapshots {
				n += taggedWith(s.Metadata, name)
			}
			return n
		}}
	cinderBackups = snapshotKind{class: "kumo-backups", snapshot: "data-backup", restored: "restored-backup",
		params: map[string]any{"type": "backup"},
		tagged: func(st openstackState, name string) int {
			n := 0
			for _, b := range st.Backups {
				n += taggedWith(b.Metadata, name)
			}
			return n
		}}
)

func taggedWith(md map[string]string, snapshot string) int {
	if md["csi.storage.k8s.io/volumesnapshot/name"] == snapshot && md["csi.storage.k8s.io/volumesnapshot/namespace"] == "default" &&
		md["csi.storage.k8s.io/volumesnapshotcontent/name"] != "" {
		return 1
	}
	return 0
}

// snapshotRestoreScenario: a VolumeSnapshot of the written claim becomes
// ready through snapshot-controller and the real csi-snapshotter, the
// cloud object carries the VolumeSnapshot's names, a claim restored from
// it carries the file, and deleting the snapshot deletes the cloud's.
func snapshotRestoreScenario(t *testing.T, c *podCluster, sc podStorageCase, kind snapshotKind) {
	ctx := c.ctx
	dyn, err := dynamic.NewForConfig(c.cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	class := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
		"metadata": map[string]any{"name": kind.class}, "driver": sc.driverName, "deletionPolicy": "Delete",
	}}
	if kind.params != nil {
		class.Object["parameters"] = kind.params
	}
	if _, err := dyn.Resource(snapshotClassGVR).Create(ctx, class, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	snap := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
		"metadata": map[string]any{"name": kind.snapshot, "namespace": "default"},
		"spec":     map[string]any{"volumeSnapshotClassName": kind.class, "source": map[string]any{"persistentVolumeClaimName": "data"}},
	}}
	snaps := dyn.Resource(snapshotGVR).Namespace("default")
	if _, err := snaps.Create(ctx, snap, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.eventually("VolumeSnapshot "+kind.snapshot+" ready", 2*time.Minute, func(ctx context.Context) (bool, error) {
		s, err := snaps.Get(ctx, kind.snapshot, metav1.GetOptions{})
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
	if n := kind.tagged(st, kind.snapshot); n != 1 {
		t.Errorf("%d Cinder objects carry the names of VolumeSnapshot %s (snapshots %+v, backups %+v)", n, kind.snapshot, st.Snapshots, st.Backups)
	}
	k := c.cp.Client
	if _, err := k.CoreV1().PersistentVolumeClaims("default").Create(ctx, &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: kind.restored, Namespace: "default"},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			StorageClassName: ptr.To("kumo-wffc"),
			DataSource:       &v1.TypedLocalObjectReference{APIGroup: ptr.To("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: kind.snapshot},
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if log := c.runPod(t, busyboxPod(kind.restored+"-reader", sc.nodes[1], kind.restored, "cat /data/out.txt")); strings.TrimSpace(log) != "kumo-was-here" {
		t.Errorf("claim %s restored from %s holds %q", kind.restored, kind.snapshot, log)
	}
	if err := snaps.Delete(ctx, kind.snapshot, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.eventually("VolumeSnapshot "+kind.snapshot+", its content and the cloud's object gone", 2*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := snaps.Get(ctx, kind.snapshot, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("snapshot still there (%v)", err)
		}
		contents, err := dyn.Resource(snapshotContentGVR).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		st, err := (&openstackEnv{env: c.env}).state(ctx)
		if err != nil {
			return false, err
		}
		left := kind.tagged(st, kind.snapshot)
		return len(contents.Items) == 0 && left == 0, fmt.Errorf("%d contents and %d cloud objects left", len(contents.Items), left)
	})
}
