package packaging

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// schemaNode is the part of a values.schema.json node the walk needs.
type schemaNode struct {
	Ref        string                `json:"$ref"`
	Properties map[string]schemaNode `json:"properties"`
}

// schemaPaths lists the documented paths of a chart's schema: leaves, and
// objects documented as a whole (Kubernetes resources).
func schemaPaths(t *testing.T, chart string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "charts", chart, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		schemaNode
		Definitions map[string]schemaNode `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(prefix string, props map[string]schemaNode)
	walk = func(prefix string, props map[string]schemaNode) {
		for name, n := range props {
			for n.Ref != "" {
				n = s.Definitions[strings.TrimPrefix(n.Ref, "#/definitions/")]
			}
			if len(n.Properties) > 0 && name != "resources" {
				walk(prefix+name+".", n.Properties)
				continue
			}
			out = append(out, prefix+name)
		}
	}
	walk("", s.Properties)
	sort.Strings(out)
	return out
}

// generic writes sidecars.<name>.x for sidecars.provisioner.x: the docs
// describe the fields every sidecar shares once.
func generic(path string) string {
	parts := strings.Split(path, ".")
	if len(parts) == 3 && parts[0] == "sidecars" && parts[2] != "enabled" {
		parts[1] = "<name>"
	}
	return strings.Join(parts, ".")
}

// TestChartValuesDocumented: docs/helm.md has a table row for every value
// each chart's schema accepts, and no row for a value that does not exist.
func TestChartValuesDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "helm.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|")
	for _, chart := range []string{"kumo-csi-driver", "kumo-cloud-controller-manager", "kumo-keystone-auth"} {
		t.Run(chart, func(t *testing.T) {
			start := strings.Index(doc, "## "+chart+" values")
			if start < 0 {
				t.Fatalf("docs/helm.md has no section \"## %s values\"", chart)
			}
			section := doc[start+1:]
			if end := strings.Index(section, "\n## "); end >= 0 {
				section = section[:end]
			}
			rows := map[string]bool{}
			for _, m := range row.FindAllStringSubmatch(section, -1) {
				rows[m[1]] = true
			}
			known := map[string]bool{}
			for _, p := range schemaPaths(t, chart) {
				known[p], known[generic(p)] = true, true
				if !rows[p] && !rows[generic(p)] {
					t.Errorf("value %s is not documented in docs/helm.md", p)
				}
			}
			for r := range rows {
				if !known[r] {
					t.Errorf("docs/helm.md documents %s, which the schema does not accept", r)
				}
			}
			t.Logf("%d documented values", len(rows))
		})
	}
}
