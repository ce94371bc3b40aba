// Package e2e runs kumo's binaries against a real Kubernetes control plane
// (etcd, kube-apiserver, kube-controller-manager built from
// k8s.io/kubernetes) and the cloud simulator, each as a real process.
package e2e

import (
	"context"
	storagev1 "k8s.io/api/storage/v1"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// buildOnce builds every binary once per test binary run.
var buildOnce = sync.OnceValues(func() (framework.Binaries, error) {
	root, err := framework.RepoRoot()
	if err != nil {
		return framework.Binaries{}, err
	}
	return framework.PrepareBinaries(root)
})

// env is one test's cluster: control plane + simulator. Everything stops
// when the test ends; on failure the processes' log tails are printed.
type env struct {
	t     *testing.T
	ctx   context.Context
	dir   string
	bins  framework.Binaries
	cp    *framework.ControlPlane
	sim   *framework.Cloudsim
	procs []*framework.Process
	// extra are processes stopped by their owner (real nodes) but
	// scanned and dumped with the rest.
	extra []*framework.Process
	// secrets must never appear in any process's log.
	secrets []string
	// metrics fetch the /metrics of running components for the scan.
	metrics map[string]func(context.Context) (string, error)
}

func newEnv(t *testing.T, simOpts framework.CloudsimOptions) *env {
	t.Helper()
	return newEnvWith(t, simOpts, framework.ControlPlaneOptions{})
}

// newEnvWith is newEnv with control plane options (real kubelets).
func newEnvWith(t *testing.T, simOpts framework.CloudsimOptions, cpOpts framework.ControlPlaneOptions) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	bins, err := buildOnce()
	if err != nil {
		t.Fatalf("preparing binaries: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	dir := t.TempDir()
	if keep := os.Getenv("KUMO_E2E_KEEP"); keep != "" {
		dir = filepath.Join(keep, t.Name())
		_ = os.RemoveAll(dir) // a fresh cluster and cloud every run
		_ = os.MkdirAll(dir, 0o755)
	}
	e := &env{t: t, ctx: ctx, dir: dir, bins: bins, secrets: framework.Secrets(), metrics: map[string]func(context.Context) (string, error){}}
	cp, err := framework.StartControlPlane(ctx, bins, dir, cpOpts)
	if err != nil {
		t.Fatalf("control plane: %v", err)
	}
	e.cp = cp
	t.Cleanup(func() {
		e.checkNoSecretsLogged()
		e.dumpLogsOnFailure()
		for i := len(e.procs) - 1; i >= 0; i-- {
			e.procs[i].Stop(10 * time.Second)
		}
		cp.Stop()
	})
	sim, err := framework.StartCloudsim(ctx, bins, dir, cp.LogDir, simOpts)
	if err != nil {
		t.Fatalf("cloudsim: %v", err)
	}
	e.sim = sim
	e.procs = append(e.procs, sim.Proc)
	return e
}

// track registers a process to stop (and dump) with the env.
func (e *env) track(p *framework.Process) { e.procs = append(e.procs, p) }

// checkNoSecretsLogged fails the test if a credential, a Keystone token or
// a NIFCLOUD request signature shows up in any process's log (the
// components run at the highest verbosity), in any Event, or in what the
// metrics endpoints serve.
func (e *env) checkNoSecretsLogged() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tokens := e.sim.Tokens(ctx)
	forbidden := append(append([]string{"Signature="}, e.secrets...), tokens...)
	scanned := map[string]int{}
	check := func(where, text string) {
		scanned[strings.SplitN(where, " ", 2)[0]]++
		for _, s := range forbidden {
			if strings.Contains(text, s) {
				e.t.Errorf("%s contains a secret (%d chars starting %q)", where, len(s), s[:3])
			}
		}
	}
	all := append(append(append([]*framework.Process{}, e.cp.Processes()...), e.procs...), e.extra...)
	for _, p := range all {
		if p == e.sim.Proc {
			continue // the simulator is the cloud: it knows the secrets
		}
		data, err := os.ReadFile(p.LogPath)
		if err == nil {
			check("log of "+p.Name+" ("+p.LogPath+")", string(data))
		}
	}
	if events, err := e.cp.Client.CoreV1().Events("").List(ctx, metav1.ListOptions{}); err == nil {
		for _, ev := range events.Items {
			check("event "+ev.Namespace+"/"+ev.Name, ev.Message+" "+ev.Reason)
		}
	}
	// The CSI sidecars copy gRPC error texts into VolumeAttachments.
	if vas, err := e.cp.Client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{}); err == nil {
		for _, va := range vas.Items {
			for _, ve := range []*storagev1.VolumeError{va.Status.AttachError, va.Status.DetachError} {
				if ve != nil {
					check("attach error of "+va.Name, ve.Message)
				}
			}
		}
	}
	for name, fetch := range e.metrics {
		if body, err := fetch(ctx); err == nil {
			check("metrics of "+name, body)
		}
	}
	e.t.Logf("secrets scan: %d forbidden strings (%d Keystone tokens) in %d logs, %d events, %d attach errors, %d metrics endpoints",
		len(forbidden), len(tokens), scanned["log"], scanned["event"], scanned["attach"], scanned["metrics"])
}

func (e *env) dumpLogsOnFailure() {
	if !e.t.Failed() {
		return
	}
	all := append(append(append([]*framework.Process{}, e.cp.Processes()...), e.procs...), e.extra...)
	for _, p := range all {
		e.t.Logf("---- %s (%s), last lines:\n%s", p.Name, p.LogPath, p.LogTail(40))
	}
}

// eventually polls cond until it holds or the timeout passes.
func (e *env) eventually(what string, timeout time.Duration, cond func(ctx context.Context) (bool, error)) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, timeout)
	defer cancel()
	if err := framework.WaitFor(ctx, what, 250*time.Millisecond, nil, cond); err != nil {
		e.t.Fatal(err)
	}
}
