package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Cloudsim is the simulator process serving both clouds.
type Cloudsim struct {
	Proc         *Process
	NIFCLOUDURL  string
	OpenStackURL string
	StateDir     string
	http         *http.Client
}

// CloudsimOptions tune the simulator process.
type CloudsimOptions struct {
	// Transition is --transition (state transition delays).
	Transition string
	// Latency is --latency (per-call latency).
	Latency string
	// Env adds environment variables (credentials).
	Env []string
	// LocalDiskRoot enables real loop devices for the instances/servers
	// marked local (--local-disk-root), one device view per node below
	// it (--local-disk-per-node).
	LocalDiskRoot string
}

// StartCloudsim starts cmd/cloudsim on free loopback ports with its state
// under dir and waits for its ready file.
func StartCloudsim(ctx context.Context, bins Binaries, dir, logDir string, opts CloudsimOptions) (*Cloudsim, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	ready := filepath.Join(dir, "cloudsim-ready.json")
	_ = os.Remove(ready)
	args := []string{
		"--nifcloud-listen=127.0.0.1:" + strconv.Itoa(ports[0]),
		"--openstack-listen=127.0.0.1:" + strconv.Itoa(ports[1]),
		"--state-dir=" + filepath.Join(dir, "cloudsim-state"),
		"--ready-file=" + ready,
	}
	if opts.Transition != "" {
		args = append(args, "--transition="+opts.Transition)
	}
	if opts.Latency != "" {
		args = append(args, "--latency="+opts.Latency)
	}
	if opts.LocalDiskRoot != "" {
		args = append(args, "--local-disk-root="+opts.LocalDiskRoot, "--local-disk-per-node")
	}
	p, err := StartProcess("cloudsim", logDir, bins.Cloudsim, args, opts.Env)
	if err != nil {
		return nil, err
	}
	sim := &Cloudsim{Proc: p, StateDir: filepath.Join(dir, "cloudsim-state"), http: &http.Client{Timeout: 10 * time.Second}}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = WaitFor(wctx, "cloudsim ready file", 100*time.Millisecond, p, func(context.Context) (bool, error) {
		data, err := os.ReadFile(ready)
		if err != nil || len(data) == 0 {
			return false, nil
		}
		var urls map[string]string
		if err := json.Unmarshal(data, &urls); err != nil {
			return false, nil // partially written
		}
		sim.NIFCLOUDURL, sim.OpenStackURL = urls["nifcloud"], urls["openstack"]
		return true, nil
	})
	if err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	return sim, nil
}

// Admin calls the simulator's admin API: base is NIFCLOUDURL or
// OpenStackURL, path e.g. "/_sim/nifcloud/instances". in (if not nil) is
// sent as JSON, out (if not nil) receives the JSON answer.
func (s *Cloudsim) Admin(ctx context.Context, method, base, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Counters returns the per-action call counters under prefix
// ("/_sim/nifcloud/" or "/_sim/openstack/").
func (s *Cloudsim) Counters(ctx context.Context, base, prefix string) (map[string]int64, error) {
	var out struct {
		Calls map[string]int64 `json:"calls"`
	}
	err := s.Admin(ctx, http.MethodGet, base, prefix+"counters", nil, &out)
	return out.Calls, err
}

// Tokens returns the IDs of the Keystone tokens the simulator has issued
// (none if its OpenStack side does not answer): values no component may
// ever log or put into an Event.
func (s *Cloudsim) Tokens(ctx context.Context) []string {
	var st struct {
		Tokens map[string]json.RawMessage `json:"tokens"`
	}
	if s.OpenStackURL == "" || s.Admin(ctx, http.MethodGet, s.OpenStackURL, OpenStackAdmin+"state", nil, &st) != nil {
		return nil
	}
	ids := make([]string, 0, len(st.Tokens))
	for id := range st.Tokens {
		ids = append(ids, id)
	}
	return ids
}
