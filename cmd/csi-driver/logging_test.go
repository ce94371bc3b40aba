package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// runMainEnv makes the test binary run main() instead of the tests, so
// that logging is configured once per process, as in production.
const runMainEnv = "KUMO_CSI_DRIVER_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Args = append([]string{"csi-driver"}, strings.Fields(os.Getenv(runMainEnv+"_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// driverProcess is main() in a child process; its stderr (where both log
// formats write) is collected line by line.
type driverProcess struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

func startDriver(t *testing.T, args ...string) *driverProcess {
	t.Helper()
	for _, a := range args {
		if strings.ContainsAny(a, " \t\n") {
			t.Fatalf("argument %q has white space", a)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", runMainEnv+"_ARGS="+strings.Join(args, " "))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &driverProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done; _ = cmd.Wait() })
	return p
}

// waitFor waits until a line contains s.
func (p *driverProcess) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for _, l := range p.lines {
			if strings.Contains(l, s) {
				p.mu.Unlock()
				return
			}
		}
		p.mu.Unlock()
		select {
		case <-p.done:
			t.Fatalf("driver exited before logging %q:\n%s", s, strings.Join(p.output(), "\n"))
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no log line with %q within 30s:\n%s", s, strings.Join(p.output(), "\n"))
}

// stop sends SIGTERM and returns every line and the exit error.
func (p *driverProcess) stop(t *testing.T) ([]string, error) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return p.wait(t)
}

func (p *driverProcess) wait(t *testing.T) ([]string, error) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("driver did not exit within 30s")
	}
	err := p.cmd.Wait()
	return p.output(), err
}

func (p *driverProcess) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

func controllerArgs(t *testing.T, conf string) []string {
	return []string{"--cloud=openstack", "--mode=controller", "--cloud-config=" + conf,
		"--endpoint=unix://" + filepath.Join(t.TempDir(), "csi.sock")}
}

// --logging-format=json: every line is a JSON object with the usual keys,
// --v raises verbosity, and the password never appears.
func TestLoggingFormatJSON(t *testing.T) {
	_, srv := startSim(t)
	p := startDriver(t, append(controllerArgs(t, writeCloudConf(t, srv.URL, "")), "--logging-format=json", "--v=6")...)
	p.waitFor(t, "starting CSI driver")
	lines, err := p.stop(t)
	if err != nil {
		t.Errorf("driver exit after SIGTERM: %v", err)
	}
	var start map[string]any
	verbose := 0
	for _, l := range lines {
		if strings.Contains(l, simPassword) {
			t.Errorf("the password is logged: %s", l)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("not a JSON line: %q (%v)", l, err)
			continue
		}
		for _, k := range []string{"ts", "caller", "msg"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line without %q: %s", k, l)
			}
		}
		if v, _ := m["v"].(float64); v >= 4 {
			verbose++
		}
		if m["msg"] == "starting CSI driver" {
			start = m
		}
	}
	want := map[string]any{"cloud": "openstack", "mode": "controller", "v": float64(0)}
	for k, v := range want {
		if start[k] != v {
			t.Errorf("start line %v: %s = %v, want %v", start, k, start[k], v)
		}
	}
	if start["endpoint"] == nil || start["version"] == nil {
		t.Errorf("start line %v lacks endpoint or version", start)
	}
	if verbose == 0 {
		t.Errorf("--v=6 logged no V(4)+ line:\n%s", strings.Join(lines, "\n"))
	}
}

// A cloud that echoes the authentication request in its error: the
// failure is one JSON line that names the cause but not the password.
func TestLoggingJSONRedactsEchoedSecrets(t *testing.T) {
	sim, err := openstacksim.New(openstacksim.Options{Users: []openstacksim.User{{ID: "u-admin", Name: "admin", Password: simPassword}}})
	if err != nil {
		t.Fatal(err)
	}
	sim.Controls().SetHostile(simcore.HostileConfig{Rates: map[string]float64{simcore.HostileEcho: 1}, Paths: []string{"/auth/tokens"}})
	srv := httptest.NewServer(simcore.HostileMiddleware(sim.Controls(), simcore.DialectOpenStack, openstacksim.AdminPrefix, sim.Handler()))
	defer srv.Close()
	lines, err := startDriver(t, append(controllerArgs(t, writeCloudConf(t, srv.URL, "")), "--logging-format=json", "--v=10")...).wait(t)
	if err == nil {
		t.Fatal("driver started against an echoing Keystone")
	}
	failed := false
	for _, l := range lines {
		if strings.Contains(l, simPassword) {
			t.Errorf("the password is logged: %s", l)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("not a JSON line: %q (%v)", l, err)
		}
		if m["msg"] == "csi-driver failed" && strings.Contains(fmt.Sprint(m["err"]), "authentication") {
			failed = true
		}
	}
	if !failed {
		t.Errorf("no JSON line reports the failed authentication:\n%s", strings.Join(lines, "\n"))
	}
}

// The default stays klog text, and --v still works.
func TestLoggingFormatText(t *testing.T) {
	_, srv := startSim(t)
	p := startDriver(t, append(controllerArgs(t, writeCloudConf(t, srv.URL, "")), "--v=4")...)
	p.waitFor(t, "starting CSI driver")
	lines, _ := p.stop(t)
	text := strings.Join(lines, "\n")
	if !strings.Contains(text, `] "starting CSI driver" cloud="openstack" mode="controller"`) {
		t.Errorf("no klog text start line:\n%s", text)
	}
	if !strings.Contains(text, `"OpenStack API request"`) {
		t.Errorf("--v=4 logged no API request:\n%s", text)
	}
	if strings.Contains(text, simPassword) {
		t.Errorf("the password is logged:\n%s", text)
	}
}

// Bad logging flags stop start-up with an error naming the flag.
func TestLoggingFlagErrors(t *testing.T) {
	for args, want := range map[string]string{
		"--logging-format=yaml":                     `--logging-format=yaml: format: Invalid value: \"yaml\": Unsupported log format`,
		"--logging-format=json --logtostderr=false": "--logging-format=json does not honor --logtostderr (text only)",
		"--logging-format=json --vmodule=driver*=4": "--logging-format=json: vmodule: Forbidden",
	} {
		t.Run(args, func(t *testing.T) {
			lines, err := startDriver(t, append(strings.Fields(args), "--cloud=openstack")...).wait(t)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Errorf("exit = %v, want status 1", err)
			}
			if out := strings.Join(lines, "\n"); !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		})
	}
}
