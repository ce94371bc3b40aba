package packaging

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// e2eSidecar is a CSI sidecar the e2e suite builds from a wrapper module
// under tests/e2e/tools (hack/build-kube.sh).
type e2eSidecar struct {
	container, tool, module string
}

var e2eSidecars = []e2eSidecar{
	{"csi-provisioner", "provisioner", "github.com/kubernetes-csi/external-provisioner/v6"},
	{"csi-attacher", "attacher", "github.com/kubernetes-csi/external-attacher/v4"},
	{"csi-resizer", "resizer", "github.com/kubernetes-csi/external-resizer/v2"},
	{"csi-snapshotter", "snapshotter", "github.com/kubernetes-csi/external-snapshotter/v8"},
}

// TestSidecarsPinTestedVersions: deploy/ and the chart's defaults run
// exactly the sidecar versions the e2e suite runs (the wrapper modules'
// versions), and pass them only flags those builds define. A sidecar bump
// that forgets the manifests, or a flag a new major version dropped, fails
// here instead of in a cluster.
func TestSidecarsPinTestedVersions(t *testing.T) {
	root := repoRoot(t)
	want := map[string]string{}
	for _, s := range e2eSidecars {
		v, err := requiredVersion(filepath.Join(root, "tests", "e2e", "tools", s.tool, "go.mod"), s.module)
		if err != nil {
			t.Fatal(err)
		}
		want[s.container] = v
	}
	flags := sidecarFlags(t, root, want)
	for _, cloud := range clouds {
		renders := map[string]objects{
			"kustomize": renderKustomize(t, "deploy/csi/overlays/"+cloud),
			"helm":      mustRender(t, csiChart, chartValues(cloud)),
		}
		for how, objs := range renders {
			t.Run(how+"/"+cloud, func(t *testing.T) {
				seen := 0
				for _, ctr := range podSpecs(t, objs)["kumo-csi-controller"].Containers {
					v, ok := want[ctr.Name]
					if !ok {
						continue
					}
					seen++
					if img := "registry.k8s.io/sig-storage/" + ctr.Name + ":" + v; ctr.Image != img {
						t.Errorf("%s: image %s, the e2e suite runs %s", ctr.Name, ctr.Image, img)
					}
					for _, a := range ctr.Args {
						f := strings.SplitN(strings.TrimLeft(a, "-"), "=", 2)[0]
						if !flags[ctr.Name][f] {
							t.Errorf("%s %s: %s is not a flag of that version", ctr.Name, v, a)
						}
					}
				}
				// provisioner, attacher, resizer; snapshotter on OpenStack.
				if seen < 3 {
					t.Errorf("%d of the e2e sidecars in the controller, want at least 3", seen)
				}
			})
		}
	}
}

// requiredVersion is module's version in a go.mod's require lines.
func requiredVersion(gomod, module string) (string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(fields) >= 2 && fields[0] == module {
			return fields[1], nil
		}
	}
	return "", errors.New(gomod + " does not require " + module)
}

// helpFlag matches a flag at the start of a --help line, in Go's flag
// ("  -timeout duration") and pflag ("      --timeout duration") styles.
var helpFlag = regexp.MustCompile(`(?m)^\s+--?([a-z0-9][a-z0-9-]*)`)

// sidecarFlags reads each built sidecar's flags from its --help, after
// checking that --version reports the pinned version (the stamped build
// from hack/build-kube.sh).
func sidecarFlags(t *testing.T, root string, want map[string]string) map[string]map[string]bool {
	t.Helper()
	dir := os.Getenv("KUMO_BIN_DIR")
	if dir == "" {
		dir = filepath.Join(root, "tests", "e2e", ".bin")
	}
	out := map[string]map[string]bool{}
	for name, v := range want {
		bin := filepath.Join(dir, name)
		if _, err := os.Stat(bin); err != nil {
			if testing.Short() {
				t.Skipf("skipping sidecar checks with -short: %v: %s", framework.ErrMissingBinary, bin)
			}
			t.Fatalf("%v: %s (run hack/build-kube.sh, or use -short to skip)", framework.ErrMissingBinary, bin)
		}
		ver, err := exec.Command(bin, "--version").Output()
		if err != nil {
			t.Fatalf("%s --version: %v", bin, err)
		}
		if got := strings.Fields(string(ver)); len(got) < 2 || got[len(got)-1] != v {
			t.Fatalf("%s --version says %q, the tools module pins %s (run hack/build-kube.sh)", bin, strings.TrimSpace(string(ver)), v)
		}
		// Go's flag package exits 0 after printing -help; pflag may not.
		help, _ := exec.Command(bin, "--help").CombinedOutput()
		out[name] = map[string]bool{}
		for _, m := range helpFlag.FindAllStringSubmatch(string(help), -1) {
			out[name][m[1]] = true
		}
		if len(out[name]) < 10 {
			t.Fatalf("%s --help listed %d flags; the parser is out of date:\n%s", name, len(out[name]), help)
		}
	}
	return out
}
