// Package bench measures kumo's cloud API economy and speed at scale
// against the in-process simulators with realistic per-call latencies:
// node sync at hundreds of nodes, load balancer create and node-change
// reconciles, and concurrent volume create/attach/detach/delete. Each run
// returns counts and ratios (never pass/fail on timings); cmd/kumo-bench
// prints them as a table and writes RESULTS.md and results.json.
//
// The package's tests run a tiny smoke variant that asserts structural
// properties (list calls independent of node count, node-change writes
// equal to the change, no leaked cloud objects); the full sizes run only
// from `make bench` (hack/bench.sh) or with KUMO_BENCH=1.
package bench
