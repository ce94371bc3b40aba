package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// waitConverged waits for the Service's external IP, every Pod Running
// and Ready on a real node, the claim Bound and its volume attached.
func (d *demo) waitConverged(timeout time.Duration) error {
	say("Waiting for the load balancer, the Pods and the volume…")
	ctx, cancel := context.WithTimeout(d.ctx, timeout)
	defer cancel()
	k := d.cp.Client
	return framework.WaitFor(ctx, "external IP, Pods Running, claim Bound and volume attached", time.Second, nil, func(ctx context.Context) (bool, error) {
		svc, err := k.CoreV1().Services("default").Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil || len(svc.Status.LoadBalancer.Ingress) == 0 {
			return false, errors.New("no external IP yet")
		}
		pods, err := k.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		if len(pods.Items) < 3 { // two nginx replicas and the storage example's app
			return false, fmt.Errorf("%d Pods", len(pods.Items))
		}
		for _, p := range pods.Items {
			if p.Status.Phase != v1.PodRunning || !podReady(&p) {
				return false, fmt.Errorf("pod %s: %s", p.Name, p.Status.Phase)
			}
		}
		pvc, err := k.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
		if err != nil || pvc.Status.Phase != v1.ClaimBound {
			return false, errors.New("claim not Bound yet")
		}
		vas, err := k.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
		if err != nil || len(vas.Items) == 0 || !vas.Items[0].Status.Attached {
			return false, errNotYet
		}
		return true, nil
	})
}

func podReady(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func (d *demo) print() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k := d.cp.Client
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	defer w.Flush()
	section := func(title string) { w.Flush(); fmt.Printf("\n== %s\n", title) }

	section("What runs (real processes on this machine)")
	for _, line := range d.components() {
		fmt.Fprintln(w, line)
	}
	section("kubectl get nodes")
	fmt.Fprintln(w, "NAME\tPROVIDER-ID\tZONE\tINSTANCE-TYPE\tINTERNAL-IP\tEXTERNAL-IP\tTAINTS")
	if nodes, err := k.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
		for _, n := range nodes.Items {
			var taints []string
			for _, t := range n.Spec.Taints {
				taints = append(taints, t.Key)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.Spec.ProviderID, n.Labels[v1.LabelTopologyZone],
				n.Labels[v1.LabelInstanceTypeStable], addr(n, v1.NodeInternalIP), addr(n, v1.NodeExternalIP), orNone(strings.Join(taints, ",")))
		}
	}
	section("kubectl get pods -o wide")
	fmt.Fprintln(w, "NAME\tREADY\tSTATUS\tRESTARTS\tIP\tNODE\tIMAGE")
	if pods, err := k.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); err == nil {
		for _, p := range pods.Items {
			ready, restarts, images := 0, int32(0), []string{}
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Ready {
					ready++
				}
				restarts += cs.RestartCount
			}
			for _, c := range p.Spec.Containers {
				images = append(images, c.Image)
			}
			fmt.Fprintf(w, "%s\t%d/%d\t%s\t%d\t%s\t%s\t%s\n", p.Name, ready, len(p.Spec.Containers), p.Status.Phase, restarts,
				orNone(p.Status.PodIP), orNone(p.Spec.NodeName), strings.Join(images, ","))
		}
	}
	section("kubectl get svc")
	fmt.Fprintln(w, "NAME\tTYPE\tCLUSTER-IP\tEXTERNAL-IP\tPORT(S)")
	if svcs, err := k.CoreV1().Services("default").List(ctx, metav1.ListOptions{}); err == nil {
		for _, s := range svcs.Items {
			var ext, ports []string
			for _, in := range s.Status.LoadBalancer.Ingress {
				ext = append(ext, in.IP+in.Hostname)
			}
			for _, p := range s.Spec.Ports {
				if p.NodePort != 0 {
					ports = append(ports, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol))
				} else {
					ports = append(ports, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Spec.Type, s.Spec.ClusterIP, orNone(strings.Join(ext, ",")), strings.Join(ports, ","))
		}
	}
	section("kubectl get pvc,pv,volumeattachments")
	fmt.Fprintln(w, "PVC\tSTATUS\tVOLUME\tCAPACITY\tSTORAGECLASS\tSELECTED-NODE")
	if pvcs, err := k.CoreV1().PersistentVolumeClaims("default").List(ctx, metav1.ListOptions{}); err == nil {
		for _, c := range pvcs.Items {
			capacity := c.Status.Capacity[v1.ResourceStorage]
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Status.Phase, c.Spec.VolumeName, capacity.String(), deref(c.Spec.StorageClassName),
				orNone(c.Annotations["volume.kubernetes.io/selected-node"]))
		}
	}
	w.Flush()
	if pvs, err := k.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{}); err == nil {
		fmt.Println()
		fmt.Fprintln(w, "PV\tSTATUS\tCLAIM\tDRIVER\tVOLUME-HANDLE\tFSTYPE\tNODE-AFFINITY (ZONE)")
		for _, p := range pvs.Items {
			if p.Spec.CSI != nil {
				claim := "<none>"
				if p.Spec.ClaimRef != nil {
					claim = p.Spec.ClaimRef.Namespace + "/" + p.Spec.ClaimRef.Name
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Status.Phase, claim, p.Spec.CSI.Driver, p.Spec.CSI.VolumeHandle, orNone(p.Spec.CSI.FSType), affinity(&p))
			}
		}
	}
	w.Flush()
	if vas, err := k.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{}); err == nil {
		fmt.Println()
		fmt.Fprintln(w, "VOLUMEATTACHMENT\tNODE\tATTACHED\tDEVICE HINT")
		for _, va := range vas.Items {
			fmt.Fprintf(w, "%s\t%s\t%v\t%v\n", va.Name, va.Spec.NodeName, va.Status.Attached, va.Status.AttachmentMetadata)
		}
	}
	w.Flush()
	d.printCloud(ctx)
}

