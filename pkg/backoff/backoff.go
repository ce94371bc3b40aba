// Package backoff provides context-aware, jittered exponential backoff used
// for cloud API retries and for polling cloud state machines.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy describes an exponential backoff: Initial, multiplied by Factor
// after each step, capped at Max, with up to Jitter (fraction) added.
type Policy struct {
	Initial time.Duration
	Max     time.Duration
	Factor  float64
	Jitter  float64
	// Steps bounds the number of attempts (0 = until the context ends).
	Steps int
}

// Delay returns the wait before attempt n (n starts at 1 for the first retry).
func (p Policy) Delay(n int) time.Duration {
	d := float64(p.Initial)
	f := p.Factor
	if f < 1 {
		f = 1
	}
	for i := 1; i < n; i++ {
		d *= f
		if p.Max > 0 && d > float64(p.Max) {
			d = float64(p.Max)
			break
		}
	}
	if p.Jitter > 0 {
		d += d * p.Jitter * rand.Float64()
	}
	if p.Max > 0 && time.Duration(d) > p.Max {
		return p.Max
	}
	return time.Duration(d)
}

// Sleep waits d or until ctx ends; it returns ctx.Err() in the latter case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Poll calls cond until it reports done, returns an error, the steps run out
// or ctx ends. It waits Delay(n) between calls.
func (p Policy) Poll(ctx context.Context, cond func(ctx context.Context) (done bool, err error)) error {
	for n := 1; ; n++ {
		done, err := cond(ctx)
		if err != nil || done {
			return err
		}
		if p.Steps > 0 && n >= p.Steps {
			return ErrTimeout
		}
		if err := Sleep(ctx, p.Delay(n)); err != nil {
			return err
		}
	}
}

// ErrTimeout is returned by Poll when the steps ran out.
var ErrTimeout = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string { return "timed out waiting for the condition" }
