// Package chaos runs the real cloud-controller-manager service controller
// and the real CSI controller against both in-process cloud simulators
// while the simulators inject faults (5xx, throttling with Retry-After,
// hanging calls, slow state transitions), then audits the simulators for
// leaked cloud objects. The test lives in chaos_test.go; RESULTS.md holds
// the figures of the last run.
package chaos
