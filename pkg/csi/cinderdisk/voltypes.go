package cinderdisk

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumetypes"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// DefaultVolumeTypeTTL is how long a list of the project's volume types is
// trusted before the next "type" check lists them again.
const DefaultVolumeTypeTTL = time.Minute

// volumeTypes caches the volume types the project can use, so that an
// unknown "type" parameter is refused before anything is created. One
// list call fills it; a miss refreshes it once (a type may have just been
// added).
type volumeTypes struct {
	block *gophercloud.ServiceClient
	ttl   time.Duration
	now   func() time.Time
	// sem serializes list calls (one for many concurrent creates) while
	// letting waiters give up with their context.
	sem chan struct{}

	mu    sync.Mutex
	known map[string]bool // names and IDs
	names []string        // sorted, for error messages
	// unlisted: the last list failed (e.g. a policy forbids it), so until
	// the TTL passes every type is left to Cinder to check.
	unlisted bool
	fetched  time.Time // zero = nothing cached
}

func newVolumeTypes(block *gophercloud.ServiceClient, ttl time.Duration) *volumeTypes {
	return &volumeTypes{block: block, ttl: ttl, now: time.Now, sem: make(chan struct{}, 1)}
}

// check returns nil when nameOrID is a volume type of the project (or the
// types cannot be listed: Cinder still validates the create), else an
// ErrInvalidArgument naming the parameter and the known types.
func (c *volumeTypes) check(ctx context.Context, nameOrID string) error {
	if nameOrID == "" {
		return nil
	}
	known, fresh := c.lookup(nameOrID)
	if known {
		return nil
	}
	if fresh {
		// A fresh list without it: refresh once, the type may be new.
		c.invalidate()
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.sem }()
	// Another caller may have refreshed while this one waited.
	if known, fresh = c.lookup(nameOrID); known || fresh {
		return c.verdict(nameOrID, known)
	}
	if err := c.refresh(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		klog.FromContext(ctx).Info("Could not list Cinder volume types; leaving the check of the type to Cinder", "type", nameOrID, "retryAfter", c.ttl, "err", err)
		return nil
	}
	known, _ = c.lookup(nameOrID)
	return c.verdict(nameOrID, known)
}

// lookup reports whether nameOrID may be used (it is cached, or listing
// failed) and whether the cache is fresh.
func (c *volumeTypes) lookup(nameOrID string) (accept, fresh bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fresh = !c.fetched.IsZero() && c.now().Sub(c.fetched) < c.ttl
	return fresh && (c.unlisted || c.known[nameOrID]), fresh
}

func (c *volumeTypes) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fetched = time.Time{}
}

// refresh lists the types; a failure is cached too (unlisted), so that a
// cloud that forbids the list is not asked again on every create.
func (c *volumeTypes) refresh(ctx context.Context) error {
	pages, err := volumetypes.List(c.block, nil).AllPages(ctx)
	var list []volumetypes.VolumeType
	if err == nil {
		list, err = volumetypes.ExtractVolumeTypes(pages)
	}
	if err != nil {
		if ctx.Err() == nil {
			c.mu.Lock()
			c.known, c.names, c.unlisted, c.fetched = nil, nil, true, c.now()
			c.mu.Unlock()
		}
		return err
	}
	known := map[string]bool{}
	var names []string
	for _, vt := range list {
		known[vt.ID], known[vt.Name] = true, true
		names = append(names, vt.Name)
	}
	slices.Sort(names)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.known, c.names, c.unlisted, c.fetched = known, names, false, c.now()
	return nil
}

func (c *volumeTypes) verdict(nameOrID string, known bool) error {
	if known {
		return nil
	}
	return c.unknownError(nameOrID, nil)
}

// unknownError is the error for a type Cinder does not have; cause is the
// cloud's answer when it came from a create.
func (c *volumeTypes) unknownError(nameOrID string, cause error) error {
	c.mu.Lock()
	names := slices.Clone(c.names)
	c.mu.Unlock()
	known := "the project's types could not be listed"
	if len(names) > 0 {
		known = "known types: " + strings.Join(names, ", ")
	}
	msg := fmt.Sprintf("parameter %q: Cinder volume type %q does not exist in the project (%s)",
		profile.CinderParamType, nameOrID, known)
	if cause != nil {
		return fmt.Errorf("%s: %w: %w", msg, backend.ErrInvalidArgument, cause)
	}
	return fmt.Errorf("%s: %w", msg, backend.ErrInvalidArgument)
}

// isVolumeTypeNotFound reports Cinder's 404 for the type of a create
// ("Volume type with name X could not be found." or, for an ID,
// "Volume type X could not be found."), as opposed to one for a missing
// source snapshot or volume.
func isVolumeTypeNotFound(err error) bool {
	return answerSays(err, http.StatusNotFound, "Volume type ")
}
