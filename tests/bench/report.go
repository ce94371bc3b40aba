package bench

import (
	"fmt"
	"sort"
	"strings"
)

// Markdown renders r as the tables of RESULTS.md (and of `make bench`).
func (r *Results) Markdown() string {
	var b strings.Builder
	p := r.Config.Profile
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, %s, kernel %s, %s. Run %s, took %.0f s.\n\n",
		orUnknown(r.Machine.CPU), r.Machine.CPUs, r.Machine.OS, orUnknown(r.Machine.Kernel), r.Machine.GoVersion,
		r.Started.Format("2006-01-02 15:04 MST"), r.DurationSecs)
	fmt.Fprintf(&b, "Simulated latency: %v per API call; load balancer write %v (Octavia PENDING_* / NIFCLOUD L4 call); "+
		"volume create %v, attach %v, detach %v, delete %v (OpenStack).\n\n",
		p.Call, p.LBWrite, p.VolumeCreate, p.VolumeAttach, p.VolumeDetach, p.VolumeDelete)

	if len(r.NodeSync) > 0 {
		b.WriteString("### Node sync (real cloud node controller, 1 worker, sync period 5m, provider cache expired every period)\n\n")
		b.WriteString("| Cloud | Nodes | Init wall (s) | Init calls | Calls / period | List calls / period | Calls / node / period | Periodic sync wall (ms) | Live heap Δ (MiB) | RSS (MiB) |\n")
		b.WriteString("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|\n")
		for _, n := range r.NodeSync {
			fmt.Fprintf(&b, "| %s | %d | %.2f | %s | %.1f | %.1f | %.4f | %.0f | %.1f | %.0f |\n", n.Cloud, n.Nodes,
				n.InitMillis/1000, n.InitCalls.String(), n.CallsPerPeriod, n.ListsPerPeriod, n.CallsPerNode,
				n.PeriodMillis, n.HeapDeltaMiB, n.RSSMiB)
		}
		b.WriteString("\n")
	}
	if len(r.LoadBalancers) > 0 {
		fmt.Fprintf(&b, "### Load balancer (Service of type LoadBalancer on %d nodes, then one node added)\n\n", r.LoadBalancers[0].Nodes)
		b.WriteString("| Cloud | Ports | Time to ingress IP (s) | Create calls (writes) | Node added (s) | Node-add writes / minimum | Node-add calls | No-op update calls (writes) | Delete (s) | Delete calls (writes) | Leaked |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n")
		for _, l := range r.LoadBalancers {
			fmt.Fprintf(&b, "| %s (%s) | %d | %.1f | %d (%d) | %.1f | %d / %d | %s | %d (%d) | %.1f | %d (%d) | %d |\n",
				l.Cloud, l.Kind, l.Ports, l.Create.Millis/1000, l.Create.Total, l.Create.Writes, l.NodeAdd.Millis/1000,
				l.NodeAdd.Writes, l.MinNodeAddWrites, l.NodeAdd.Calls.String(), l.NoOp.Total, l.NoOp.Writes,
				l.Delete.Millis/1000, l.Delete.Total, l.Delete.Writes, l.Leaked)
		}
		b.WriteString("\n")
	}
	if len(r.Storage) > 0 {
		s0 := r.Storage[0]
		fmt.Fprintf(&b, "### Storage (%d concurrent volumes over %d nodes, through the CSI controller over gRPC)\n\n", s0.Volumes, s0.Nodes)
		b.WriteString("| Cloud | Phase | Wall (s) | Floor (s) | Wall / floor | Mean per volume (s) | Calls / volume | Failures | Throttled (sim / client) | Client retries | Client rate limit | Leaked |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n")
		for _, s := range r.Storage {
			for _, ph := range []struct {
				name string
				p    StoragePhase
			}{{"create + publish", s.Up}, {"unpublish + delete", s.Down}} {
				fmt.Fprintf(&b, "| %s | %s | %.1f | %.1f | %.2f | %.1f | %.1f | %d | %d / %d | %d | %s | %d |\n",
					s.Cloud, ph.name, ph.p.WallMillis/1000, ph.p.FloorMillis/1000, ph.p.Ratio, ph.p.MeanMillis/1000,
					ph.p.CallsPerVolume, ph.p.Failures, s.SimThrottles, s.ClientThrottles, s.ClientRetries, s.ClientQPS, s.Leaked)
			}
		}
		b.WriteString("\nCalls per phase:\n\n")
		for _, s := range r.Storage {
			fmt.Fprintf(&b, "- %s create + publish: %s\n- %s unpublish + delete: %s\n", s.Cloud, s.Up.Calls.String(), s.Cloud, s.Down.Calls.String())
		}
	}
	return b.String()
}

// String lists the counters as "action=n", sorted by action.
func (c Counts) String() string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, c[k]))
	}
	return strings.Join(parts, " ")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
