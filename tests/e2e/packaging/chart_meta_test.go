package packaging

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// podWithMeta is a workload's pod template: spec plus metadata.
type podWithMeta struct {
	spec        corev1.PodSpec
	labels      map[string]string
	annotations map[string]string
}

// podSpecsWithMeta returns the pod templates of the workloads by name.
func podSpecsWithMeta(t *testing.T, objs objects) map[string]podWithMeta {
	t.Helper()
	out := map[string]podWithMeta{}
	for _, u := range objs.ofKind("DaemonSet") {
		tpl := convert[appsv1.DaemonSet](t, u).Spec.Template
		out[u.GetName()] = podWithMeta{tpl.Spec, tpl.Labels, tpl.Annotations}
	}
	for _, u := range objs.ofKind("Deployment") {
		tpl := convert[appsv1.Deployment](t, u).Spec.Template
		out[u.GetName()] = podWithMeta{tpl.Spec, tpl.Labels, tpl.Annotations}
	}
	return out
}

func nestedStringMap(obj map[string]any, fields ...string) (map[string]string, bool, error) {
	return unstructured.NestedStringMap(obj, fields...)
}
