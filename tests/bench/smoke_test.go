package bench

import (
	"testing"
	"time"

	"k8s.io/klog/v2/ktesting"

	"github.com/kumo-project/kumo/pkg/backoff"
)

// smokeProfile keeps every delay tiny: the smoke tests check structure
// (call counts), never timings.
func smokeProfile() Profile {
	return Profile{Call: time.Millisecond, LBWrite: 20 * time.Millisecond, VolumeCreate: 20 * time.Millisecond,
		VolumeAttach: 20 * time.Millisecond, VolumeDetach: 20 * time.Millisecond, VolumeDelete: 10 * time.Millisecond}
}

// TestNodeSyncListsIndependentOfNodeCount: a periodic sync makes the same
// number of list calls, and no per-node calls, for 5 and for 40 nodes.
func TestNodeSyncListsIndependentOfNodeCount(t *testing.T) {
	for _, cloud := range []string{CloudOpenStack, CloudNIFCLOUD} {
		t.Run(cloud, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			small, err := RunNodeSync(ctx, cloud, 5, 2, smokeProfile())
			if err != nil {
				t.Fatal(err)
			}
			large, err := RunNodeSync(ctx, cloud, 40, 2, smokeProfile())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("5 nodes: %v per %d periods; 40 nodes: %v", small.PeriodCalls, small.Periods, large.PeriodCalls)
			if small.ListsPerPeriod < 1 {
				t.Fatalf("no list call in a sync period (cache not expired by the clock?): %v", small.PeriodCalls)
			}
			if large.CallsPerPeriod != small.CallsPerPeriod {
				t.Errorf("calls per period grow with nodes: %v for 5 nodes, %v for 40", small.CallsPerPeriod, large.CallsPerPeriod)
			}
			if large.InitCalls.Total() > small.InitCalls.Total()+2 {
				t.Errorf("initialization calls grow with nodes: %v for 5, %v for 40", small.InitCalls, large.InitCalls)
			}
		})
	}
}

// TestLoadBalancerNodeAddWrites: adding one node writes exactly once per
// listener/pool, a no-op update writes nothing, and the delete leaves no
// cloud object behind.
func TestLoadBalancerNodeAddWrites(t *testing.T) {
	for _, cloud := range []string{CloudOpenStack, CloudNIFCLOUD} {
		t.Run(cloud, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			r, err := RunLoadBalancer(ctx, cloud, 4, 3, smokeProfile())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("create %v\nnode add %v\nno-op %v\ndelete %v", r.Create.Calls, r.NodeAdd.Calls, r.NoOp.Calls, r.Delete.Calls)
			if r.IngressIP == "" || r.Create.Writes == 0 {
				t.Fatalf("no load balancer made: %+v", r.Create)
			}
			if r.NodeAdd.Writes != r.MinNodeAddWrites {
				t.Errorf("node add made %d writes (%v), want %d (one per port)", r.NodeAdd.Writes, r.NodeAdd.Calls.Writes(), r.MinNodeAddWrites)
			}
			if r.NoOp.Writes != 0 {
				t.Errorf("no-op update wrote: %v", r.NoOp.Calls.Writes())
			}
			if r.Leaked != 0 {
				t.Errorf("%d cloud objects left after delete", r.Leaked)
			}
		})
	}
}

// TestStorageConcurrentVolumes: every volume is created, published,
// unpublished and deleted, none is left in the cloud, and the calls per
// volume stay bounded (no per-volume listing of everything).
func TestStorageConcurrentVolumes(t *testing.T) {
	for _, cloud := range []string{CloudOpenStack, CloudNIFCLOUD} {
		t.Run(cloud, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			r, err := RunStorage(ctx, StorageConfig{Cloud: cloud, Volumes: 8, Nodes: 4, Profile: smokeProfile(),
				Poll: backoff.Policy{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 1.5}, NIFCLOUDQPS: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("up %v\ndown %v", r.Up.Calls, r.Down.Calls)
			if r.Up.Failures+r.Down.Failures > 0 {
				t.Fatalf("failures: up %d (%s), down %d (%s)", r.Up.Failures, r.Up.FirstError, r.Down.Failures, r.Down.FirstError)
			}
			if r.Leaked != 0 {
				t.Errorf("%d volumes left in the cloud", r.Leaked)
			}
			if r.Up.Calls.Writes().Total() < int64(2*r.Volumes) {
				t.Errorf("fewer writes than 2 per volume: %v", r.Up.Calls.Writes())
			}
			if r.Up.Ratio < 1 || r.Down.Ratio < 1 {
				t.Errorf("phases faster than the simulator's floor (floor wrong?): up %.2f, down %.2f", r.Up.Ratio, r.Down.Ratio)
			}
		})
	}
}
