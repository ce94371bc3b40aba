package bench

import (
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// Profile is the simulated cloud's timing: every call's round trip plus
// the durations of asynchronous state changes. The defaults are
// deliberately on the fast side of real clouds so that `make bench` stays
// within minutes; the ratios reported do not depend on the scale much.
type Profile struct {
	// Call is the latency of every API call.
	Call time.Duration `json:"call"`
	// LBWrite is what one load balancer write costs: Octavia's
	// PENDING_CREATE/UPDATE/DELETE duration, and the (synchronous) call
	// latency of NIFCLOUD L4 load balancer writes.
	LBWrite time.Duration `json:"lbWrite"`
	// Volume transitions (NIFCLOUD deletes synchronously).
	VolumeCreate time.Duration `json:"volumeCreate"`
	VolumeAttach time.Duration `json:"volumeAttach"`
	VolumeDetach time.Duration `json:"volumeDetach"`
	VolumeDelete time.Duration `json:"volumeDelete"`
}

// DefaultProfile is what `make bench` uses.
func DefaultProfile() Profile {
	return Profile{
		Call:         100 * time.Millisecond,
		LBWrite:      2 * time.Second,
		VolumeCreate: 2 * time.Second,
		VolumeAttach: 2 * time.Second,
		VolumeDetach: 2 * time.Second,
		VolumeDelete: time.Second,
	}
}

// nifcloudLBWrites are the L4 load balancer actions that change state.
var nifcloudLBWrites = []string{
	"CreateLoadBalancer", "DeleteLoadBalancer", "RegisterPortWithLoadBalancer", "UpdateLoadBalancer",
	"RegisterInstancesWithLoadBalancer", "DeregisterInstancesFromLoadBalancer", "ConfigureHealthCheck",
	"SetFilterForLoadBalancer",
}

// OpenStackLatency is the simulator latency configuration of p.
func (p Profile) OpenStackLatency() simcore.LatencyConfig {
	return simcore.LatencyConfig{
		Calls: map[string]time.Duration{"*": p.Call},
		Transitions: map[string]time.Duration{
			"octavia.create": p.LBWrite, "octavia.update": p.LBWrite, "octavia.delete": p.LBWrite,
			"volume.create": p.VolumeCreate, "volume.attach": p.VolumeAttach,
			"volume.detach": p.VolumeDetach, "volume.delete": p.VolumeDelete,
		},
	}
}

// NIFCLOUDLatency is the simulator latency configuration of p.
func (p Profile) NIFCLOUDLatency() simcore.LatencyConfig {
	calls := map[string]time.Duration{"*": p.Call}
	for _, a := range nifcloudLBWrites {
		calls[a] = p.LBWrite
	}
	return simcore.LatencyConfig{
		Calls: calls,
		Transitions: map[string]time.Duration{
			"volume.create": p.VolumeCreate, "volume.attach": p.VolumeAttach, "volume.detach": p.VolumeDetach,
		},
	}
}

// Floors: the least time one volume's operations can take in the
// simulator, whatever the driver does: each required write call, each
// transition it starts, and one read per transition to observe its end.
//
//	OpenStack up:   volume_create + T(create) + get, volume_attach + T(attach) + get
//	OpenStack down: volume_detach + T(detach) + get, volume_delete + T(delete) + get
//	NIFCLOUD up:    CreateVolume (attached to a host) + T(create) + describe,
//	                DetachVolume + T(detach) + describe, AttachVolume + T(attach) + describe
//	NIFCLOUD down:  DetachVolume + T(detach) + describe, DeleteVolume (synchronous)
func (p Profile) storageFloor(cloud string, up bool) time.Duration {
	switch {
	case cloud == CloudOpenStack && up:
		return 4*p.Call + p.VolumeCreate + p.VolumeAttach
	case cloud == CloudOpenStack:
		return 4*p.Call + p.VolumeDetach + p.VolumeDelete
	case up:
		return 6*p.Call + p.VolumeCreate + p.VolumeDetach + p.VolumeAttach
	default:
		return 3*p.Call + p.VolumeDetach
	}
}

// Cloud names used in results.
const (
	CloudOpenStack = "openstack"
	CloudNIFCLOUD  = "nifcloud"
)
