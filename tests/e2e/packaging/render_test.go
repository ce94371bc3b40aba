// Package packaging checks kumo's deployment artifacts: the kustomize
// manifests under deploy/, the Helm charts under charts/ and the
// Dockerfiles. Manifests are rendered through the kustomize and Helm Go
// libraries and applied with server-side dry-run to a real kube-apiserver.
package packaging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// clouds are the supported clouds; every overlay and chart exists per cloud.
var clouds = []string{"nifcloud", "openstack"}

// component ties a kustomize directory to the chart that must render the
// same objects.
type component struct {
	name    string // short name for test names
	overlay string // deploy/<overlay>/overlays/<cloud>
	chart   string // charts/<chart>
}

var components = []component{
	{name: "ccm", overlay: "ccm", chart: "kumo-cloud-controller-manager"},
	{name: "csi", overlay: "csi", chart: "kumo-csi-driver"},
}

// objects is a rendered manifest set keyed by apiVersion/kind/namespace/name.
type objects map[string]*unstructured.Unstructured

func key(u *unstructured.Unstructured) string {
	return u.GetAPIVersion() + "/" + u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}

// keys returns the sorted object keys.
func (o objects) keys() []string {
	out := make([]string, 0, len(o))
	for k := range o {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ofKind returns the objects of one kind, sorted by key.
func (o objects) ofKind(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, k := range o.keys() {
		if o[k].GetKind() == kind {
			out = append(out, o[k])
		}
	}
	return out
}

func (o objects) add(u *unstructured.Unstructured) error {
	if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
		return fmt.Errorf("object without apiVersion, kind or name: %v", u.Object)
	}
	k := key(u)
	if _, dup := o[k]; dup {
		return fmt.Errorf("duplicate object %s", k)
	}
	o[k] = u
	return nil
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := framework.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// renderKustomize builds a kustomization directory (relative to the repo
// root) exactly as `kubectl apply -k` would.
func renderKustomize(t *testing.T, dir string) objects {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot(t), dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out := objects{}
	for _, r := range m.Resources() {
		obj, err := r.Map()
		if err != nil {
			t.Fatalf("kustomize build %s: %v", dir, err)
		}
		u, err := normalize(obj)
		if err != nil {
			t.Fatalf("kustomize build %s: %v", dir, err)
		}
		if err := out.add(u); err != nil {
			t.Fatalf("kustomize build %s: %v", dir, err)
		}
	}
	return out
}

// renderChart renders a chart (relative to the repo root) like
// `helm template --namespace <ns>` with the given values, validating them
// against values.schema.json on the way.
func renderChart(chartDir, namespace string, values map[string]any) (objects, error) {
	root, err := framework.RepoRoot()
	if err != nil {
		return nil, err
	}
	ch, err := loader.Load(filepath.Join(root, chartDir))
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w", chartDir, err)
	}
	rv, err := chartutil.ToRenderValues(ch, values, chartutil.ReleaseOptions{
		Name: "kumo", Namespace: namespace, IsInstall: true, Revision: 1,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("chart %s values: %w", chartDir, err)
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return nil, fmt.Errorf("rendering chart %s: %w", chartDir, err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	out := objects{}
	for _, n := range names {
		if !strings.HasSuffix(n, ".yaml") {
			continue // NOTES.txt, helpers
		}
		if err := decodeAll(files[n], out); err != nil {
			return nil, fmt.Errorf("chart %s template %s: %w", chartDir, n, err)
		}
	}
	return out, nil
}

// decodeAll adds every non-empty YAML document of s to out.
func decodeAll(s string, out objects) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(s), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if len(obj) == 0 {
			continue
		}
		u, err := normalize(obj)
		if err != nil {
			return err
		}
		if err := out.add(u); err != nil {
			return err
		}
	}
}

// normalize round-trips through JSON so that both renderers' numbers and
// maps compare equal.
func normalize(obj map[string]any) (*unstructured.Unstructured, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return u, nil
}

// toJSON is an indented rendering for failure messages.
func toJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	return b.String()
}

// chartValues are the values under which the chart must equal the overlay.
func chartValues(cloud string) map[string]any {
	return map[string]any{"cloud": cloud}
}
