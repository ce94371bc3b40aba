package octavia

import (
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// TestDefaultPollOvershoot walks the default schedule (with its largest
// jitter) past transitions from 50 ms to 5 min: a wait ends within 15% of
// transitions of 1.5 s and more and within one first pause of shorter
// ones, at no more than one GET per second once the wait is long.
func TestDefaultPollOvershoot(t *testing.T) {
	worst := defaultPoll
	worst.Initial = time.Duration(float64(worst.Initial) * (1 + worst.Jitter))
	worst.Factor = 1 + (worst.Factor-1)*(1+worst.Jitter)
	worst.Jitter = 0
	for T := 50 * time.Millisecond; T <= 5*time.Minute; T = T * 21 / 20 {
		var at time.Duration // time of the first look that sees the end
		polls := 0
		for at < T {
			at += pollPause(worst, at)
			polls++
		}
		over := at - T
		limit := worst.Initial
		if T >= 1500*time.Millisecond {
			limit = T * 15 / 100
		}
		if over > limit {
			t.Errorf("transition %s: seen after %s, %s late (limit %s)", T, at, over, limit)
		}
		// About 25 polls in the first 10 s, then one per second.
		if T >= 10*time.Second && float64(polls) > T.Seconds()+25 {
			t.Errorf("transition %s: %d polls, want at most one per second after the first 25", T, polls)
		}
		if T == 50*time.Millisecond || (T >= 2*time.Second && T*20/21 < 2*time.Second) || (T >= time.Minute && T*20/21 < time.Minute) {
			t.Logf("transition %s: seen after %s with %d polls", T.Round(time.Millisecond), at.Round(time.Millisecond), polls)
		}
	}
}

// TestWriteWaitEndsSoonAfterTransition: with the production schedule, a
// node added behind a one-port Service (one batch member update, then a
// PENDING_UPDATE) is done shortly after the transition ends, with few
// status GETs.
func TestWriteWaitEndsSoonAfterTransition(t *testing.T) {
	const transition = 700 * time.Millisecond
	e := newEnv(t, "")
	svc := service("web", 80)
	e.ensure(svc)
	e.lb.poll = defaultPoll
	e.sim.Controls().SetLatency(simcore.LatencyConfig{Transitions: map[string]time.Duration{"octavia.update": transition}})

	e.reset()
	e.addNode(3)
	start := time.Now()
	if err := e.lb.UpdateLoadBalancer(e.ctx, testCluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	gets := e.sim.Controls().Count("octavia.loadbalancer_get")
	t.Logf("node added in %s (transition %s) with %d status GETs", took.Round(time.Millisecond), transition, gets)
	if w := e.writes(); w["octavia.member_batch_update"] != 1 {
		t.Fatalf("writes %v, want one batch member update", w)
	}
	if took < transition {
		t.Errorf("update returned after %s, before the %s transition ended", took, transition)
	}
	// One pause (<= 210 ms) late at most, plus the calls themselves.
	if limit := transition + 350*time.Millisecond; took > limit {
		t.Errorf("update took %s, want <= %s", took, limit)
	}
	// Pauses of >= 200 ms and no look right after the write.
	if maxGets := int64(transition/defaultPoll.Initial) + 1; gets < 1 || gets > maxGets {
		t.Errorf("%d status GETs, want 1..%d", gets, maxGets)
	}
}
