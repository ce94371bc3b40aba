package chaos

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// cloudCalls are one simulator's counters for the run.
type cloudCalls struct {
	Cloud  string
	Calls  int64
	Faults map[string]int64 // by kind: error, throttle, timeout
}

func callsOf(cloud string, c *simcore.Controls) cloudCalls {
	out := cloudCalls{Cloud: cloud, Faults: map[string]int64{}}
	for _, n := range c.Counts() {
		out.Calls += n
	}
	for k, n := range c.FaultsInjected() {
		kind, _, _ := strings.Cut(k, ":")
		out.Faults[kind] += n
	}
	return out
}

// report is the run's summary.
type report struct {
	Size    size
	Wall    time.Duration
	Clouds  []cloudCalls
	LBs     []*lbResult
	Volumes []*volResult
	Leaks   []leak
	Errors  []string
}

func (r report) markdown() string {
	var b strings.Builder
	f := chaosFaults(0)
	fmt.Fprintf(&b, "### %s run: %d LoadBalancer Services and %d volumes per cloud\n\n", r.Size.Mode, r.Size.LBs, r.Size.Volumes)
	fmt.Fprintf(&b, "Faults on every API call: %.0f%% 5xx, %.0f%% throttled (Retry-After %v), %.0f%% hang %v (clients time out after %v); "+
		"state transitions %v. Wall time %v.\n\n", f.ErrorRate*100, f.ThrottleRate*100, f.RetryAfter, f.TimeoutRate*100,
		f.Timeout, attemptTimeout, transitions["*"], r.Wall.Round(100*time.Millisecond))
	b.WriteString("| cloud | API calls | 5xx injected | throttles injected | timeouts injected | fault rate |\n|---|---|---|---|---|---|\n")
	for _, c := range r.Clouds {
		tot := c.Faults["error"] + c.Faults["throttle"] + c.Faults["timeout"]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.1f%% |\n", c.Cloud, c.Calls, c.Faults["error"], c.Faults["throttle"],
			c.Faults["timeout"], 100*float64(tot)/float64(max(c.Calls, 1)))
	}
	b.WriteString("\nLoad balancers (real service controller, " + fmt.Sprint(serviceSyncWorkers) + " workers):\n\n")
	b.WriteString("| cloud | services | all ingress after | all deleted after | Ensure calls (failed) | Update calls | EnsureDeleted calls (failed) |\n|---|---|---|---|---|---|---|\n")
	sort.Slice(r.LBs, func(i, j int) bool { return r.LBs[i].Cloud < r.LBs[j].Cloud })
	for _, l := range r.LBs {
		fmt.Fprintf(&b, "| %s | %d | %v | %v | %d (%d) | %d | %d (%d) |\n", l.Cloud, l.Services, l.CreateWall.Round(100*time.Millisecond),
			l.DeleteWall.Round(100*time.Millisecond), l.EnsureCalls, l.EnsureFailures, l.UpdateCalls, l.DeleteCalls, l.DeleteFailures)
	}
	b.WriteString("\nVolumes (real CSI controller over gRPC, sidecar-style retries):\n\n")
	b.WriteString("| cloud | volumes | create+publish | unpublish+delete | calls (failed) per method | disks after create (creations on the wire) | names with 2 disks | names re-created after cleanup |\n|---|---|---|---|---|---|---|---|\n")
	sort.Slice(r.Volumes, func(i, j int) bool { return r.Volumes[i].Cloud < r.Volumes[j].Cloud })
	for _, v := range r.Volumes {
		var ops []string
		for _, m := range []string{"CreateVolume", "ControllerPublishVolume", "ControllerUnpublishVolume", "DeleteVolume"} {
			s := v.Ops[m]
			ops = append(ops, fmt.Sprintf("%s %d (%d)", m, s.calls.Load(), s.failures.Load()))
		}
		fmt.Fprintf(&b, "| %s | %d | %v | %v | %s | %d (%d) | %d | %d |\n", v.Cloud, v.Volumes, v.UpWall.Round(100*time.Millisecond),
			v.DownWall.Round(100*time.Millisecond), strings.Join(ops, ", "), v.Created, v.WireCreates, len(v.Duplicate), len(v.Recreated))
	}
	fmt.Fprintf(&b, "\nAudit after the run (faults off): %d leaked object kinds.\n", len(r.Leaks))
	for _, l := range r.Leaks {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "- NOT CONVERGED: %s\n", e)
	}
	return b.String()
}

// writeResults replaces the section of mode in path, keeping the other
// mode's section, so the file holds the latest default and full runs.
func writeResults(path, mode, text string) error {
	const header = "# Chaos test results\n\nWritten by `go test ./tests/chaos` (default sizes) and " +
		"`KUMO_CHAOS_FULL=1 go test ./tests/chaos` (the issue's sizes); each run replaces its own section.\n"
	sections := map[string]string{}
	if old, err := os.ReadFile(path); err == nil {
		for _, part := range strings.Split(string(old), "<!-- mode:")[1:] {
			m, body, ok := strings.Cut(part, " -->\n")
			if ok {
				sections[m] = strings.TrimSuffix(strings.TrimRight(body, "\n"), "<!-- end -->")
			}
		}
	}
	sections[mode] = text
	var b strings.Builder
	b.WriteString(header)
	for _, m := range []string{"default", "full"} {
		if s, ok := sections[m]; ok {
			fmt.Fprintf(&b, "\n<!-- mode:%s -->\n%s<!-- end -->\n", m, s)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
