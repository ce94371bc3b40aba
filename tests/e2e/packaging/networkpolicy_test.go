package packaging

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// metricsNetworkPolicy is the opt-in kustomize component; the chart's
// networkPolicy.enabled renders the same object.
const metricsNetworkPolicy = "deploy/csi/components/metrics-networkpolicy"

// renderWithComponents builds, like a user's own kustomization would, the
// overlay plus kustomize components (directories relative to the repo).
func renderWithComponents(t *testing.T, overlay string, components ...string) objects {
	t.Helper()
	root := repoRoot(t)
	dir := t.TempDir()
	// kustomize refuses absolute roots; relative ones may leave the
	// kustomization's directory.
	rel := func(p string) string {
		r, err := filepath.Rel(dir, filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	var b strings.Builder
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - " + rel(overlay) + "\n")
	if len(components) > 0 {
		b.WriteString("components:\n")
		for _, c := range components {
			b.WriteString("  - " + rel(c) + "\n")
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s + %v: %v", overlay, components, err)
	}
	out := objects{}
	for _, r := range m.Resources() {
		obj, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		u, err := normalize(obj)
		if err != nil {
			t.Fatal(err)
		}
		if err := out.add(u); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestMetricsNetworkPolicy: the optional NetworkPolicy is off by default,
// the chart value and the kustomize component render the same objects,
// and the policy admits only the metrics port of the controller pods.
func TestMetricsNetworkPolicy(t *testing.T) {
	for _, cloud := range clouds {
		t.Run(cloud, func(t *testing.T) {
			if nps := renderKustomize(t, "deploy/csi/overlays/"+cloud).ofKind("NetworkPolicy"); len(nps) != 0 {
				t.Errorf("overlay renders a NetworkPolicy by default")
			}
			def, err := renderChart("charts/kumo-csi-driver", "kube-system", chartValues(cloud))
			if err != nil {
				t.Fatal(err)
			}
			if nps := def.ofKind("NetworkPolicy"); len(nps) != 0 {
				t.Errorf("chart renders a NetworkPolicy by default")
			}

			kust := renderWithComponents(t, "deploy/csi/overlays/"+cloud, metricsNetworkPolicy)
			vals := chartValues(cloud)
			vals["networkPolicy"] = map[string]any{"enabled": true}
			helm, err := renderChart("charts/kumo-csi-driver", "kube-system", vals)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(kust.keys(), helm.keys()) {
				t.Fatalf("objects differ:\nkustomize %v\nhelm      %v", kust.keys(), helm.keys())
			}
			for _, k := range kust.keys() {
				if !reflect.DeepEqual(kust[k].Object, helm[k].Object) {
					t.Errorf("%s differs (kustomize != helm):\n%s", k, strings.Join(diffPaths("", kust[k].Object, helm[k].Object), "\n"))
				}
			}
			nps := kust.ofKind("NetworkPolicy")
			if len(nps) != 1 {
				t.Fatalf("%d NetworkPolicies with the component", len(nps))
			}
			np := convert[networkingv1.NetworkPolicy](t, nps[0])
			ctrl, ok := kust.ofKindName("Deployment", "kumo-csi-controller")
			if !ok {
				t.Fatal("no controller Deployment")
			}
			if !reflect.DeepEqual(np.Spec.PodSelector.MatchLabels, convertDeploymentSelector(t, ctrl)) {
				t.Errorf("podSelector %v does not select the controller pods", np.Spec.PodSelector.MatchLabels)
			}
			if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.IntValue() != 8080 ||
				len(np.Spec.Ingress[0].From) == 0 {
				t.Errorf("ingress %+v, want only TCP 8080 from the configured peers", np.Spec.Ingress)
			}
			if np.Spec.Ingress[0].Ports[0].Protocol == nil || *np.Spec.Ingress[0].Ports[0].Protocol != corev1.ProtocolTCP {
				t.Errorf("port protocol %v, want TCP", np.Spec.Ingress[0].Ports[0].Protocol)
			}

			// The scraper is configurable.
			vals["networkPolicy"] = map[string]any{"enabled": true, "metricsFrom": []any{map[string]any{
				"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "observability"}},
				"podSelector":       map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "prometheus"}},
			}}}
			custom, err := renderChart("charts/kumo-csi-driver", "kube-system", vals)
			if err != nil {
				t.Fatal(err)
			}
			cnp := convert[networkingv1.NetworkPolicy](t, custom.ofKind("NetworkPolicy")[0])
			if from := cnp.Spec.Ingress[0].From; len(from) != 1 || from[0].PodSelector == nil || from[0].PodSelector.MatchLabels["app.kubernetes.io/name"] != "prometheus" ||
				from[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "observability" {
				t.Errorf("networkPolicy.metricsFrom not applied: %+v", from)
			}
		})
	}
}

func (o objects) ofKindName(kind, name string) (map[string]any, bool) {
	for _, u := range o.ofKind(kind) {
		if u.GetName() == name {
			return u.Object, true
		}
	}
	return nil, false
}

func convertDeploymentSelector(t *testing.T, obj map[string]any) map[string]string {
	t.Helper()
	spec, _ := obj["spec"].(map[string]any)
	sel, _ := spec["selector"].(map[string]any)
	ml, _ := sel["matchLabels"].(map[string]any)
	out := map[string]string{}
	for k, v := range ml {
		out[k], _ = v.(string)
	}
	return out
}
