package nifclouddisk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// parallel runs f(i) for i < n at once and returns the errors.
func parallel(n int, f func(i int) error) []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errs
}

func noErrors(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
}

// TestConcurrentCreatesSpread: 60 concurrent creates with 5 usable
// instances of 14 slots all succeed at the first try: they are spread over
// the instances instead of piling onto the first three (which hold only 42
// disks), and their waits share DescribeVolumes calls.
func TestConcurrentCreatesSpread(t *testing.T) {
	const n = 60
	e := newEnv(t, 40*time.Millisecond, func(o *Options) { o.BatchInterval = 10 * time.Millisecond })
	for _, id := range []string{"extra1", "extra2"} {
		if err := e.sim.AddInstance(nifcloudsim.Instance{InstanceID: id, Zone: zone}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	errs := parallel(n, func(i int) error {
		_, err := e.disks.CreateDisk(e.ctx, request(t, fmt.Sprintf("pvc-spread-%02d", i), 100, nil))
		return err
	})
	elapsed := time.Since(start)
	noErrors(t, errs)
	e.waitIdle()

	c := e.counts()
	// No host refused a disk: one CreateVolume per disk, one listing of
	// the instances for all of them.
	wantCounts(t, c, map[string]int64{"CreateVolume": n, "DetachVolume": n, "DescribeInstances": 1})
	hosts := e.createHosts()
	t.Logf("creates per host: %v in %v", hosts, elapsed)
	for _, h := range []string{"ctrl", "node1", "node2", "extra1", "extra2"} {
		if hosts[h] == 0 || hosts[h] > hostSlots {
			t.Errorf("host %s got %d of %d creates, want 1..%d (all: %v)", h, hosts[h], n, hostSlots, hosts)
		}
	}
	if hosts["far1"] != 0 {
		t.Errorf("a host of another zone was used: %v", hosts)
	}
	// Each create lists the volumes once (idempotency and host load) and
	// waits 3 times; all of them share the watcher's calls, at most one per
	// BatchInterval, far fewer than one per disk.
	batched := e.disks.watcher.batchedCalls()
	if got := c["DescribeVolumes"]; got != int64(batched) {
		t.Errorf("DescribeVolumes = %d, want the %d batched calls", got, batched)
	}
	if limit := int(elapsed/(10*time.Millisecond)) + 1; batched > limit || batched >= n {
		t.Errorf("%d batched calls in %v, want at most %d and fewer than %d", batched, elapsed, limit, n)
	}
	if len(e.volumes()) != n {
		t.Fatalf("volumes = %d, want %d", len(e.volumes()), n)
	}
	for id, v := range e.volumes() {
		if v.Attachment != nil || v.Status != "available" {
			t.Errorf("volume %s left as %s attached %+v", id, v.Status, v.Attachment)
		}
	}
}

// TestCreateAvoidsFullHost: the preferred host holding 14 disks is known
// full from the volume listing, so the create goes elsewhere without a
// refused CreateVolume.
func TestCreateAvoidsFullHost(t *testing.T) {
	e := newEnv(t, 0, nil)
	for i := range hostSlots {
		d := e.create(fmt.Sprintf("pvc-fill-%02d", i), 100)
		if _, err := e.disks.AttachDisk(e.ctx, d.ID, "ctrl"); err != nil {
			t.Fatal(err)
		}
	}
	before := e.createHosts()
	e.counts()
	e.create("pvc-after-full", 100)
	wantCounts(t, e.counts(), map[string]int64{"CreateVolume": 1})
	if after := e.createHosts(); after["ctrl"] != before["ctrl"] {
		t.Errorf("CreateVolume was sent to the full host ctrl: %v", after)
	}
}

// TestSharedWaits: 30 concurrent attaches, then detaches, then deletes
// share their DescribeVolumes calls (deletes make batches hit missing
// volumes, which the watcher resolves with one listing); a waiter whose
// context ends leaves without disturbing the others; the watcher stops
// once nobody waits.
func TestSharedWaits(t *testing.T) {
	const n = 30
	const interval = 20 * time.Millisecond
	e := newEnv(t, 0, func(o *Options) {
		o.BatchInterval = interval
		o.Poll = backoff.Policy{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, Factor: 1.5}
	})
	ids := make([]string, n)
	for i := range n {
		ids[i] = e.create(fmt.Sprintf("pvc-shared-%02d", i), 100).ID
	}
	nodes := []string{"ctrl", "node1", "node2"}
	l := e.sim.Controls().Latency()
	l.Transitions = map[string]time.Duration{"*": 150 * time.Millisecond}
	e.sim.Controls().SetLatency(l)
	e.waitIdle()

	phase := func(name string, op func(i int) error) {
		t.Helper()
		e.counts()
		calls := e.disks.watcher.batchedCalls()
		start := time.Now()
		noErrors(t, parallel(n, op))
		elapsed := time.Since(start)
		c := e.counts()
		batched := e.disks.watcher.batchedCalls() - calls
		t.Logf("%s: %d volumes in %v, DescribeVolumes %d (%d batched)", name, n, elapsed, c["DescribeVolumes"], batched)
		// At most one batched call per interval, each followed by at most
		// one listing when a volume in it is gone.
		if limit := int64(elapsed/interval) + 1; int64(batched) > limit || c["DescribeVolumes"] > 2*limit {
			t.Errorf("%s: DescribeVolumes %d (%d batched) in %v, want at most %d batched", name, c["DescribeVolumes"], batched, elapsed, limit)
		}
		if c["DescribeVolumes"] >= n {
			t.Errorf("%s: DescribeVolumes %d for %d waits: not shared", name, c["DescribeVolumes"], n)
		}
		e.waitIdle()
	}
	phase("attach", func(i int) error {
		_, err := e.disks.AttachDisk(e.ctx, ids[i], nodes[i%3])
		return err
	})
	phase("detach", func(i int) error { return e.disks.DetachDisk(e.ctx, ids[i], nodes[i%3]) })
	phase("delete", func(i int) error { return e.disks.DeleteDisk(e.ctx, ids[i]) })
	if len(e.volumes()) != 0 {
		t.Fatalf("volumes left: %d", len(e.volumes()))
	}

	// Per-waiter contexts: one short wait ends, a concurrent one finishes.
	a, b := e.create("pvc-ctx-a", 100), e.create("pvc-ctx-b", 100)
	short, cancel := context.WithTimeout(e.ctx, 30*time.Millisecond)
	defer cancel()
	errs := parallel(2, func(i int) error {
		if i == 0 {
			_, err := e.disks.AttachDisk(short, a.ID, "node1")
			return err
		}
		_, err := e.disks.AttachDisk(e.ctx, b.ID, "node2")
		return err
	})
	if !errors.Is(errs[0], context.DeadlineExceeded) {
		t.Errorf("short wait: %v, want deadline exceeded", errs[0])
	}
	if errs[1] != nil {
		t.Errorf("long wait: %v", errs[1])
	}
	if got, err := e.disks.GetDisk(e.ctx, b.ID); err != nil || got.Status != backend.StatusInUse {
		t.Errorf("disk b = %+v, %v", got, err)
	}
	e.waitIdle()
}
