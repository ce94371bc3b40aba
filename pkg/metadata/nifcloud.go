package metadata

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// NIFCLOUD environment variables.
const (
	EnvNodeName           = "NODE_NAME"
	EnvNIFCLOUDInstanceID = "NIFCLOUD_INSTANCE_ID"
	EnvNIFCLOUDZone       = "NIFCLOUD_ZONE"
)

// ZoneLookup returns the zone of a NIFCLOUD instance, e.g. with
// DescribeInstances (injected so this package does not import the API
// client).
type ZoneLookup func(ctx context.Context, instanceID string) (string, error)

// NIFCLOUDOptions configures NewNIFCLOUD.
type NIFCLOUDOptions struct {
	// Getenv defaults to os.Getenv.
	Getenv func(string) string
	// LookupZone is used when NIFCLOUD_ZONE is unset.
	LookupZone ZoneLookup
}

// NIFCLOUD identifies the node from the environment (NODE_NAME, set via
// the downward API, falling back to NIFCLOUD_INSTANCE_ID; on NIFCLOUD the
// node name is the instance ID) and finds its zone from NIFCLOUD_ZONE or
// the API. A zone found through the API is cached.
type NIFCLOUD struct {
	getenv func(string) string
	lookup ZoneLookup

	mu   sync.Mutex
	zone string
}

var _ InstanceMetadata = (*NIFCLOUD)(nil)

// NewNIFCLOUD returns a NIFCLOUD metadata source.
func NewNIFCLOUD(opts NIFCLOUDOptions) *NIFCLOUD {
	n := &NIFCLOUD{getenv: opts.Getenv, lookup: opts.LookupZone}
	if n.getenv == nil {
		n.getenv = os.Getenv
	}
	return n
}

// InstanceID implements InstanceMetadata.
func (n *NIFCLOUD) InstanceID(context.Context) (string, error) {
	for _, k := range []string{EnvNodeName, EnvNIFCLOUDInstanceID} {
		if v := strings.TrimSpace(n.getenv(k)); v != "" {
			return v, nil
		}
	}
	return "", fmt.Errorf("instance ID unknown: set %s (downward API spec.nodeName) or %s", EnvNodeName, EnvNIFCLOUDInstanceID)
}

// Zone implements InstanceMetadata.
func (n *NIFCLOUD) Zone(ctx context.Context) (string, error) {
	if z := strings.TrimSpace(n.getenv(EnvNIFCLOUDZone)); z != "" {
		return z, nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.zone != "" {
		return n.zone, nil
	}
	if n.lookup == nil {
		return "", errors.New("zone unknown: set " + EnvNIFCLOUDZone + " or configure an API lookup")
	}
	id, err := n.InstanceID(ctx)
	if err != nil {
		return "", err
	}
	z, err := n.lookup(ctx, id)
	if err != nil {
		return "", fmt.Errorf("looking up the zone of instance %s: %w", id, err)
	}
	if z == "" {
		return "", fmt.Errorf("instance %s has no zone", id)
	}
	n.zone = z
	return z, nil
}
