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
	Cloud string
	// Calls reached the simulator (including those its controls failed
	// and those whose answer was lost afterwards).
	Calls int64
	// Faults by kind: error, throttle, timeout (the simulator's), the
	// hostileKinds (answered by the middleware; these calls never reached
	// the simulator) and lostKind.
	Faults map[string]int64
}

// callsOf sums the simulator's counters and the extra faults (keyed
// "kind:action") injected in front of it.
func callsOf(cloud string, c *simcore.Controls, extra ...map[string]int64) cloudCalls {
	out := cloudCalls{Cloud: cloud, Faults: map[string]int64{}}
	for _, n := range c.Counts() {
		out.Calls += n
	}
	for _, m := range append([]map[string]int64{c.FaultsInjected()}, extra...) {
		for k, n := range m {
			kind, _, _ := strings.Cut(k, ":")
			out.Faults[kind] += n
		}
	}
	return out
}

// hostile is the number of hostile answers.
func (c cloudCalls) hostile() int64 {
	var n int64
	for _, k := range hostileKinds {
		n += c.Faults[k]
	}
	return n
}

// Requests counts every request of the run: the simulator's calls and
// the hostile answers given in its place.
func (c cloudCalls) Requests() int64 { return c.Calls + c.hostile() }

// faulty counts the requests that did not get the simulator's answer.
func (c cloudCalls) faulty() int64 {
	return c.Faults["error"] + c.Faults["throttle"] + c.Faults["timeout"] + c.hostile() + c.Faults[lostKind]
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
	fmt.Fprintf(&b, "Hostile answers on every API call, %.0f%% each: %s. The middleware (simcore.HostileMiddleware, as cmd/cloudsim serves it) "+
		"gives them without calling the simulator, so these calls have no side effect. "+
		"Lost answers on %.0f%% of the mutating calls: the simulator carries the call out, then the answer is cut off like a truncated one, "+
		"so the change happened but the client cannot know.\n\n",
		hostileRate*100, strings.Join(hostileDescriptions(), ", "), lostRate*100)
	b.WriteString("Cinder calls get no echo (a 400 from Cinder says the request is invalid: the driver's InvalidArgument is final for the sidecars).\n\n")
	b.WriteString("NIFCLOUD security group calls get them too: pkg/ccm/nifcloud revokes an elastic load balancer's rules before deleting it " +
		"(and GetLoadBalancer reports a load balancer while rules tagged for it remain), so a revoke failing with an error the client does not retry " +
		"is retried by the service controller's next sync and the audit below finds no rule left.\n\n")
	b.WriteString("| cloud | requests | reached the simulator | 5xx | throttles | timeouts | truncated | error in a 200 | non-JSON/XML 200 | request echoed | lost after the call | fault rate |\n" +
		"|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range r.Clouds {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d", c.Cloud, c.Requests(), c.Calls, c.Faults["error"], c.Faults["throttle"], c.Faults["timeout"])
		for _, k := range hostileKinds {
			fmt.Fprintf(&b, " | %d", c.Faults[k])
		}
		fmt.Fprintf(&b, " | %d | %.1f%% |\n", c.Faults[lostKind], 100*float64(c.faulty())/float64(max(c.Requests(), 1)))
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
