// Package cloudsim runs both cloud simulators — NIFCLOUD's computing API and
// OpenStack's Keystone/Nova/Cinder/Octavia/Neutron/metadata — each on its own
// listener, with shared local-disk emulation. cmd/cloudsim, the demo and the
// end-to-end harness start it; unit tests usually start one simulator alone.
package cloudsim

import (
	"fmt"
	"strings"
	"time"
)

// Config describes one simulator process.
type Config struct {
	NIFCLOUDListen  string // "" disables the NIFCLOUD simulator
	OpenStackListen string // "" disables the OpenStack simulator
	// StateDir holds nifcloud.json and openstack.json; "" keeps state in memory.
	StateDir string
	// Seed files (JSON) add instances/servers/networks; seeding is
	// idempotent, so they are applied on every start.
	NIFCLOUDSeed  string
	OpenStackSeed string
	// NIFCLOUD credentials accepted by the signature check.
	NIFCLOUDAccessKey string
	NIFCLOUDSecretKey string
	NIFCLOUDRegion    string
	// OpenStack user accepted by Keystone.
	OpenStackUser     string
	OpenStackPassword string
	OpenStackProject  string
	OpenStackRegion   string
	// Local disks: instances/servers that stand for this machine get real
	// loop devices with links under LocalDiskRoot (needs root).
	LocalInstances []string // NIFCLOUD instanceIds
	LocalServers   []string // OpenStack server IDs
	LocalDiskRoot  string
	// LocalDiskPerNode puts each local instance's/server's device links
	// under LocalDiskRoot/<id>/ (several e2e nodes on one machine).
	LocalDiskPerNode bool
	LocalDiskData    string
	// Latency per action ("*" = default) and per state transition.
	CallLatency       map[string]time.Duration
	TransitionLatency map[string]time.Duration
}

// ParseDurations parses "key=duration,key2=duration" as used by the
// --latency and --transition flags.
func ParseDurations(s string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want key=duration", part)
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", part, err)
		}
		out[k] = d
	}
	return out, nil
}
