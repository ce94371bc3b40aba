// Package metadata finds the identity of the node kumo runs on: its
// instance ID and availability zone, from the OpenStack config drive or
// metadata service, or from the NIFCLOUD environment / API.
package metadata

import "context"

// InstanceMetadata identifies the local instance.
type InstanceMetadata interface {
	// InstanceID returns the cloud's ID of the local instance.
	InstanceID(ctx context.Context) (string, error)
	// Zone returns the availability zone of the local instance.
	Zone(ctx context.Context) (string, error)
}
