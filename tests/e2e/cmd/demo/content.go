package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// components lists what runs, with the versions the harness pins (the
// wrapper modules under tests/e2e/tools) or the binaries report.
func (d *demo) components() []string {
	tools := filepath.Join(d.root, "tests", "e2e", "tools")
	kube := modVersion(filepath.Join(tools, "kube", "go.mod"), "k8s.io/kubernetes")
	out := []string{
		fmt.Sprintf("control plane\tetcd, kube-apiserver, kube-controller-manager, kube-scheduler %s", kube),
		fmt.Sprintf("%d nodes\tkubelet %s, containerd %s, %s; kumo's CSI node plugin + csi-node-registrar",
			len(d.nodes), kube, modVersion(filepath.Join(tools, "containerd", "go.mod"), "github.com/containerd/containerd/v2"), runcVersion()),
		fmt.Sprintf("cloud\tkumo's cloud-controller-manager, the %s simulator (disks = loop devices)", d.cloud.title),
	}
	sidecars := []string{
		"csi-provisioner " + modVersion(filepath.Join(tools, "provisioner", "go.mod"), "github.com/kubernetes-csi/external-provisioner/v6"),
		"csi-attacher " + modVersion(filepath.Join(tools, "attacher", "go.mod"), "github.com/kubernetes-csi/external-attacher/v4"),
		"csi-resizer " + modVersion(filepath.Join(tools, "resizer", "go.mod"), "github.com/kubernetes-csi/external-resizer/v2"),
	}
	if d.cloud.snapshots {
		v := modVersion(filepath.Join(tools, "snapshotter", "go.mod"), "github.com/kubernetes-csi/external-snapshotter/v8")
		sidecars = append(sidecars, "csi-snapshotter "+v, "snapshot-controller "+v)
	}
	out = append(out, fmt.Sprintf("storage\tkumo's CSI controller (%s) + %s", d.cloud.driver, strings.Join(sidecars, ", ")))
	return out
}

// modVersion is module's required version in a go.mod ("?" if absent).
func modVersion(gomod, module string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && fields[0] == "require" && fields[1] == module {
			return fields[2]
		}
		if len(fields) >= 2 && fields[0] == module {
			return fields[1]
		}
	}
	return "?"
}

func runcVersion() string {
	out, err := exec.Command("runc", "--version").Output()
	if err != nil {
		return "runc"
	}
	// "runc version 1.1.5+ds1"
	return strings.Replace(strings.SplitN(string(out), "\n", 2)[0], " version ", " ", 1)
}

// printVolumeContent shows what the storage example's Pod wrote to its
// volume: a second Pod on the same node mounts the claim and cats the
// file; its log is read from the node (the API server cannot reach the
// kubelets for `kubectl logs`).
func (d *demo) printVolumeContent() {
	ctx, cancel := context.WithTimeout(d.ctx, 2*time.Minute)
	defer cancel()
	pods := d.cp.Client.CoreV1().Pods("default")
	app, err := pods.Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		say("\nreading the volume: %v", err)
		return
	}
	claim := ""
	for _, v := range app.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
	}
	reader := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "read-data", Namespace: "default"},
		Spec: v1.PodSpec{
			NodeSelector:                  map[string]string{"kubernetes.io/hostname": app.Spec.NodeName},
			HostNetwork:                   true,
			RestartPolicy:                 v1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []v1.Container{{
				Name: "cat", Image: framework.BusyboxImageName, ImagePullPolicy: v1.PullNever,
				Command:      []string{"sh", "-c", "cat /data/log; df -h /data | tail -1"},
				VolumeMounts: []v1.VolumeMount{{Name: "data", MountPath: "/data", ReadOnly: true}},
			}},
			Volumes: []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
				PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: true},
			}}},
		},
	}
	fmt.Printf("\n== kubectl logs read-data   # a second Pod on %s: cat /data/log (written by Pod app) and df\n", app.Spec.NodeName)
	if _, err := pods.Create(ctx, reader, metav1.CreateOptions{}); err != nil {
		say("creating Pod read-data: %v", err)
		return
	}
	defer func() {
		_ = pods.Delete(context.Background(), reader.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	}()
	var done *v1.Pod
	err = framework.WaitFor(ctx, "Pod read-data to finish", time.Second, nil, func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, reader.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		done = p
		return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed, fmt.Errorf("phase %s", p.Status.Phase)
	})
	if err != nil {
		say("%v", err)
		return
	}
	for _, n := range d.nodes {
		if n.Name == done.Spec.NodeName {
			log, err := n.ContainerLog(done, "cat")
			if err != nil {
				say("log: %v", err)
				return
			}
			fmt.Printf("%s\n(Pod read-data: %s on %s)\n", strings.TrimRight(log, "\n"), done.Status.Phase, done.Spec.NodeName)
		}
	}
}
