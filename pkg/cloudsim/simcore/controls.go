// Package simcore holds what both cloud simulators share: per-call counters,
// configurable latency, fault injection, state persistence and the admin
// HTTP API that tests and benchmarks use to read and steer them.
package simcore

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// Fault is what the injector decided for one call.
type Fault int

const (
	FaultNone     Fault = iota
	FaultError          // a 5xx server error
	FaultThrottle       // a throttling answer (429 / Server.Throttling)
	FaultTimeout        // the call hangs until the client gives up
)

func (f Fault) String() string {
	switch f {
	case FaultError:
		return "error"
	case FaultThrottle:
		return "throttle"
	case FaultTimeout:
		return "timeout"
	}
	return "none"
}

// FaultConfig steers fault injection. Rates are probabilities in [0,1]
// applied per call, in the order error, throttle, timeout. Actions, when
// non-empty, limits injection to those action names (e.g. "CreateVolume",
// "cinder.volume_create").
type FaultConfig struct {
	ErrorRate    float64       `json:"errorRate"`
	ThrottleRate float64       `json:"throttleRate"`
	TimeoutRate  float64       `json:"timeoutRate"`
	Actions      []string      `json:"actions,omitempty"`
	RetryAfter   time.Duration `json:"retryAfter"`
	// Timeout is how long a FaultTimeout call hangs (bounded by the request
	// context); default 30s.
	Timeout time.Duration `json:"timeout"`
	Seed    uint64        `json:"seed"`
}

// LatencyConfig sets the artificial latency of calls and state transitions.
// Keys are action names; "*" is the default.
type LatencyConfig struct {
	Calls       map[string]time.Duration `json:"calls,omitempty"`
	Transitions map[string]time.Duration `json:"transitions,omitempty"`
}

// Controls is the cross-cutting state of one simulated cloud.
type Controls struct {
	mu        sync.Mutex
	counts    map[string]int64
	faultsHit map[string]int64
	faults    FaultConfig
	latency   LatencyConfig
	hostile   HostileConfig
	rng       *rand.Rand
}

// NewControls returns controls with no latency and no faults.
func NewControls() *Controls {
	return &Controls{
		counts:    map[string]int64{},
		faultsHit: map[string]int64{},
		rng:       rand.New(rand.NewPCG(1, 2)),
	}
}

// Begin records a call to action, sleeps its configured latency and decides
// whether to inject a fault. It returns FaultTimeout only after waiting for
// the fault's timeout or the context, whichever ends first.
func (c *Controls) Begin(ctx context.Context, action string) (Fault, time.Duration) {
	c.mu.Lock()
	c.counts[action]++
	delay := pick(c.latency.Calls, action)
	fault := c.decideLocked(action)
	if fault != FaultNone {
		c.faultsHit[fault.String()+":"+action]++
	}
	retryAfter := c.faults.RetryAfter
	hang := c.faults.Timeout
	c.mu.Unlock()

	sleep(ctx, delay)
	if fault == FaultTimeout {
		if hang <= 0 {
			hang = 30 * time.Second
		}
		sleep(ctx, hang)
	}
	return fault, retryAfter
}

func (c *Controls) decideLocked(action string) Fault {
	f := c.faults
	if f.ErrorRate == 0 && f.ThrottleRate == 0 && f.TimeoutRate == 0 {
		return FaultNone
	}
	if len(f.Actions) > 0 {
		found := false
		for _, a := range f.Actions {
			if a == action {
				found = true
				break
			}
		}
		if !found {
			return FaultNone
		}
	}
	r := c.rng.Float64()
	switch {
	case r < f.ErrorRate:
		return FaultError
	case r < f.ErrorRate+f.ThrottleRate:
		return FaultThrottle
	case r < f.ErrorRate+f.ThrottleRate+f.TimeoutRate:
		return FaultTimeout
	}
	return FaultNone
}

// TransitionDelay is the configured duration of a named state transition
// (e.g. "volume.attach", "octavia.pending").
func (c *Controls) TransitionDelay(name string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return pick(c.latency.Transitions, name)
}

// SetFaults replaces the fault configuration.
func (c *Controls) SetFaults(f FaultConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = f
	if f.Seed != 0 {
		c.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
	}
}

// Faults returns the fault configuration.
func (c *Controls) Faults() FaultConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.faults
}

// SetLatency replaces the latency configuration.
func (c *Controls) SetLatency(l LatencyConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.latency = l
}

// Latency returns the latency configuration.
func (c *Controls) Latency() LatencyConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latency
}

// Counts returns a copy of the per-action call counters.
func (c *Controls) Counts() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// FaultsInjected returns how many faults were injected, keyed "kind:action".
func (c *Controls) FaultsInjected() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.faultsHit))
	for k, v := range c.faultsHit {
		out[k] = v
	}
	return out
}

// Count returns the counter of one action.
func (c *Controls) Count(action string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[action]
}

// ResetCounts zeroes all counters.
func (c *Controls) ResetCounts() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts = map[string]int64{}
	c.faultsHit = map[string]int64{}
}

// SortedActions lists the actions that have been called, sorted.
func (c *Controls) SortedActions() []string {
	counts := c.Counts()
	out := make([]string, 0, len(counts))
	for k := range counts {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func pick(m map[string]time.Duration, key string) time.Duration {
	if d, ok := m[key]; ok {
		return d
	}
	return m["*"]
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
