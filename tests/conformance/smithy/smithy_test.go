package smithy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// findSpec walks up from the working directory to shared/specs, then falls
// back to the conformance test's vendored copy (../testdata/README.md).
func findSpec(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "shared", "specs", "nifcloud-computing.smithy")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			const vendored = "../testdata/nifcloud-computing.smithy"
			if _, err := os.Stat(vendored); err != nil {
				t.Fatalf("shared/specs/nifcloud-computing.smithy not found above the test directory and %s missing", vendored)
			}
			return vendored
		}
		dir = parent
	}
}

func TestParseKnownShapes(t *testing.T) {
	f, err := os.Open(findSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // opened read-only
	m, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Operations) < 200 {
		t.Fatalf("only %d operations parsed", len(m.Operations))
	}
	keys := strings.Join(m.QueryKeys(m.Operations["NiftyModifyElasticLoadBalancerAttributes"].Input), " ")
	for _, want := range []string{"LoadBalancerAttributes.AdditionalAttributes.member.N.Key", "ElasticLoadBalancerPort"} {
		if !strings.Contains(keys, want) {
			t.Errorf("keys %s lack %s", keys, want)
		}
	}
	if os.Getenv("DUMP") != "" {
		for _, op := range strings.Split(os.Getenv("DUMP"), ",") {
			t.Logf("%s: %s", op, strings.Join(m.QueryKeys(m.Operations[op].Input), " "))
		}
	}
}
