package nifclouddisk

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// hostSlots is how many disks one instance holds (SCSI (0:1) … (0:14)).
const hostSlots = 14

// hostTracker spreads concurrent disk creations over the instances of a
// zone. It counts the creations in flight per instance (a new disk holds a
// slot of its host until it is detached again) and pauses instances that
// refused a disk, so that concurrent creations do not all pile onto the
// same few instances.
type hostTracker struct {
	pause time.Duration

	mu          sync.Mutex
	inflight    map[string]int
	pausedUntil map[string]time.Time
}

func newHostTracker(pause time.Duration) *hostTracker {
	return &hostTracker{pause: pause, inflight: map[string]int{}, pausedUntil: map[string]time.Time{}}
}

// hostRank orders host candidates; lower is better.
type hostRank struct {
	group int // 0: has room, 1: looks full, 2: paused after a refusal
	pref  int // preference among hosts with room (preferred instances first)
	load  int // disks attached plus creations in flight
}

func (r hostRank) less(o hostRank) bool {
	if r.group != o.group {
		return r.group < o.group
	}
	if r.pref != o.pref {
		return r.pref < o.pref
	}
	return r.load < o.load
}

// reserve picks the best host of candidates that is not in tried and
// counts a creation in flight on it: hosts with room before full or
// paused ones, preferred instances first (so other servers see temporary
// attachments rarely), then the least loaded, ties broken at random.
// attached counts the disks attached per instance; pref ranks instances.
// It returns "" when every candidate was tried.
func (t *hostTracker) reserve(candidates []string, attached map[string]int, pref func(string) int, tried map[string]bool) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	best, ties := "", 0
	var bestRank hostRank
	for _, h := range candidates {
		if tried[h] {
			continue
		}
		r := hostRank{load: attached[h] + t.inflight[h], pref: pref(h)}
		switch {
		case now.Before(t.pausedUntil[h]):
			r.group, r.pref = 2, 0
		case r.load >= hostSlots:
			r.group, r.pref = 1, 0
		}
		switch {
		case best == "" || r.less(bestRank):
			best, bestRank, ties = h, r, 1
		case !bestRank.less(r):
			// Equal rank: reservoir sampling keeps each tie equally likely.
			ties++
			if rand.IntN(ties) == 0 {
				best = h
			}
		}
	}
	if best != "" {
		t.inflight[best]++
	}
	return best
}

// release ends a creation in flight on host ("" is ignored).
func (t *hostTracker) release(host string) {
	if host == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.inflight[host]--; t.inflight[host] <= 0 {
		delete(t.inflight, host)
	}
}

// refused pauses a host that could not take a disk.
func (t *hostTracker) refused(host string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pausedUntil[host] = time.Now().Add(t.pause)
	for h, until := range t.pausedUntil {
		if time.Now().After(until) {
			delete(t.pausedUntil, h) // keep the map small
		}
	}
}

// attachedPerInstance counts the active attachments of vols per instance.
func attachedPerInstance(vols []nifcloud.Volume) map[string]int {
	n := map[string]int{}
	for i := range vols {
		for _, a := range activeAttachments(&vols[i]) {
			n[a.InstanceID]++
		}
	}
	return n
}
