package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kumo-project/kumo/pkg/csi/startuptaint"
	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// TestOpenStackStartupTaint: kubelets registered with
// --register-with-taints=<driver>/agent-not-ready:NoExecute lose the taint
// once kumo's node plugin, running as the node ServiceAccount with the RBAC
// of deploy/, sees its driver in CSINode; a node whose plugin runs before
// the kubelet registered it keeps the taint, and a Pod with a claim waits
// for it instead of landing on a node that cannot mount its volume.
func TestOpenStackStartupTaint(t *testing.T) {
	startupTaintScenario(t, openstackPods, []string{"os-taint-1", "os-taint-2"})
}

// TestNIFCLOUDStartupTaint is the same with NIFCLOUD's driver name and RBAC.
func TestNIFCLOUDStartupTaint(t *testing.T) {
	startupTaintScenario(t, nifcloudPods, []string{"niftaint1", "niftaint2"})
}

func startupTaintScenario(t *testing.T, pc podCloud, names []string) {
	key := startuptaint.Key(pc.driver)
	c, base := startTaintCluster(t, pc, names)
	opts := make([]framework.NodeOptions, len(base))
	for i, o := range base {
		o.RegisterWithTaints = []string{key + ":NoExecute"}
		o.HoldRegistrar = i == 1
		opts[i] = o
	}
	nbins, images := c.nodeInputs(t)
	c.startNodes(t, nbins, images, opts)
	k := c.cp.Client
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	if _, err := k.StorageV1().StorageClasses().Create(c.ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "kumo-taint"}, Provisioner: pc.driver, Parameters: pc.params, VolumeBindingMode: &wffc,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("the taint goes once the kubelet registered the plugin and a Pod with a claim runs there", func(t *testing.T) {
		c.eventually("startup taint removed from "+names[0], time.Minute, nodeUntainted(c, names[0], key))
		if log := c.pluginLog(t, names[0]); !strings.Contains(log, "Removed the startup taint") {
			t.Errorf("node plugin did not log the removal:\n%s", tail(log, 20))
		}
		c.createClaim(t, "taint-1")
		if log := c.runPod(t, busyboxPod("after-taint", names[0], "taint-1", "echo mounted > /data/f && cat /data/f")); strings.TrimSpace(log) != "mounted" {
			t.Errorf("pod log %q", log)
		}
	})

	t.Run("a plugin running before its registration keeps the taint until CSINode lists the driver", func(t *testing.T) {
		node := names[1]
		c.eventually("kubelet's CSINode for "+node, time.Minute, func(ctx context.Context) (bool, error) {
			cn, err := k.StorageV1().CSINodes().Get(ctx, node, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, d := range cn.Spec.Drivers {
				if d.Name == pc.driver {
					return false, fmt.Errorf("driver registered although the registrar is held")
				}
			}
			return true, nil
		})
		c.createClaim(t, "taint-2")
		pods := k.CoreV1().Pods("default")
		if _, err := pods.Create(c.ctx, busyboxPod("waits-for-plugin", node, "taint-2", "cat /proc/mounts | grep -c /data"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The plugin serves and polls, the kubelet does not know it: the
		// taint must stay and keep the Pod off the node. The scheduler's
		// message does not name taints, so the startup taint must be the
		// node's only one.
		c.eventually("pod unschedulable because of the startup taint", time.Minute, func(ctx context.Context) (bool, error) {
			n, err := k.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != key {
				return false, fmt.Errorf("node taints %v, want only %s", n.Spec.Taints, key)
			}
			p, err := pods.Get(ctx, "waits-for-plugin", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == v1.PodScheduled && cond.Status == v1.ConditionFalse && strings.Contains(cond.Message, "untolerated taint") {
					return true, nil
				}
			}
			return false, fmt.Errorf("node %q, conditions %v", p.Spec.NodeName, p.Status.Conditions)
		})
		for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
			n, err := k.CoreV1().Nodes().Get(c.ctx, node, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !framework.HasTaint(n, key) {
				t.Fatalf("taint %s removed before the driver was registered", key)
			}
			if p, err := pods.Get(c.ctx, "waits-for-plugin", metav1.GetOptions{}); err != nil || p.Spec.NodeName != "" {
				t.Fatalf("pod scheduled onto a tainted node (%v): %v", p.Spec.NodeName, err)
			}
		}
		if log := c.pluginLog(t, node); !strings.Contains(log, "Keeping the startup taint until the kubelet registers the driver") {
			t.Errorf("node plugin did not say why it keeps the taint:\n%s", tail(log, 20))
		}

		n := c.nodes[node]
		if err := n.StartRegistrar(); err != nil {
			t.Fatal(err)
		}
		for _, p := range n.Processes() {
			if strings.HasPrefix(p.Name, "csi-registrar-") {
				c.extra = append(c.extra, p)
			}
		}
		start := time.Now()
		c.eventually("startup taint removed from "+node+" after registration", time.Minute, nodeUntainted(c, node, key))
		t.Logf("taint removed %s after the registrar started", time.Since(start).Round(100*time.Millisecond))
		c.eventually("pod waits-for-plugin succeeded on "+node, 3*time.Minute, func(ctx context.Context) (bool, error) {
			p, err := pods.Get(ctx, "waits-for-plugin", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if p.Spec.NodeName != "" && p.Spec.NodeName != node {
				return false, fmt.Errorf("pod landed on %s", p.Spec.NodeName)
			}
			if p.Status.Phase == v1.PodFailed {
				return false, fmt.Errorf("pod failed: %s", c.podLog(p))
			}
			return p.Status.Phase == v1.PodSucceeded, fmt.Errorf("phase %s %v", p.Status.Phase, containerStates(p))
		})
		if err := pods.Delete(c.ctx, "waits-for-plugin", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		c.eventually("pod waits-for-plugin gone", 2*time.Minute, func(ctx context.Context) (bool, error) {
			_, err := pods.Get(ctx, "waits-for-plugin", metav1.GetOptions{})
			return apierrors.IsNotFound(err), err
		})
	})
}

// startTaintCluster is preparePodCluster (without snapshots, which the
// scenario does not use) plus the node plugin's RBAC from deploy/csi/base
// and a kubeconfig of its ServiceAccount, which every node plugin uses.
func startTaintCluster(t *testing.T, pc podCloud, names []string) (*podCluster, []framework.NodeOptions) {
	t.Helper()
	pc.snapshots = false
	c, opts := preparePodCluster(t, pc, names)
	e := c.env
	root := mustRepoRoot(t)
	for _, f := range []string{"serviceaccounts.yaml", "rbac-node.yaml"} {
		if _, err := framework.ApplyFile(e.ctx, e.cp.Config, filepath.Join(root, "deploy", "csi", "base", f)); err != nil {
			t.Fatal(err)
		}
	}
	kubeconfig := filepath.Join(t.TempDir(), "csi-node.kubeconfig")
	token, err := e.cp.ServiceAccountKubeconfig(e.ctx, "kube-system", "kumo-csi-node", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = append(e.secrets, token)
	for i := range opts {
		opts[i].PluginKubeconfig = kubeconfig
	}
	return c, opts
}

func (c *podCluster) createClaim(t *testing.T, name string) {
	t.Helper()
	if _, err := c.cp.Client.CoreV1().PersistentVolumeClaims("default").Create(c.ctx, &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			StorageClassName: ptr.To("kumo-taint"),
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// pluginLog is what the node's CSI plugin logged so far.
func (c *podCluster) pluginLog(t *testing.T, node string) string {
	t.Helper()
	for _, p := range c.nodes[node].Processes() {
		if p.Name == "csi-node-"+node {
			data, err := os.ReadFile(p.LogPath)
			if err != nil {
				t.Fatal(err)
			}
			return string(data)
		}
	}
	t.Fatalf("no node plugin on %s", node)
	return ""
}

func nodeUntainted(c *podCluster, node, key string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		n, err := c.cp.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return !framework.HasTaint(n, key), fmt.Errorf("taints %v", n.Spec.Taints)
	}
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
