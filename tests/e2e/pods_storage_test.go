package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// podStorageCase is one cloud's storage story on real nodes.
type podStorageCase struct {
	driverName  string
	topologyKey string
	zone        string
	params      map[string]string
	nodes       []string // two nodes of the zone
	// growTo is the expanded size (the cloud's size steps: NIFCLOUD
	// disks come in 100 GB steps, so a 1Gi claim is 100Gi).
	growTo    string
	snapshots bool
	// otherZoneNode is a node of another zone: the claim's Pods must
	// never land there.
	otherZoneNode string
	// disks counts the cloud disks that exist (for the final audit).
	disks func(ctx context.Context) (int, error)
}

// podStorageScenario is what a user sees with kubectl: a WaitForFirstConsumer
// claim is provisioned by the real csi-provisioner in the Pod's zone, a Pod
// writes /data/out.txt, its replacement on the other node reads it back;
// the claim grows online; a raw block claim and a read-only mount behave;
// deleting everything leaves no disk in the cloud.
func podStorageScenario(t *testing.T, c *podCluster, sc podStorageCase) {
	k := c.cp.Client
	ctx := c.ctx
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	if _, err := k.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: "kumo-wffc"},
		Provisioner:          sc.driverName,
		Parameters:           sc.params,
		VolumeBindingMode:    &wffc,
		AllowVolumeExpansion: ptr.To(true),
		ReclaimPolicy:        ptr.To(v1.PersistentVolumeReclaimDelete),
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	claim := func(name string, mode v1.PersistentVolumeMode) {
		t.Helper()
		if _, err := k.CoreV1().PersistentVolumeClaims("default").Create(ctx, &v1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: v1.PersistentVolumeClaimSpec{
				AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
				StorageClassName: ptr.To("kumo-wffc"),
				VolumeMode:       &mode,
				Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("data written on one node is read back on another", func(t *testing.T) {
		claim("data", v1.PersistentVolumeFilesystem)
		c.runPod(t, busyboxPod("writer", sc.nodes[0], "data", "echo kumo-was-here > /data/out.txt && sync && cat /data/out.txt"))
		pvc, err := k.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pv, err := k.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := pvZone(pv, sc.topologyKey); got != sc.zone {
			t.Errorf("PV %s is in zone %q, want the Pod's zone %s", pv.Name, got, sc.zone)
		}
		if log := c.runPod(t, busyboxPod("reader", sc.nodes[1], "data", "cat /data/out.txt")); strings.TrimSpace(log) != "kumo-was-here" {
			t.Errorf("reader on %s saw %q", sc.nodes[1], log)
		}
	})

	t.Run("with the zone's nodes drained the Pod waits; an uncordoned node takes it", func(t *testing.T) {
		topologyScenario(t, c, sc)
	})

	if sc.snapshots {
		t.Run("a snapshot restores the data into a new claim", func(t *testing.T) {
			snapshotRestoreScenario(t, c, sc, cinderSnapshots)
		})
		t.Run("a backup (VolumeSnapshotClass type: backup) restores the data into a new claim", func(t *testing.T) {
			snapshotRestoreScenario(t, c, sc, cinderBackups)
		})
	}

	t.Run("the claim grows online and the file system follows", func(t *testing.T) {
		// XFS: online ext4 growth needs CAP_SYS_RESOURCE, which the
		// processes on this kind of machine lack (resize2fs: "Permission
		// denied to resize filesystem"); xfs_growfs does not.
		if _, err := k.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
			ObjectMeta:           metav1.ObjectMeta{Name: "kumo-xfs"},
			Provisioner:          sc.driverName,
			Parameters:           withParam(sc.params, "csi.storage.k8s.io/fstype", "xfs"),
			VolumeBindingMode:    &wffc,
			AllowVolumeExpansion: ptr.To(true),
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := k.CoreV1().PersistentVolumeClaims("default").Create(ctx, &v1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "grow", Namespace: "default"},
			Spec: v1.PersistentVolumeClaimSpec{
				AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
				StorageClassName: ptr.To("kumo-xfs"),
				Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := busyboxPod("grower", sc.nodes[0], "grow",
			`start=$(df -k /data | awk 'NR==2 {print $2}'); while [ "$(df -k /data | awk 'NR==2 {print $2}')" -le "$start" ]; do sleep 1; done; df -k /data`)
		pods := k.CoreV1().Pods("default")
		if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.eventually("grower running", 2*time.Minute, func(ctx context.Context) (bool, error) {
			p, err := pods.Get(ctx, "grower", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return p.Status.Phase == v1.PodRunning, fmt.Errorf("phase %s %v", p.Status.Phase, containerStates(p))
		})
		patch := []byte(`{"spec":{"resources":{"requests":{"storage":"` + sc.growTo + `"}}}}`)
		if _, err := k.CoreV1().PersistentVolumeClaims("default").Patch(ctx, "grow", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		c.eventually("the file system grew inside the running Pod", 3*time.Minute, func(ctx context.Context) (bool, error) {
			p, err := pods.Get(ctx, "grower", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if p.Status.Phase == v1.PodFailed {
				return false, fmt.Errorf("grower failed: %s", c.podLog(p))
			}
			return p.Status.Phase == v1.PodSucceeded, fmt.Errorf("phase %s", p.Status.Phase)
		})
		c.eventually("PVC capacity is "+sc.growTo, time.Minute, func(ctx context.Context) (bool, error) {
			pvc, err := k.CoreV1().PersistentVolumeClaims("default").Get(ctx, "grow", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			got := pvc.Status.Capacity[v1.ResourceStorage]
			return got.Cmp(resource.MustParse(sc.growTo)) == 0, fmt.Errorf("capacity %s, conditions %v", got.String(), pvc.Status.Conditions)
		})
		deletePod(t, c, "grower")
	})

	t.Run("a read-only mount is read-only", func(t *testing.T) {
		pod := busyboxPod("ro", sc.nodes[1], "data", "cat /data/out.txt; if touch /data/new 2>/dev/null; then echo WRITABLE; else echo READ-ONLY; fi")
		pod.Spec.Volumes[0].PersistentVolumeClaim.ReadOnly = true
		pod.Spec.Containers[0].VolumeMounts[0].ReadOnly = true
		if log := c.runPod(t, pod); !strings.Contains(log, "READ-ONLY") || !strings.Contains(log, "kumo-was-here") {
			t.Errorf("read-only pod log %q", log)
		}
	})

	t.Run("a raw block volume carries bytes", func(t *testing.T) {
		claim("raw", v1.PersistentVolumeBlock)
		pod := busyboxPod("block", sc.nodes[0], "raw", `echo block-data > /tmp/in && dd if=/tmp/in of=/dev/xvda bs=512 count=1 conv=sync 2>/dev/null && dd if=/dev/xvda bs=11 count=1 2>/dev/null; echo; blockdev --getsize64 /dev/xvda`)
		pod.Spec.Containers[0].VolumeMounts = nil
		pod.Spec.Containers[0].VolumeDevices = []v1.VolumeDevice{{Name: "data", DevicePath: "/dev/xvda"}}
		log := c.runPod(t, pod)
		pvc, err := k.CoreV1().PersistentVolumeClaims("default").Get(ctx, "raw", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		size := pvc.Status.Capacity[v1.ResourceStorage]
		if !strings.Contains(log, "block-data") || !strings.Contains(log, fmt.Sprint(size.Value())) {
			t.Errorf("block pod log %q, want the data and the claim's %d bytes", log, size.Value())
		}
	})

	t.Run("deleting the claims deletes the disks", func(t *testing.T) {
		for _, name := range []string{"data", "grow", "raw", "restored", "restored-backup"} {
			if err := k.CoreV1().PersistentVolumeClaims("default").Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
		}
		c.eventually("no PV and no cloud disk left", 3*time.Minute, func(ctx context.Context) (bool, error) {
			pvs, err := k.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			n, err := sc.disks(ctx)
			if err != nil {
				return false, err
			}
			return len(pvs.Items) == 0 && n == 0, fmt.Errorf("%d PVs, %d cloud disks", len(pvs.Items), n)
		})
	})
}

func pvZone(pv *v1.PersistentVolume, key string) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range term.MatchExpressions {
			if e.Key == key && len(e.Values) == 1 {
				return e.Values[0]
			}
		}
	}
	return ""
}

func deletePod(t *testing.T, c *podCluster, name string) {
	t.Helper()
	pods := c.cp.Client.CoreV1().Pods("default")
	if err := pods.Delete(c.ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	c.eventually("pod "+name+" gone", 2*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := pods.Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
}

func withParam(params map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for pk, pv := range params {
		out[pk] = pv
	}
	return out
}

// topologyScenario: the claim lives in zone A. With both zone-A nodes
// cordoned (drained) a Pod using it stays Pending although a node of
// another zone is free; once a zone-A node is schedulable again the Pod
// runs there and reads the data.
func topologyScenario(t *testing.T, c *podCluster, sc podStorageCase) {
	k := c.cp.Client
	setUnschedulable := func(node string, v bool) {
		t.Helper()
		patch := []byte(fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, v))
		if _, err := k.CoreV1().Nodes().Patch(c.ctx, node, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range sc.nodes {
		setUnschedulable(n, true)
	}
	pod := busyboxPod("topo", "", "data", "cat /data/out.txt")
	pod.Spec.NodeSelector = nil
	pods := k.CoreV1().Pods("default")
	if _, err := pods.Create(c.ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.eventually("the Pod is unschedulable for the volume's zone", time.Minute, func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, "topo", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == v1.PodScheduled && cond.Status == v1.ConditionFalse && strings.Contains(cond.Message, "didn't match PersistentVolume's node affinity") {
				return true, nil
			}
		}
		return false, fmt.Errorf("node %q, conditions %v", p.Spec.NodeName, p.Status.Conditions)
	})
	// Still Pending a little later: the other zone's node is not used.
	time.Sleep(3 * time.Second)
	if p, err := pods.Get(c.ctx, "topo", metav1.GetOptions{}); err != nil || p.Spec.NodeName != "" {
		t.Fatalf("the Pod was placed on %q (%v) while its zone had no schedulable node", p.Spec.NodeName, err)
	}
	setUnschedulable(sc.nodes[1], false)
	c.eventually("the Pod ran on the uncordoned node of the zone", 2*time.Minute, func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, "topo", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Spec.NodeName == sc.otherZoneNode {
			return false, fmt.Errorf("placed in the other zone on %s", p.Spec.NodeName)
		}
		return p.Status.Phase == v1.PodSucceeded, fmt.Errorf("node %q phase %s %v", p.Spec.NodeName, p.Status.Phase, containerStates(p))
	})
	p, err := pods.Get(c.ctx, "topo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if log := c.podLog(p); p.Spec.NodeName != sc.nodes[1] || strings.TrimSpace(log) != "kumo-was-here" {
		t.Errorf("ran on %s, log %q", p.Spec.NodeName, log)
	}
	deletePod(t, c, "topo")
	setUnschedulable(sc.nodes[0], false)
}