// printCloud shows the simulator's view: load balancers, disks, calls.
func (d *demo) printCloud(ctx context.Context) {
	var st map[string]json.RawMessage
	if err := d.sim.Admin(ctx, http.MethodGet, d.simURL(), d.cloud.admin+"state", nil, &st); err != nil {
		fmt.Println("cloud state:", err)
		return
	}
	fmt.Printf("\n== %s (simulator) — what the cloud console would show\n", d.cloud.title)
	for _, key := range []string{"loadBalancers", "elasticLoadBalancers", "load_balancers", "listeners", "members", "floating_ips", "volumes"} {
		raw, ok := st[key]
		if !ok || string(raw) == "{}" || string(raw) == "null" {
			continue
		}
		var pretty map[string]any
		if json.Unmarshal(raw, &pretty) != nil {
			continue
		}
		fmt.Printf("-- %s (%d)\n", key, len(pretty))
		ids := make([]string, 0, len(pretty))
		for id := range pretty {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			line, _ := json.Marshal(pretty[id])
			fmt.Printf("   %s\n", line)
		}
	}
	if calls, err := d.sim.Counters(ctx, d.simURL(), d.cloud.admin); err == nil {
		keys := make([]string, 0, len(calls))
		for k := range calls {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%d", k, calls[k]))
		}
		fmt.Printf("-- API calls so far: %s\n", strings.Join(parts, " "))
	}
}

func addr(n v1.Node, t v1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

func affinity(p *v1.PersistentVolume) string {
	if p.Spec.NodeAffinity == nil || p.Spec.NodeAffinity.Required == nil {
		return "<none>"
	}
	var out []string
	for _, t := range p.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range t.MatchExpressions {
			out = append(out, fmt.Sprintf("%s in %v", e.Key, e.Values))
		}
	}
	return strings.Join(out, ",")
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
