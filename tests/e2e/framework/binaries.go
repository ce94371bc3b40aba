package framework

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Binaries are the executables a test cluster runs.
type Binaries struct {
	Etcd              string
	APIServer         string
	ControllerManager string
	Scheduler         string
	// Kubectl is kubectl of the same Kubernetes release, for what a user
	// does by hand (e.g. logging in through an exec credential plugin).
	Kubectl  string
	Attacher string
	CCM      string
	CSI      string
	Cloudsim string

	// The other CSI sidecars and the snapshot controller, built by
	// hack/build-kube.sh from tests/e2e/tools/{provisioner,resizer,snapshotter}
	// like Attacher.
	Provisioner        string
	Resizer            string
	Snapshotter        string
	SnapshotController string
	// CRDDir holds the VolumeSnapshot CRDs of the snapshotter's client module
	// (snapshot.storage.k8s.io_volumesnapshotclasses.yaml,
	// _volumesnapshotcontents.yaml, _volumesnapshots.yaml).
	CRDDir string
}

// RepoRoot finds the repository root from the working directory (tests
// run in tests/e2e or below).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "hack", "build-kube.sh")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("repository root not found above %s", dir)
		}
	}
}

// PrepareBinaries builds (or reuses) everything: the Kubernetes binaries
// once through hack/build-kube.sh (cached by version stamp), kumo's own
// commands with `go build` (cached by Go's build cache). etcd comes from the
// host (Debian's etcd-server; hack/install-deps.sh installs it).
func PrepareBinaries(root string) (Binaries, error) {
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		return Binaries{}, fmt.Errorf("%w: etcd (install Debian's etcd-server: KUMO_NEED_ETCD=1 hack/install-deps.sh)", ErrMissingBinary)
	}
	kubeBin := os.Getenv("KUMO_BIN_DIR")
	if kubeBin == "" {
		kubeBin = filepath.Join(root, "tests", "e2e", ".bin")
	}
	build := exec.Command(filepath.Join(root, "hack", "build-kube.sh"))
	build.Env = append(os.Environ(), "KUMO_BIN_DIR="+kubeBin)
	if out, err := build.CombinedOutput(); err != nil {
		return Binaries{}, fmt.Errorf("hack/build-kube.sh: %v\n%s", err, out)
	}
	kumoBin := filepath.Join(kubeBin, "kumo-"+runtime.GOARCH)
	for _, cmd := range []string{"cloud-controller-manager", "csi-driver", "cloudsim"} {
		gb := exec.Command("go", "build", "-o", filepath.Join(kumoBin, cmd), "./cmd/"+cmd)
		gb.Dir = root
		gb.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := gb.CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("go build ./cmd/%s: %v\n%s", cmd, err, out)
		}
	}
	return Binaries{
		Etcd:              etcd,
		APIServer:         filepath.Join(kubeBin, "kube-apiserver"),
		ControllerManager: filepath.Join(kubeBin, "kube-controller-manager"),
		Scheduler:         filepath.Join(kubeBin, "kube-scheduler"),
		Kubectl:           filepath.Join(kubeBin, "kubectl"),
		Attacher:          filepath.Join(kubeBin, "csi-attacher"),
		CCM:               filepath.Join(kumoBin, "cloud-controller-manager"),
		CSI:               filepath.Join(kumoBin, "csi-driver"),
		Cloudsim:          filepath.Join(kumoBin, "cloudsim"),

		Provisioner:        filepath.Join(kubeBin, "csi-provisioner"),
		Resizer:            filepath.Join(kubeBin, "csi-resizer"),
		Snapshotter:        filepath.Join(kubeBin, "csi-snapshotter"),
		SnapshotController: filepath.Join(kubeBin, "snapshot-controller"),
		CRDDir:             filepath.Join(kubeBin, "crds"),
	}, nil
}
