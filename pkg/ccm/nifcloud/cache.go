package nifcloud

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// refreshTimeout bounds one shared refresh; it runs detached from the
// caller that started it so that one cancelled caller does not fail the
// others waiting on the same refresh.
const refreshTimeout = 2 * time.Minute

// instanceSnapshot is the result of one DescribeInstances (list all).
type instanceSnapshot struct {
	fetched  time.Time
	byID     map[string]*nifcloud.Instance
	byUnique map[string]*nifcloud.Instance
	// dupID / dupUnique record ids seen on several instances: lookups of
	// them are refused instead of guessing.
	dupID     map[string]int
	dupUnique map[string]int
}

func newInstanceSnapshot(list []nifcloud.Instance, now time.Time) *instanceSnapshot {
	s := &instanceSnapshot{
		fetched:   now,
		byID:      make(map[string]*nifcloud.Instance, len(list)),
		byUnique:  make(map[string]*nifcloud.Instance, len(list)),
		dupID:     map[string]int{},
		dupUnique: map[string]int{},
	}
	for i := range list {
		in := &list[i]
		if _, ok := s.byID[in.InstanceID]; ok {
			s.dupID[in.InstanceID]++
		}
		s.byID[in.InstanceID] = in
		if in.InstanceUniqueID != "" {
			if _, ok := s.byUnique[in.InstanceUniqueID]; ok {
				s.dupUnique[in.InstanceUniqueID]++
			}
			s.byUnique[in.InstanceUniqueID] = in
		}
	}
	return s
}

// byName returns the instance whose instanceId is name; several matches
// are an error.
func (s *instanceSnapshot) byName(name string) (*nifcloud.Instance, error) {
	if n := s.dupID[name]; n > 0 {
		return nil, fmt.Errorf("instance name %q matches %d instances; refusing to guess (set spec.providerID)", name, n+1)
	}
	return s.byID[name], nil
}

func (s *instanceSnapshot) byUniqueID(id string) (*nifcloud.Instance, error) {
	if n := s.dupUnique[id]; n > 0 {
		return nil, fmt.Errorf("instance unique id %q matches %d instances", id, n+1)
	}
	return s.byUnique[id], nil
}

// refreshCall is one in-flight DescribeInstances shared by all callers.
type refreshCall struct {
	done chan struct{}
	snap *instanceSnapshot
	err  error
}

// instanceCache serves instance lookups from a snapshot of all instances.
// One DescribeInstances call answers every node; concurrent callers share
// one in-flight refresh; the snapshot is reused for maxAge; a lookup miss
// forces at most one refresh per maxAge window, so a deleted instance is
// detected promptly without hammering the API.
type instanceCache struct {
	api    nifcloud.API
	maxAge time.Duration
	now    func() time.Time

	mu         sync.Mutex
	snap       *instanceSnapshot
	inflight   *refreshCall
	lastForced time.Time
}

func newInstanceCache(api nifcloud.API, maxAge time.Duration, now func() time.Time) *instanceCache {
	return &instanceCache{api: api, maxAge: maxAge, now: now}
}

// get returns a snapshot no older than maxAge.
func (c *instanceCache) get(ctx context.Context) (*instanceSnapshot, error) {
	c.mu.Lock()
	if s := c.snap; s != nil && c.now().Sub(s.fetched) < c.maxAge {
		c.mu.Unlock()
		return s, nil
	}
	call := c.startLocked()
	c.mu.Unlock()
	return c.wait(ctx, call)
}

// refreshAfterMiss is called when s (the snapshot a lookup used) lacked
// the wanted instance. It returns a newer snapshot when one exists or may
// be fetched (at most one forced refresh per maxAge), else s itself.
func (c *instanceCache) refreshAfterMiss(ctx context.Context, s *instanceSnapshot) (*instanceSnapshot, error) {
	c.mu.Lock()
	if c.snap != nil && c.snap.fetched.After(s.fetched) {
		// Someone refreshed since: use that.
		newer := c.snap
		c.mu.Unlock()
		return newer, nil
	}
	if c.inflight == nil && !c.lastForced.IsZero() && c.now().Sub(c.lastForced) < c.maxAge {
		c.mu.Unlock()
		return s, nil
	}
	if c.inflight == nil {
		c.lastForced = c.now()
	}
	call := c.startLocked()
	c.mu.Unlock()
	return c.wait(ctx, call)
}

func (c *instanceCache) startLocked() *refreshCall {
	if c.inflight != nil {
		return c.inflight
	}
	call := &refreshCall{done: make(chan struct{})}
	c.inflight = call
	go c.run(call)
	return call
}

func (c *instanceCache) run(call *refreshCall) {
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	out, err := c.api.DescribeInstances(ctx, &nifcloud.DescribeInstancesInput{})
	c.mu.Lock()
	if err == nil {
		call.snap = newInstanceSnapshot(out.Instances(), c.now())
		c.snap = call.snap
	} else {
		call.err = fmt.Errorf("listing instances: %w", err)
	}
	c.inflight = nil
	c.mu.Unlock()
	close(call.done)
}

func (c *instanceCache) wait(ctx context.Context, call *refreshCall) (*instanceSnapshot, error) {
	select {
	case <-call.done:
		return call.snap, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
