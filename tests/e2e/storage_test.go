package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// storageCase describes one cloud's storage scenario.
type storageCase struct {
	driverName  string
	topologyKey string
	zone        string
	params      map[string]string // StorageClass parameters of the reference driver
	nodeName    string            // Kubernetes node the pod runs on
	nodeID      string            // CSI node ID of that node (instance / server ID)
	// attachedTo returns the instance the disk is attached to ("" = none)
	// and whether the disk still exists, from the simulator's state.
	attachedTo func(ctx context.Context, volumeID string) (instance string, exists bool, err error)
}

// storageScenario: StorageClass (WaitForFirstConsumer, reference
// parameters) → volume provisioned through the CSI controller (the step
// external-provisioner would take) → PV/PVC bound → a Pod on the node makes
// the attach/detach controller create a VolumeAttachment, csi-attacher
// calls ControllerPublish and the disk is attached in the cloud; deleting
// the Pod detaches it; deleting the volume leaves nothing behind.
func storageScenario(t *testing.T, e *env, csiCtl *framework.CSIController, sc storageCase) {
	ctx := e.ctx
	k := e.cp.Client
	if _, err := k.StorageV1().CSIDrivers().Create(ctx, &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: sc.driverName},
		Spec:       storagev1.CSIDriverSpec{AttachRequired: ptr.To(true), PodInfoOnMount: ptr.To(false)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// What node-driver-registrar and kubelet would publish for the node.
	if err := framework.RegisterCSINode(ctx, k, sc.nodeName, sc.driverName, sc.nodeID, sc.topologyKey, sc.zone); err != nil {
		t.Fatal(err)
	}
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	if _, err := k.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: "kumo-standard"},
		Provisioner:          sc.driverName,
		Parameters:           sc.params,
		VolumeBindingMode:    &wffc,
		AllowVolumeExpansion: ptr.To(true),
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	conn, err := grpc.NewClient("unix://"+csiCtl.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctl := csi.NewControllerClient(conn)
	mountCap := &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "ext4"}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	created, err := ctl.CreateVolume(cctx, &csi.CreateVolumeRequest{
		Name:               "pvc-e2e-data",
		CapacityRange:      &csi.CapacityRange{RequiredBytes: 1 << 30},
		VolumeCapabilities: []*csi.VolumeCapability{mountCap},
		Parameters:         sc.params,
		AccessibilityRequirements: &csi.TopologyRequirement{
			Requisite: []*csi.Topology{{Segments: map[string]string{sc.topologyKey: sc.zone}}},
			Preferred: []*csi.Topology{{Segments: map[string]string{sc.topologyKey: sc.zone}}},
		},
	})
	cancel()
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	vol := created.GetVolume()
	volID := vol.GetVolumeId()
	t.Logf("provisioned %s (%d bytes, topology %v)", volID, vol.GetCapacityBytes(), vol.GetAccessibleTopology())
	if len(vol.GetAccessibleTopology()) == 0 || vol.GetAccessibleTopology()[0].GetSegments()[sc.topologyKey] != sc.zone {
		t.Errorf("accessible topology %v, want %s=%s", vol.GetAccessibleTopology(), sc.topologyKey, sc.zone)
	}

	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-e2e-data", Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": sc.driverName}},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: *resource.NewQuantity(vol.GetCapacityBytes(), resource.BinarySI)},
			AccessModes:                   []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
			StorageClassName:              "kumo-standard",
			ClaimRef:                      &v1.ObjectReference{Namespace: "default", Name: "data"},
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{
				Driver: sc.driverName, VolumeHandle: volID, FSType: "ext4", VolumeAttributes: vol.GetVolumeContext(),
			}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: sc.topologyKey, Operator: v1.NodeSelectorOpIn, Values: []string{sc.zone}}},
			}}}},
		},
	}
	if _, err := k.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default"},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			StorageClassName: ptr.To("kumo-standard"),
			VolumeName:       pv.Name,
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if _, err := k.CoreV1().PersistentVolumeClaims("default").Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("PVC bound", 60*time.Second, func(ctx context.Context) (bool, error) {
		got, err := k.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return got.Status.Phase == v1.ClaimBound, fmt.Errorf("phase %s", got.Status.Phase)
	})

	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default"},
		Spec: v1.PodSpec{
			NodeName:   sc.nodeName, // no scheduler runs: the pod names its node
			Containers: []v1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10", VolumeMounts: []v1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes:    []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
		},
	}
	if _, err := k.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("VolumeAttachment attached and disk attached in the cloud", 120*time.Second, func(ctx context.Context) (bool, error) {
		vas, err := k.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		if len(vas.Items) != 1 || !vas.Items[0].Status.Attached {
			return false, fmt.Errorf("volume attachments: %+v", vas.Items)
		}
		inst, _, err := sc.attachedTo(ctx, volID)
		return err == nil && inst == sc.nodeID, fmt.Errorf("cloud attachment %q (%v)", inst, err)
	})

	// The pod goes; kubelet would report the volume unmounted in its next
	// status update, which is what lets the attach/detach controller detach.
	if err := k.CoreV1().Pods("default").Delete(ctx, "app", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	e.eventually("VolumeAttachment gone and disk detached in the cloud", 120*time.Second, func(ctx context.Context) (bool, error) {
		if err := framework.SetNodeReady(ctx, k, sc.nodeName, v1.ConditionTrue); err != nil {
			return false, err
		}
		vas, err := k.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		inst, _, err := sc.attachedTo(ctx, volID)
		return err == nil && len(vas.Items) == 0 && inst == "", fmt.Errorf("%d attachments, cloud attachment %q (%v)", len(vas.Items), inst, err)
	})

	// Release: PVC, PV, then the disk (what the provisioner does on Delete).
	if err := k.CoreV1().PersistentVolumeClaims("default").Delete(ctx, "data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := k.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	dctx, dcancel := context.WithTimeout(ctx, time.Minute)
	defer dcancel()
	if _, err := ctl.DeleteVolume(dctx, &csi.DeleteVolumeRequest{VolumeId: volID}); err != nil {
		t.Fatalf("DeleteVolume: %v", err)
	}
	e.eventually("disk deleted in the cloud", 60*time.Second, func(ctx context.Context) (bool, error) {
		_, exists, err := sc.attachedTo(ctx, volID)
		return err == nil && !exists, err
	})
}
