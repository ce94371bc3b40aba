package profile

import (
	"strconv"
	"strings"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// OpenStack Cinder parameter keys.
const (
	CinderParamType         = "type"
	CinderParamAvailability = "availability"

	// Snapshot class parameters.
	CinderSnapshotParamType                 = "type"
	CinderSnapshotParamForceCreate          = "force-create"
	CinderSnapshotParamBackupMaxDurationPGB = "backup-max-duration-seconds-per-gb"
	CinderSnapshotTypeSnapshot              = "snapshot"
	CinderSnapshotTypeBackup                = "backup"
)

// cinderMaxVolumesPerNode is the attach limit cinder-csi clamps to.
const cinderMaxVolumesPerNode = 256

// Cinder is the profile of OpenStack Cinder volumes.
type Cinder struct{}

var _ backend.Profile = Cinder{}

// Name implements backend.Profile.
func (Cinder) Name() string { return "openstack" }

// DriverName implements backend.Profile.
func (Cinder) DriverName() string { return "cinder.csi.openstack.org" }

// TopologyKey implements backend.Profile.
func (Cinder) TopologyKey() string { return "topology.cinder.csi.openstack.org/zone" }

// ParseParameters implements backend.Profile. Keys: "type" (a Cinder
// volume type) and "availability" (the availability zone, overriding the
// topology requirement). Any other key is invalid.
func (Cinder) ParseParameters(params map[string]string) (backend.Parameters, error) {
	out := backend.Parameters{Values: map[string]string{}}
	for k, v := range params {
		v = strings.TrimSpace(v)
		switch key := strings.ToLower(k); key {
		case CinderParamType:
			if v == "" {
				return backend.Parameters{}, invalidParam(k, "must not be empty")
			}
			out.Values[CinderParamType] = v
		case CinderParamAvailability:
			if v == "" {
				return backend.Parameters{}, invalidParam(k, "must not be empty")
			}
			out.Zone, out.ZoneKey = v, k
			out.Values[CinderParamAvailability] = v
		default:
			return backend.Parameters{}, invalidParam(k, "unknown parameter (Cinder accepts type, availability)")
		}
	}
	return out, nil
}

// ParseSnapshotParameters implements backend.Profile. Keys: "type"
// (snapshot, the default, or backup), "force-create" (bool),
// "backup-max-duration-seconds-per-gb" (positive integer, default 20) and
// "availability".
func (Cinder) ParseSnapshotParameters(params map[string]string) (backend.Parameters, error) {
	out := backend.Parameters{Values: map[string]string{CinderSnapshotParamType: CinderSnapshotTypeSnapshot}}
	for k, v := range params {
		v = strings.TrimSpace(v)
		switch key := strings.ToLower(k); key {
		case CinderSnapshotParamType:
			t := strings.ToLower(v)
			if t != CinderSnapshotTypeSnapshot && t != CinderSnapshotTypeBackup {
				return backend.Parameters{}, invalidParam(k, "unknown snapshot type %q (want snapshot or backup)", v)
			}
			out.Values[key] = t
		case CinderSnapshotParamForceCreate:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return backend.Parameters{}, invalidParam(k, "not a boolean: %q", v)
			}
			out.Values[key] = strconv.FormatBool(b)
		case CinderSnapshotParamBackupMaxDurationPGB:
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return backend.Parameters{}, invalidParam(k, "not a positive integer: %q", v)
			}
			out.Values[key] = strconv.Itoa(n)
		case CinderParamAvailability:
			out.Zone, out.ZoneKey = v, k
			out.Values[key] = v
		default:
			return backend.Parameters{}, invalidParam(k, "unknown snapshot parameter (Cinder accepts type, force-create, backup-max-duration-seconds-per-gb, availability)")
		}
	}
	return out, nil
}

// RoundSize implements backend.Profile: whole GiB, default 1 GiB.
func (Cinder) RoundSize(requiredBytes, limitBytes int64) (int64, error) {
	return roundSize(requiredBytes, limitBytes, GiB, GiB, 0)
}

// DefaultMaxVolumesPerNode implements backend.Profile.
func (Cinder) DefaultMaxVolumesPerNode() int64 { return cinderMaxVolumesPerNode }

// SupportedAccessModes implements backend.Profile.
func (Cinder) SupportedAccessModes() []backend.AccessMode { return singleNodeModes() }

// Features implements backend.Profile.
func (Cinder) Features() backend.Features {
	return backend.Features{Snapshots: true, Clone: true, Expansion: true, OnlineExpansion: true}
}

// ForName returns the profile called name ("nifcloud" or "openstack").
func ForName(name string) (backend.Profile, bool) {
	switch strings.ToLower(name) {
	case "nifcloud":
		return NIFCLOUD{}, true
	case "openstack", "cinder":
		return Cinder{}, true
	}
	return nil, false
}
