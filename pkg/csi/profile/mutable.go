package profile

import (
	"strings"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// Cinder mutable parameters (VolumeAttributesClass). "type" is the
// StorageClass key; CinderParamMigrationPolicy is canonicalised to lower
// case like every other key.
const (
	CinderParamMigrationPolicy = "migrationpolicy"

	CinderMigrationNever    = "never"
	CinderMigrationOnDemand = "on-demand"
	// CinderDefaultMigrationPolicy lets Cinder move the data when the new
	// type lives on another backend: a VolumeAttributesClass asks for the
	// volume to be of the new type, and "never" makes such retypes fail.
	CinderDefaultMigrationPolicy = CinderMigrationOnDemand
)

var (
	_ backend.MutableParameterParser    = Cinder{}
	_ backend.ModifyUnsupportedReasoner = NIFCLOUD{}
)

// ParseMutableParameters implements backend.MutableParameterParser. Keys
// (case-insensitive): "type", the Cinder volume type to retype to, and
// "migrationPolicy" (never or on-demand, default on-demand). Any other key
// is invalid.
func (Cinder) ParseMutableParameters(params map[string]string) (backend.Parameters, error) {
	out := backend.Parameters{Values: map[string]string{}}
	for k, v := range params {
		v = strings.TrimSpace(v)
		switch key := strings.ToLower(k); key {
		case CinderParamType:
			if v == "" {
				return backend.Parameters{}, invalidParam(k, "must not be empty")
			}
			out.Values[CinderParamType] = v
		case CinderParamMigrationPolicy:
			p := strings.ToLower(v)
			if p != CinderMigrationNever && p != CinderMigrationOnDemand {
				return backend.Parameters{}, invalidParam(k, "unknown migration policy %q (want never or on-demand)", v)
			}
			out.Values[CinderParamMigrationPolicy] = p
		default:
			return backend.Parameters{}, invalidParam(k, "unknown mutable parameter (Cinder accepts type, migrationPolicy)")
		}
	}
	return out, nil
}

// ModifyUnsupportedReason implements backend.ModifyUnsupportedReasoner.
func (NIFCLOUD) ModifyUnsupportedReason() string {
	return "NIFCLOUD's ModifyVolumeAttribute changes only accountingType, volumeName and description, not the disk type; " +
		"create a new volume with another StorageClass to change the type"
}
