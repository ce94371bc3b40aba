package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// capacityQuotaGB is the project's Cinder gigabytes quota in the
// one-Cinder-zone cluster, which GetCapacity reports.
const capacityQuotaGB = 20

// openstackOneCinderZone is the layout ignore-volume-az is for: Nova zones
// zone-a and zone-b, and one Cinder zone "nova" whose volumes every server
// can attach.
func openstackOneCinderZone() podCloud {
	pc := openstackPods
	pc.zone, pc.otherZone = "zone-a", "zone-b"
	pc.nodeZones = []string{"zone-a", "zone-b"}
	pc.params = map[string]string{"availability": "nova"}
	pc.snapshots = false
	pc.configure = func(e *env) (framework.CCMOptions, framework.CSIOptions, string, error) {
		conf, err := framework.WriteOpenStackCloudConf(e.ctx, e.sim, e.dir)
		if err != nil {
			return framework.CCMOptions{}, framework.CSIOptions{}, "", err
		}
		f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return framework.CCMOptions{}, framework.CSIOptions{}, "", err
		}
		_, err = f.WriteString("\n[BlockStorage]\nignore-volume-az = true\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = e.sim.Admin(e.ctx, http.MethodPut, e.sim.OpenStackURL, framework.OpenStackAdmin+"cinder-zones", map[string]any{"zones": []string{"nova"}}, nil)
		}
		if err == nil {
			err = e.sim.Admin(e.ctx, http.MethodPut, e.sim.OpenStackURL, framework.OpenStackAdmin+"volume-quota", map[string]any{"gigabytes": capacityQuotaGB}, nil)
		}
		return framework.CCMOptions{Cloud: "openstack", CloudConfig: conf}, framework.CSIOptions{Cloud: "openstack", CloudConfig: conf, Capacity: true}, conf, err
	}
	return pc
}

// TestOpenStackOneCinderZone: with [BlockStorage] ignore-volume-az and a
// StorageClass availability=nova, the real csi-provisioner provisions a
// WaitForFirstConsumer claim in Cinder's only zone for a Pod in Nova zone
// zone-a; the PV is accessible from the Nova zones, so a Pod in zone-b
// reads the data back; a class without availability gets a Warning event
// naming the zone and Cinder's zones; nothing is left in the cloud.
func TestOpenStackOneCinderZone(t *testing.T) {
	pc := openstackOneCinderZone()
	c := startPodCluster(t, pc, []string{"az-node-a", "az-node-b"})
	k := c.cp.Client
	ctx := c.ctx
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	for name, params := range map[string]map[string]string{"cinder-nova": pc.params, "nova-zones": nil} {
		if _, err := k.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: pc.driver, Parameters: params,
			VolumeBindingMode: &wffc, ReclaimPolicy: ptr.To(v1.PersistentVolumeReclaimDelete),
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	claim := func(name, class string) {
		t.Helper()
		if _, err := k.CoreV1().PersistentVolumeClaims("default").Create(ctx, &v1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: v1.PersistentVolumeClaimSpec{
				AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}, StorageClassName: ptr.To(class),
				Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("a volume in Cinder's zone serves Pods in two Nova zones", func(t *testing.T) {
		claim("shared", "cinder-nova")
		c.runPod(t, busyboxPod("writer-a", "az-node-a", "shared", "echo one-cinder-zone > /data/out.txt && sync"))
		pvc, err := k.CoreV1().PersistentVolumeClaims("default").Get(ctx, "shared", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pv, err := k.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if zones := pvZones(pv, pc.topologyKey); !slices.Equal(zones, []string{"zone-a", "zone-b"}) {
			t.Errorf("PV %s is accessible from %v, want the Nova zones [zone-a zone-b]", pv.Name, zones)
		}
		st, err := (&openstackEnv{env: c.env}).state(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := st.Volumes[pv.Spec.CSI.VolumeHandle]; !ok || v.AZ != "nova" {
			t.Errorf("Cinder volume %s: %+v, want it in Cinder zone nova", pv.Spec.CSI.VolumeHandle, v)
		}
		if log := c.runPod(t, busyboxPod("reader-b", "az-node-b", "shared", "cat /data/out.txt")); strings.TrimSpace(log) != "one-cinder-zone" {
			t.Errorf("reader in zone-b saw %q", log)
		}
	})

	t.Run("the provisioner publishes Cinder's free quota per zone (GetCapacity)", func(t *testing.T) {
		// One 1 GiB volume holds part of the quota.
		want := resource.MustParse(fmt.Sprintf("%dGi", capacityQuotaGB-1))
		c.eventually("CSIStorageCapacity of cinder-nova in both Nova zones", time.Minute, func(ctx context.Context) (bool, error) {
			list, err := k.StorageV1().CSIStorageCapacities("kube-system").List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			var seen []string
			for _, cap := range list.Items {
				if cap.StorageClassName != "cinder-nova" || cap.Capacity == nil || cap.Capacity.Cmp(want) != 0 || cap.NodeTopology == nil {
					seen = append(seen, fmt.Sprintf("%s %v %v", cap.StorageClassName, cap.Capacity, cap.NodeTopology))
					continue
				}
				seen = append(seen, "ok:"+cap.NodeTopology.MatchLabels[pc.topologyKey])
			}
			slices.Sort(seen)
			return slices.Contains(seen, "ok:zone-a") && slices.Contains(seen, "ok:zone-b"), fmt.Errorf("capacities %v, want %s in zone-a and zone-b", seen, want.String())
		})
	})

	t.Run("a Nova zone Cinder lacks is named in the claim's events", func(t *testing.T) {
		claim("nozone", "nova-zones")
		pod := busyboxPod("waits", "az-node-a", "nozone", "true")
		if _, err := k.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.eventually("ProvisioningFailed names the zone and Cinder's zones", 2*time.Minute, func(ctx context.Context) (bool, error) {
			evs, err := k.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=nozone"})
			if err != nil {
				return false, err
			}
			var seen []string
			for _, ev := range evs.Items {
				if ev.Type == v1.EventTypeWarning && strings.Contains(ev.Message, `Cinder has no availability zone "zone-a"`) &&
					strings.Contains(ev.Message, "Cinder's availability zones are nova") {
					return true, nil
				}
				seen = append(seen, ev.Reason+": "+ev.Message)
			}
			return false, fmt.Errorf("events %v", seen)
		})
		deletePod(t, c, "waits")
	})

	t.Run("deleting the claims deletes the volumes", func(t *testing.T) {
		for _, name := range []string{"shared", "nozone"} {
			if err := k.CoreV1().PersistentVolumeClaims("default").Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
		}
		c.eventually("no PV and no Cinder volume left", 3*time.Minute, func(ctx context.Context) (bool, error) {
			pvs, err := k.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			n, err := pc.disks(c.env, ctx)
			if err != nil {
				return false, err
			}
			return len(pvs.Items) == 0 && n == 0, fmt.Errorf("%d PVs, %d volumes", len(pvs.Items), n)
		})
	})
}

// pvZones lists the zones of a PV's node affinity for key, sorted.
func pvZones(pv *v1.PersistentVolume, key string) []string {
	var zones []string
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return nil
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range term.MatchExpressions {
			if e.Key == key {
				zones = append(zones, e.Values...)
			}
		}
	}
	slices.Sort(zones)
	return zones
}
