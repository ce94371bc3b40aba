package driver

import (
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// inFlight tracks operations in progress so that a concurrent duplicate
// (the CO retrying while the first call still runs) is answered with
// codes.Aborted instead of racing the first one.
type inFlight struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

func newInFlight() *inFlight { return &inFlight{keys: map[string]struct{}{}} }

// acquire marks key as in flight. It returns a release function, or an
// Aborted status error when key is already in flight.
func (f *inFlight) acquire(parts ...string) (release func(), err error) {
	key := strings.Join(parts, "\x00")
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, busy := f.keys[key]; busy {
		return nil, status.Errorf(codes.Aborted, "an operation on %s is already in progress", strings.Join(parts, " "))
	}
	f.keys[key] = struct{}{}
	return func() {
		f.mu.Lock()
		delete(f.keys, key)
		f.mu.Unlock()
	}, nil
}
