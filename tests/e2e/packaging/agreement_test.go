package packaging

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestChartsAgreeWithKustomize proves the two install paths install the
// same thing: for each cloud, the chart with default values renders
// exactly the objects of deploy/<component>/overlays/<cloud>.
func TestChartsAgreeWithKustomize(t *testing.T) {
	for _, c := range components {
		for _, cloud := range clouds {
			t.Run(c.name+"/"+cloud, func(t *testing.T) {
				kust := renderKustomize(t, "deploy/"+c.overlay+"/overlays/"+cloud)
				helm, err := renderChart("charts/"+c.chart, "kube-system", chartValues(cloud))
				if err != nil {
					t.Fatal(err)
				}
				assertSameObjects(t, kust, helm)
			})
		}
	}
}

// assertSameObjects fails unless the kustomize and Helm renderings hold
// the same objects, field for field.
func assertSameObjects(t *testing.T, kust, helm objects) {
	t.Helper()
	if len(kust) == 0 {
		t.Fatal("kustomize rendered no objects")
	}
	t.Logf("%d objects agree: %v", len(kust), kust.keys())
	for _, k := range kust.keys() {
		h, ok := helm[k]
		if !ok {
			t.Errorf("%s: only in kustomize output", k)
			continue
		}
		if !reflect.DeepEqual(kust[k].Object, h.Object) {
			t.Errorf("%s differs (kustomize != helm):\n%s", k, strings.Join(diffPaths("", kust[k].Object, h.Object), "\n"))
		}
	}
	for _, k := range helm.keys() {
		if _, ok := kust[k]; !ok {
			t.Errorf("%s: only in chart output", k)
		}
	}
}

// diffPaths lists the JSON paths where a and b differ, for short failure
// messages.
func diffPaths(path string, a, b any) []string {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return []string{path + fmt.Sprintf(": %v != %v", a, b)}
		}
		var out []string
		for k := range av {
			out = append(out, diffPaths(path+"."+k, av[k], bv[k])...)
		}
		for k := range bv {
			if _, ok := av[k]; !ok {
				out = append(out, path+"."+k+fmt.Sprintf(": <absent> != %v", bv[k]))
			}
		}
		sort.Strings(out)
		return out
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return []string{path + fmt.Sprintf(": %v != %v", a, b)}
		}
		var out []string
		for i := range av {
			out = append(out, diffPaths(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i])...)
		}
		return out
	default:
		if !reflect.DeepEqual(a, b) {
			return []string{path + fmt.Sprintf(": %v != %v", a, b)}
		}
		return nil
	}
}
