package profile

import (
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// NIFCLOUD parameter keys and values.
const (
	NIFCLOUDParamType           = "type"
	NIFCLOUDParamAccountingType = "accountingtype"

	NIFCLOUDDefaultType           = "standard-flash-a"
	NIFCLOUDAccountingMonthly     = "monthly"
	NIFCLOUDAccountingHourly      = "hourly"
	NIFCLOUDDefaultAccountingType = NIFCLOUDAccountingHourly
)

// nifcloudStep is NIFCLOUD's disk granularity: 100 GB, treated as 100 GiB
// like the reference driver does (so a disk is never smaller than asked).
const nifcloudStep = 100 * GiB

// nifcloudMax is the largest additional disk (8,000 GB; flash types are
// smaller, which the cloud enforces per type).
const nifcloudMax = 8000 * GiB

// NIFCLOUD is the profile of NIFCLOUD additional storage.
type NIFCLOUD struct{}

var _ backend.Profile = NIFCLOUD{}

// Name implements backend.Profile.
func (NIFCLOUD) Name() string { return "nifcloud" }

// DriverName implements backend.Profile.
func (NIFCLOUD) DriverName() string { return "additional-storage.csi.nifcloud.com" }

// TopologyKey implements backend.Profile.
func (NIFCLOUD) TopologyKey() string { return "topology.additional-storage.csi.nifcloud.com/zone" }

// nifcloudTypes are the disk types (CSI spelling) of the DiskType table.
func nifcloudTypes() []string {
	return []string{
		"standard", "high-speed-a", "high-speed-b", "flash",
		"standard-flash-a", "standard-flash-b", "high-speed-flash-a", "high-speed-flash-b",
	}
}

// ParseParameters implements backend.Profile. Keys are case-insensitive:
// "type" (a disk type, or high-speed / standard-flash / high-speed-flash
// which pick the A or B variant at random to spread load, default
// standard-flash-a) and "accountingtype" (monthly or hourly, default
// hourly). The deprecated "fstype" is ignored; any other key is invalid.
func (NIFCLOUD) ParseParameters(params map[string]string) (backend.Parameters, error) {
	out := backend.Parameters{Values: map[string]string{
		NIFCLOUDParamType:           NIFCLOUDDefaultType,
		NIFCLOUDParamAccountingType: NIFCLOUDDefaultAccountingType,
	}}
	for k, v := range params {
		switch key := strings.ToLower(k); key {
		case NIFCLOUDParamType:
			t := strings.ToLower(strings.TrimSpace(v))
			switch {
			case slices.Contains(nifcloudTypes(), t):
			case t == "high-speed" || t == "standard-flash" || t == "high-speed-flash":
				t += []string{"-a", "-b"}[rand.IntN(2)]
			default:
				return backend.Parameters{}, invalidParam(k, "unknown disk type %q (want one of %s, high-speed, standard-flash, high-speed-flash)",
					v, strings.Join(nifcloudTypes(), ", "))
			}
			out.Values[NIFCLOUDParamType] = t
		case NIFCLOUDParamAccountingType:
			a := strings.ToLower(strings.TrimSpace(v))
			switch a {
			case NIFCLOUDAccountingMonthly, "1":
				a = NIFCLOUDAccountingMonthly
			case NIFCLOUDAccountingHourly, "2":
				a = NIFCLOUDAccountingHourly
			default:
				return backend.Parameters{}, invalidParam(k, "unknown accounting type %q (want monthly or hourly)", v)
			}
			out.Values[NIFCLOUDParamAccountingType] = a
		case "fstype":
			// Deprecated; the file system comes from the volume capability.
		default:
			return backend.Parameters{}, invalidParam(k, "unknown parameter (NIFCLOUD accepts type, accountingtype)")
		}
	}
	return out, nil
}

// ParseSnapshotParameters implements backend.Profile: NIFCLOUD has no
// snapshots, so any parameter is invalid.
func (NIFCLOUD) ParseSnapshotParameters(params map[string]string) (backend.Parameters, error) {
	for k := range params {
		return backend.Parameters{}, invalidParam(k, "NIFCLOUD does not support snapshots")
	}
	return backend.Parameters{Values: map[string]string{}}, nil
}

// RoundSize implements backend.Profile: NIFCLOUD disks come in steps of
// 100 GB; the default is 100.
func (NIFCLOUD) RoundSize(requiredBytes, limitBytes int64) (int64, error) {
	return roundSize(requiredBytes, limitBytes, nifcloudStep, nifcloudStep, nifcloudMax)
}

// DefaultMaxVolumesPerNode implements backend.Profile (14 additional disks
// per server).
func (NIFCLOUD) DefaultMaxVolumesPerNode() int64 { return 14 }

// SupportedAccessModes implements backend.Profile.
func (NIFCLOUD) SupportedAccessModes() []backend.AccessMode { return singleNodeModes() }

// Features implements backend.Profile: online expansion, no snapshots or
// clones.
func (NIFCLOUD) Features() backend.Features {
	return backend.Features{Expansion: true, OnlineExpansion: true}
}
