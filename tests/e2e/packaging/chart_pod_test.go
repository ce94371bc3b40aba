package packaging

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestChartPodDisruptionBudget: off by default; when on, it selects
// exactly the controller's pods with maxUnavailable, or minAvailable
// instead when that is set.
func TestChartPodDisruptionBudget(t *testing.T) {
	const pdbKey = "policy/v1/PodDisruptionBudget/kube-system/kumo-csi-controller"
	if objs := mustRender(t, csiChart, map[string]any{"cloud": "nifcloud"}); len(objs.ofKind("PodDisruptionBudget")) != 0 {
		t.Errorf("PodDisruptionBudget rendered by default")
	}
	cases := []struct {
		name             string
		pdb              map[string]any
		wantMax, wantMin *intstr.IntOrString
	}{
		{"default maxUnavailable", map[string]any{"enabled": true}, ptrIOS(intstr.FromInt32(1)), nil},
		{"percent", map[string]any{"enabled": true, "maxUnavailable": "50%"}, ptrIOS(intstr.FromString("50%")), nil},
		{"minAvailable wins", map[string]any{"enabled": true, "minAvailable": 1}, nil, ptrIOS(intstr.FromInt32(1))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := mustRender(t, csiChart, map[string]any{"cloud": "openstack", "controller": map[string]any{"podDisruptionBudget": tc.pdb}})
			u, ok := objs[pdbKey]
			if !ok {
				t.Fatalf("no %s in %v", pdbKey, objs.keys())
			}
			pdb := convert[policyv1.PodDisruptionBudget](t, u)
			if !equalIOS(pdb.Spec.MaxUnavailable, tc.wantMax) || !equalIOS(pdb.Spec.MinAvailable, tc.wantMin) {
				t.Errorf("maxUnavailable %v minAvailable %v, want %v %v", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable, tc.wantMax, tc.wantMin)
			}
			sel := labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels)
			for _, u := range objs.ofKind("Deployment") {
				podLabels, _, _ := nestedStringMap(u.Object, "spec", "template", "metadata", "labels")
				if !sel.Matches(labels.Set(podLabels)) {
					t.Errorf("PDB selector %v misses the controller pods %v", sel, podLabels)
				}
			}
			for _, u := range objs.ofKind("DaemonSet") {
				podLabels, _, _ := nestedStringMap(u.Object, "spec", "template", "metadata", "labels")
				if sel.Matches(labels.Set(podLabels)) {
					t.Errorf("PDB selector %v also matches the node pods %v", sel, podLabels)
				}
			}
		})
	}
}

func ptrIOS(v intstr.IntOrString) *intstr.IntOrString { return &v }

func equalIOS(a, b *intstr.IntOrString) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// TestChartPodOptions: affinity, topology spread, pod labels and
// annotations, pull secrets and priority class reach the pods of both
// charts, and pod labels cannot take over the selector.
func TestChartPodOptions(t *testing.T) {
	affinity := map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
		"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{"key": "example.com/pool", "operator": "In", "values": []any{"storage"}}}}},
	}}}
	spread := []any{map[string]any{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
		"labelSelector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/component": "controller"}}}}
	pod := func() map[string]any {
		return map[string]any{"affinity": affinity, "podLabels": map[string]any{"team": "storage"}, "podAnnotations": map[string]any{"example.com/scrape": "true"}, "priorityClassName": "kumo-critical"}
	}
	ctrl := pod()
	ctrl["topologySpreadConstraints"] = spread
	pull := []any{map[string]any{"name": "regcred"}}
	csi := podSpecsWithMeta(t, mustRender(t, csiChart, map[string]any{"cloud": "openstack", "imagePullSecrets": pull, "controller": ctrl, "node": pod()}))
	ccmVals := pod()
	ccmVals["cloud"] = "nifcloud"
	ccmVals["imagePullSecrets"] = pull
	ccm := podSpecsWithMeta(t, mustRender(t, ccmChart, ccmVals))
	all := map[string]podWithMeta{"kumo-csi-controller": csi["kumo-csi-controller"], "kumo-csi-node": csi["kumo-csi-node"], "kumo-cloud-controller-manager": ccm["kumo-cloud-controller-manager"]}
	for name, p := range all {
		if p.spec.Affinity == nil || p.spec.Affinity.NodeAffinity == nil ||
			p.spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Key != "example.com/pool" {
			t.Errorf("%s: affinity %+v", name, p.spec.Affinity)
		}
		if p.labels["team"] != "storage" || p.labels["app.kubernetes.io/part-of"] != "kumo" {
			t.Errorf("%s: pod labels %v", name, p.labels)
		}
		if p.annotations["example.com/scrape"] != "true" {
			t.Errorf("%s: pod annotations %v", name, p.annotations)
		}
		if !slices.Equal(p.spec.ImagePullSecrets, []corev1.LocalObjectReference{{Name: "regcred"}}) {
			t.Errorf("%s: imagePullSecrets %v", name, p.spec.ImagePullSecrets)
		}
		if p.spec.PriorityClassName != "kumo-critical" {
			t.Errorf("%s: priorityClassName %q", name, p.spec.PriorityClassName)
		}
	}
	if tsc := all["kumo-csi-controller"].spec.TopologySpreadConstraints; len(tsc) != 1 || tsc[0].TopologyKey != "topology.kubernetes.io/zone" || tsc[0].WhenUnsatisfiable != corev1.ScheduleAnyway {
		t.Errorf("controller topologySpreadConstraints %+v", tsc)
	}

	for _, tc := range []struct {
		chart string
		vals  map[string]any
		want  string
	}{
		{csiChart, map[string]any{"cloud": "openstack", "controller": map[string]any{"podLabels": map[string]any{"app.kubernetes.io/component": "x"}}}, "controller.podLabels must not set app.kubernetes.io/component"},
		{csiChart, map[string]any{"cloud": "openstack", "node": map[string]any{"podLabels": map[string]any{"app.kubernetes.io/name": "x"}}}, "node.podLabels must not set app.kubernetes.io/name"},
		{ccmChart, map[string]any{"cloud": "openstack", "podLabels": map[string]any{"app.kubernetes.io/name": "x"}}, "podLabels must not set app.kubernetes.io/name"},
	} {
		if _, err := renderChart(tc.chart, "kube-system", tc.vals); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: got %v, want an error containing %q", tc.chart, tc.vals, err, tc.want)
		}
	}
}

