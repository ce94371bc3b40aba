package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// cinderVolumes is the simulator's view of the volumes' types.
type cinderVolumes struct {
	Volumes map[string]struct {
		Name       string `json:"name"`
		Status     string `json:"status"`
		VolumeType string `json:"volume_type"`
	} `json:"volumes"`
}

// TestOpenStackModifyVolume: storage.k8s.io/v1 VolumeAttributesClasses
// through the real csi-provisioner and csi-resizer v2, on an API server
// that serves no v1beta1 classes (Kubernetes 1.37 as shipped). A bound
// claim moved to a class with another Cinder type is retyped and reports
// the class as current; a class naming a type Cinder lacks leaves the
// claim Infeasible with a condition and a warning Event naming the
// parameter, and the volume keeps its type; a claim created with a class
// gets the class's type.
func TestOpenStackModifyVolume(t *testing.T) {
	e := newEnv(t, framework.CloudsimOptions{
		Transition: "volume.create=200ms,volume.retype=1s,volume.delete=200ms",
		Env:        framework.SimEnv(),
	})
	// The resizer must work from the v1 API alone: v1.14 watched v1beta1.
	if rs, err := e.cp.Client.Discovery().ServerResourcesForGroupVersion("storage.k8s.io/v1beta1"); err == nil {
		for _, r := range rs.APIResources {
			if r.Name == "volumeattributesclasses" {
				t.Fatal("the API server serves storage.k8s.io/v1beta1 volumeattributesclasses; this test needs a server without them")
			}
		}
	} else if !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	conf, err := framework.WriteOpenStackCloudConf(e.ctx, e.sim, e.dir)
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := framework.StartCSIController(e.ctx, e.bins, e.cp, e.dir, framework.CSIOptions{
		Cloud: "openstack", CloudConfig: conf,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ctl.Processes() {
		e.track(p)
	}
	e.metrics["csi-controller"] = ctl.FetchMetrics

	k := e.cp.Client
	ctx := e.ctx
	const driver = "cinder.csi.openstack.org"
	// csi-provisioner derives Immediate claims' topology from the nodes
	// the driver is registered on: one node in zone nova, as a node
	// plugin's registration would leave it.
	registerCSINode(t, e, "os-modify-node", driver, "topology.cinder.csi.openstack.org/zone", openstackZone)
	for name, typ := range map[string]string{"kumo-ssd": "ssd", "kumo-gold": "gold"} {
		if _, err := k.StorageV1().VolumeAttributesClasses().Create(ctx, &storagev1.VolumeAttributesClass{
			ObjectMeta: metav1.ObjectMeta{Name: name}, DriverName: driver, Parameters: map[string]string{"type": typ},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := k.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "kumo-standard"}, Provisioner: driver,
		Parameters: map[string]string{"type": "standard"}, ReclaimPolicy: ptr.To(v1.PersistentVolumeReclaimDelete),
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	claims := k.CoreV1().PersistentVolumeClaims("default")
	claim := func(name string, class *string) {
		t.Helper()
		if _, err := claims.Create(ctx, &v1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: v1.PersistentVolumeClaimSpec{
				AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}, StorageClassName: ptr.To("kumo-standard"),
				VolumeAttributesClassName: class,
				Resources:                 v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	volumeOf := func(name string) string {
		t.Helper()
		var id string
		e.eventually("claim "+name+" bound", 2*time.Minute, func(ctx context.Context) (bool, error) {
			pvc, err := claims.Get(ctx, name, metav1.GetOptions{})
			if err != nil || pvc.Status.Phase != v1.ClaimBound {
				return false, fmt.Errorf("claim %s: %v %v", name, pvc.Status.Phase, err)
			}
			pv, err := k.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			id = pv.Spec.CSI.VolumeHandle
			return true, nil
		})
		return id
	}
	cinderType := func(ctx context.Context, id string) (string, error) {
		var st cinderVolumes
		if err := e.sim.Admin(ctx, http.MethodGet, e.sim.OpenStackURL, framework.OpenStackAdmin+"state", nil, &st); err != nil {
			return "", err
		}
		v, ok := st.Volumes[id]
		if !ok {
			return "", fmt.Errorf("volume %s not in the cloud", id)
		}
		return v.VolumeType + "/" + v.Status, nil
	}
	setClass := func(name, class string) {
		t.Helper()
		patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"volumeAttributesClassName": class}})
		if _, err := claims.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	claim("data", nil)
	id := volumeOf("data")
	if got, err := cinderType(ctx, id); err != nil || got != "standard/available" {
		t.Fatalf("new volume: %s %v, want the StorageClass's type standard", got, err)
	}

	t.Run("a bound claim moved to another class is retyped", func(t *testing.T) {
		start := time.Now()
		setClass("data", "kumo-ssd")
		e.eventually("claim data retyped to ssd", 2*time.Minute, func(ctx context.Context) (bool, error) {
			pvc, err := claims.Get(ctx, "data", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			got, err := cinderType(ctx, id)
			if err != nil {
				return false, err
			}
			if cur := ptr.Deref(pvc.Status.CurrentVolumeAttributesClassName, ""); cur != "kumo-ssd" || got != "ssd/available" {
				return false, fmt.Errorf("current class %q, cinder %s, modify status %+v", cur, got, pvc.Status.ModifyVolumeStatus)
			}
			return pvc.Status.ModifyVolumeStatus == nil, fmt.Errorf("modify status %+v", pvc.Status.ModifyVolumeStatus)
		})
		t.Logf("class change to retyped volume: %s", time.Since(start).Round(100*time.Millisecond))
	})

	t.Run("a class with a type Cinder lacks is infeasible and changes nothing", func(t *testing.T) {
		setClass("data", "kumo-gold")
		e.eventually("claim data infeasible", 2*time.Minute, func(ctx context.Context) (bool, error) {
			pvc, err := claims.Get(ctx, "data", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			s := pvc.Status.ModifyVolumeStatus
			if s == nil || s.Status != v1.PersistentVolumeClaimModifyVolumeInfeasible || s.TargetVolumeAttributesClassName != "kumo-gold" {
				return false, fmt.Errorf("modify status %+v", s)
			}
			// csi-resizer reports an infeasible change in the
			// ModifyingVolume condition, other failures as ModifyVolumeError.
			for _, c := range pvc.Status.Conditions {
				if (c.Type == v1.PersistentVolumeClaimVolumeModifyingVolume || c.Type == v1.PersistentVolumeClaimVolumeModifyVolumeError) &&
					c.Status == v1.ConditionTrue && strings.Contains(c.Message, `"type"`) && strings.Contains(c.Message, "gold") {
					return true, nil
				}
			}
			return false, fmt.Errorf("no modify condition naming the type in %+v", pvc.Status.Conditions)
		})
		e.eventually("a warning Event names the parameter", 30*time.Second, func(ctx context.Context) (bool, error) {
			evs, err := k.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.name", "data").String()})
			if err != nil {
				return false, err
			}
			for _, ev := range evs.Items {
				if ev.Type == v1.EventTypeWarning && ev.Reason == "VolumeModifyFailed" && strings.Contains(ev.Message, `"type"`) && strings.Contains(ev.Message, "gold") {
					return true, nil
				}
			}
			return false, fmt.Errorf("%d events, none a VolumeModifyFailed naming the type", len(evs.Items))
		})
		pvc, err := claims.Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cur := ptr.Deref(pvc.Status.CurrentVolumeAttributesClassName, ""); cur != "kumo-ssd" {
			t.Errorf("current class %q after an infeasible change, want kumo-ssd", cur)
		}
		if got, err := cinderType(ctx, id); err != nil || got != "ssd/available" {
			t.Errorf("volume after an infeasible change: %s %v, want ssd", got, err)
		}
	})

	t.Run("a claim created with a class gets the class's type", func(t *testing.T) {
		claim("born-ssd", ptr.To("kumo-ssd"))
		id := volumeOf("born-ssd")
		if got, err := cinderType(ctx, id); err != nil || got != "ssd/available" {
			t.Fatalf("volume of a claim created with kumo-ssd: %s %v, want ssd", got, err)
		}
	})

	t.Run("deleting the claims deletes the volumes", func(t *testing.T) {
		for _, name := range []string{"data", "born-ssd"} {
			if err := claims.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
		}
		e.eventually("no volume left", 2*time.Minute, func(ctx context.Context) (bool, error) {
			var st cinderVolumes
			if err := e.sim.Admin(ctx, http.MethodGet, e.sim.OpenStackURL, framework.OpenStackAdmin+"state", nil, &st); err != nil {
				return false, err
			}
			return len(st.Volumes) == 0, fmt.Errorf("%d volumes left", len(st.Volumes))
		})
	})
}

// registerCSINode creates a ready Node labelled with its zone and the
// CSINode a node plugin's registration creates.
func registerCSINode(t *testing.T, e *env, name, driver, key, zone string) {
	t.Helper()
	k := e.cp.Client
	if _, err := framework.RegisterNode(e.ctx, k, name); err != nil {
		t.Fatal(err)
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{key: zone}}})
	if _, err := k.CoreV1().Nodes().Patch(e.ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.StorageV1().CSINodes().Create(e.ctx, &storagev1.CSINode{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{Name: driver, NodeID: name, TopologyKeys: []string{key}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
