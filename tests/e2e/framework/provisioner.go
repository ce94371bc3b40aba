package framework

import (
	"context"
	"fmt"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// annSelectedNode is set on a WaitForFirstConsumer PVC by the scheduler.
const annSelectedNode = "volume.kubernetes.io/selected-node"

// Provisioner does, for the demo, what external-provisioner (not in the Go
// module proxy) does for WaitForFirstConsumer: a Pending PVC of one of the
// driver's StorageClasses that the scheduler annotated with its selected
// node gets a volume from the CSI controller's CreateVolume in that node's
// zone and a PV bound to it.
type Provisioner struct {
	Client      kubernetes.Interface
	Controller  csi.ControllerClient
	DriverName  string
	TopologyKey string
}

// Run provisions every interval until ctx ends.
func (p *Provisioner) Run(ctx context.Context, interval time.Duration) {
	logger := klog.FromContext(ctx).WithValues("provisioner", p.DriverName)
	for {
		if err := p.syncOnce(ctx); err != nil && ctx.Err() == nil {
			logger.Error(err, "Provisioning pass failed")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

func (p *Provisioner) syncOnce(ctx context.Context) error {
	pvcs, err := p.Client.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range pvcs.Items {
		pvc := &pvcs.Items[i]
		node := pvc.Annotations[annSelectedNode]
		if node == "" || pvc.Status.Phase != v1.ClaimPending || pvc.Spec.VolumeName != "" || pvc.Spec.StorageClassName == nil {
			continue
		}
		if err := p.provision(ctx, pvc, node); err != nil {
			return fmt.Errorf("claim %s/%s: %w", pvc.Namespace, pvc.Name, err)
		}
	}
	return nil
}

func (p *Provisioner) provision(ctx context.Context, pvc *v1.PersistentVolumeClaim, nodeName string) error {
	sc, err := p.Client.StorageV1().StorageClasses().Get(ctx, *pvc.Spec.StorageClassName, metav1.GetOptions{})
	if err != nil || sc.Provisioner != p.DriverName {
		return client404(err)
	}
	node, err := p.Client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	zone := node.Labels[p.TopologyKey]
	pvName := "pvc-" + string(pvc.UID)
	req := pvc.Spec.Resources.Requests[v1.ResourceStorage]
	topo := []*csi.Topology{{Segments: map[string]string{p.TopologyKey: zone}}}
	params := map[string]string{}
	for k, v := range sc.Parameters {
		params[k] = v
	}
	// What external-provisioner --extra-create-metadata adds.
	params["csi.storage.k8s.io/pvc/name"] = pvc.Name
	params["csi.storage.k8s.io/pvc/namespace"] = pvc.Namespace
	params["csi.storage.k8s.io/pv/name"] = pvName
	resp, err := p.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name:          pvName,
		CapacityRange: &csi.CapacityRange{RequiredBytes: req.Value()},
		VolumeCapabilities: []*csi.VolumeCapability{{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "ext4"}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
		}},
		Parameters:                params,
		AccessibilityRequirements: &csi.TopologyRequirement{Requisite: topo, Preferred: topo},
	})
	if err != nil {
		return fmt.Errorf("CreateVolume: %w", err)
	}
	vol := resp.GetVolume()
	var terms []v1.NodeSelectorRequirement
	for _, t := range vol.GetAccessibleTopology() {
		for k, v := range t.GetSegments() {
			terms = append(terms, v1.NodeSelectorRequirement{Key: k, Operator: v1.NodeSelectorOpIn, Values: []string{v}})
		}
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if sc.ReclaimPolicy != nil {
		reclaim = *sc.ReclaimPolicy
	}
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName, Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": p.DriverName}},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: *resource.NewQuantity(vol.GetCapacityBytes(), resource.BinarySI)},
			AccessModes:                   pvc.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              sc.Name,
			ClaimRef:                      &v1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID},
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{
				Driver: p.DriverName, VolumeHandle: vol.GetVolumeId(), FSType: "ext4", VolumeAttributes: vol.GetVolumeContext(),
			}},
		},
	}
	if len(terms) > 0 {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: terms}}}}
	}
	if _, err := p.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	klog.FromContext(ctx).Info("Provisioned", "pvc", klog.KObj(pvc), "pv", pvName, "volumeID", vol.GetVolumeId())
	return nil
}

func client404(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