// TestChartExtraEnvAndVolumes: the CA-bundle recipe of docs/helm.md — a
// ConfigMap mounted read-only into the driver and the CCM, with env
// pointing at it — renders as written, next to the chart's own mounts.
func TestChartExtraEnvAndVolumes(t *testing.T) {
	vol := []any{map[string]any{"name": "cloud-ca", "configMap": map[string]any{"name": "cloud-ca"}}}
	mount := []any{map[string]any{"name": "cloud-ca", "mountPath": "/etc/kumo/ca", "readOnly": true}}
	env := []any{map[string]any{"name": "SSL_CERT_FILE", "value": "/etc/kumo/ca/ca.crt"}}
	extra := map[string]any{"extraVolumes": vol, "extraVolumeMounts": mount, "extraEnv": env}
	csi := podSpecs(t, mustRender(t, csiChart, map[string]any{"cloud": "openstack", "controller": extra, "node": extra}))
	ccmVals := map[string]any{"cloud": "openstack", "extraVolumes": vol, "extraVolumeMounts": mount, "extraEnv": env}
	ccm := podSpecs(t, mustRender(t, ccmChart, ccmVals))
	for name, c := range map[string]struct {
		spec      corev1.PodSpec
		container string
		keep      string // a mount of the chart's own that must stay
	}{
		"kumo-csi-controller":           {csi["kumo-csi-controller"], "csi-driver", "cloud-config"},
		"kumo-csi-node":                 {csi["kumo-csi-node"], "csi-driver", "kubelet-dir"},
		"kumo-cloud-controller-manager": {ccm["kumo-cloud-controller-manager"], "cloud-controller-manager", "cloud-config"},
	} {
		if !slices.ContainsFunc(c.spec.Volumes, func(v corev1.Volume) bool {
			return v.Name == "cloud-ca" && v.ConfigMap != nil && v.ConfigMap.Name == "cloud-ca"
		}) {
			t.Errorf("%s: volumes %v lack ConfigMap cloud-ca", name, c.spec.Volumes)
		}
		ctr := containerOf(t, c.spec, c.container)
		if !slices.ContainsFunc(ctr.VolumeMounts, func(m corev1.VolumeMount) bool {
			return m.Name == "cloud-ca" && m.MountPath == "/etc/kumo/ca" && m.ReadOnly
		}) {
			t.Errorf("%s: mounts %v lack cloud-ca at /etc/kumo/ca", name, ctr.VolumeMounts)
		}
		if !slices.ContainsFunc(ctr.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == c.keep }) {
			t.Errorf("%s: the chart's own mount %s is gone: %v", name, c.keep, ctr.VolumeMounts)
		}
		if !slices.ContainsFunc(ctr.Env, func(e corev1.EnvVar) bool { return e.Name == "SSL_CERT_FILE" && e.Value == "/etc/kumo/ca/ca.crt" }) {
			t.Errorf("%s: env %v lacks SSL_CERT_FILE", name, ctr.Env)
		}
		if !slices.ContainsFunc(ctr.Env, func(e corev1.EnvVar) bool { return e.Name == "NODE_NAME" }) {
			t.Errorf("%s: extraEnv replaced the chart's env: %v", name, ctr.Env)
		}
		for _, other := range c.spec.Containers {
			if other.Name != c.container && slices.ContainsFunc(other.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "cloud-ca" }) {
				t.Errorf("%s: sidecar %s also mounts cloud-ca", name, other.Name)
			}
		}
	}
}
