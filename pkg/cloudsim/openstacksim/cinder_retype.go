package openstacksim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// Retype migration policies (the os-retype schema's enum).
const (
	migrationNever    = "never"
	migrationOnDemand = "on-demand"
)

// retypeRefused is Cinder's InvalidVolume for a retype whose conditional
// update fails: a volume not available/in-use, or the same type.
const retypeRefused = "Invalid volume: Retype needs volume to be in available or in-use state, not be part of an active migration or a consistency group, requested type has to be different that the one from the volume, and for in-use volumes front-end qos specs cannot change."

// retypeRequest is the os-retype body after Cinder's JSON schema:
// new_type a required string, migration_policy null or one of the enum,
// no other keys.
type retypeRequest struct {
	NewType         string
	MigrationPolicy string // "" = null/absent, which Cinder treats as never
}

func parseRetype(raw json.RawMessage) (retypeRequest, string) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil || body == nil {
		return retypeRequest{}, fmt.Sprintf("Invalid input for field/attribute os-retype. Value: %s. %s is not of type 'object'", raw, raw)
	}
	var out retypeRequest
	for k, v := range body {
		switch k {
		case "new_type":
			if err := json.Unmarshal(v, &out.NewType); err != nil || bytes.Equal(v, []byte("null")) {
				return retypeRequest{}, fmt.Sprintf("Invalid input for field/attribute new_type. Value: %s. %s is not of type 'string'", v, v)
			}
		case "migration_policy":
			if bytes.Equal(v, []byte("null")) {
				continue
			}
			if err := json.Unmarshal(v, &out.MigrationPolicy); err != nil ||
				(out.MigrationPolicy != migrationNever && out.MigrationPolicy != migrationOnDemand) {
				return retypeRequest{}, fmt.Sprintf("Invalid input for field/attribute migration_policy. Value: %s. %s is not one of ['on-demand', 'never']", v, v)
			}
		default:
			return retypeRequest{}, fmt.Sprintf("Invalid input for field/attribute os-retype. Value: %s. Additional properties are not allowed ('%s' was unexpected)", raw, k)
		}
	}
	if _, ok := body["new_type"]; !ok {
		return retypeRequest{}, fmt.Sprintf("Invalid input for field/attribute os-retype. Value: %s. 'new_type' is a required property", raw)
	}
	return out, ""
}

// volumeRetype answers os-retype as Cinder's API does: 202 and status
// "retyping" until the scheduler and volume manager are done; then the
// volume returns to its previous status, with the new type if the retype
// worked. A retype that needs a migration (the types name different
// volume_backend_name extra specs) works only with migration_policy
// on-demand; with never (or none) Cinder fails it asynchronously and the
// type stays, as a real scheduler finding no valid backend does.
func (s *Sim) volumeRetype(w http.ResponseWriter, r *http.Request, raw json.RawMessage) {
	if !s.begin(w, r, svcCinder, "cinder.volume_retype") {
		return
	}
	req, bad := parseRetype(raw)
	if bad != "" {
		s.fail(w, svcCinder, http.StatusBadRequest, bad)
		return
	}
	id := r.PathValue("id")
	code, msg := 0, ""
	s.mutate(func() {
		v := s.state.Volumes[id]
		if v == nil {
			code, msg = http.StatusNotFound, "Volume "+id+" could not be found."
			return
		}
		vt := s.volumeTypeLocked(req.NewType)
		if vt == nil {
			code, msg = http.StatusNotFound, volumeTypeNotFound(req.NewType)
			return
		}
		if (v.Status != "available" && v.Status != "in-use") || vt.Name == v.VolumeType {
			code, msg = http.StatusBadRequest, retypeRefused
			return
		}
		to := vt.Name
		if s.retypeNeedsMigrationLocked(v.VolumeType, vt) && req.MigrationPolicy != migrationOnDemand {
			to = "" // "Retype requires migration but is not allowed."
		}
		v.Pending = &Transition{To: v.Status, VolumeType: to, At: s.after("volume.retype")}
		v.Status, v.Updated = "retyping", s.now()
	})
	if code != 0 {
		s.fail(w, svcCinder, code, msg)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// retypeNeedsMigrationLocked reports whether a volume of type from must
// move to another backend to become of type to: both pin a backend with
// volume_backend_name and the backends differ. A type without one fits
// any backend (the simulator keeps no per-volume host).
func (s *Sim) retypeNeedsMigrationLocked(from string, to *VolumeType) bool {
	old := s.volumeTypeLocked(from)
	if old == nil {
		return false
	}
	a, b := old.ExtraSpecs["volume_backend_name"], to.ExtraSpecs["volume_backend_name"]
	return a != "" && b != "" && a != b
}
