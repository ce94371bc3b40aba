package bench

import (
	"os"
	"testing"

	"k8s.io/klog/v2/ktesting"
)

// TestFullBenchmark runs the `make bench` sizes (several minutes); it only
// runs with KUMO_BENCH=1 so that `go test ./...` stays fast. It reports,
// and fails only on errors or leaked cloud objects, never on timings.
func TestFullBenchmark(t *testing.T) {
	if os.Getenv("KUMO_BENCH") != "1" {
		t.Skip("set KUMO_BENCH=1 (or run `make bench`) for the full benchmark")
	}
	_, ctx := ktesting.NewTestContext(t)
	res, err := Run(ctx, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + res.Markdown())
	for _, l := range res.LoadBalancers {
		if l.Leaked != 0 {
			t.Errorf("%s: %d load balancer objects left after delete", l.Cloud, l.Leaked)
		}
	}
	for _, s := range res.Storage {
		if s.Leaked != 0 || s.Up.Failures+s.Down.Failures != 0 {
			t.Errorf("%s: %d volumes leaked, %d+%d failures (%s %s)", s.Cloud, s.Leaked, s.Up.Failures, s.Down.Failures, s.Up.FirstError, s.Down.FirstError)
		}
	}
}
