package packaging

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsCoverCode keeps docs/ in step with the code: every Service
// annotation, StorageClass parameter and metric name the code defines is
// documented, and relative links resolve.
func TestDocsCoverCode(t *testing.T) {
	root := repoRoot(t)
	read := func(rel string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	checks := []struct {
		source, doc string
		re          *regexp.Regexp
		format      func(string) string
	}{
		{"pkg/ccm/nifcloud/annotations.go", "docs/annotations.md", regexp.MustCompile(`annotationPrefix \+ "([a-z0-9-]+)"`), func(s string) string { return "`" + s + "`" }},
		{"pkg/ccm/openstack/octavia/annotations.go", "docs/annotations.md", regexp.MustCompile(`annPrefix \+ "([a-z0-9-]+)"`), func(s string) string { return "`loadbalancer.openstack.org/" + s + "`" }},
		{"pkg/ccm/openstack/octavia/annotations.go", "docs/annotations.md", regexp.MustCompile(`= "(service\.beta\.kubernetes\.io/[a-z0-9-]+)"`), func(s string) string { return "`" + s + "`" }},
		{"pkg/csi/profile/nifcloud.go", "docs/storageclass-parameters.md", regexp.MustCompile(`NIFCLOUDParam\w+ += "([a-z-]+)"`), func(s string) string { return "| `" + s + "`" }},
		{"pkg/csi/profile/openstack.go", "docs/storageclass-parameters.md", regexp.MustCompile(`Cinder\w*Param\w+ += "([a-z-]+)"`), func(s string) string { return "| `" + s + "`" }},
		{"pkg/cloudmetrics/metrics.go", "docs/metrics.md", regexp.MustCompile(`Name: +"(kumo_[a-z_]+)"`), func(s string) string { return "`" + s + "`" }},
	}
	for _, c := range checks {
		src, doc := read(c.source), read(c.doc)
		found := c.re.FindAllStringSubmatch(src, -1)
		if len(found) == 0 {
			t.Errorf("%s: pattern %s matches nothing; update this test", c.source, c.re)
		}
		for _, m := range found {
			if !strings.Contains(doc, c.format(m[1])) {
				t.Errorf("%s: %s (defined in %s) is not documented", c.doc, m[1], c.source)
			}
		}
		t.Logf("%s: %d names checked in %s", c.source, len(found), c.doc)
	}

	link := regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	for _, d := range docs {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			if _, err := os.Stat(filepath.Join(filepath.Dir(d), m[1])); err != nil {
				t.Errorf("%s: broken link %s", filepath.Base(d), m[1])
			}
		}
	}
}
