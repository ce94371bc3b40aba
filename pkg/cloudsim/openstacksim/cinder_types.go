package openstacksim

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// DefaultVolumeType is the type Cinder gives volumes created without one.
const DefaultVolumeType = "__DEFAULT__"

func (s *Sim) cinderTypeRoutes(mux *http.ServeMux) {
	p := cinderPrefix
	s.handle(mux, "GET "+p+"/types", svcCinder, "cinder.type_list", true, s.volumeTypeList)
	s.handle(mux, "GET "+p+"/types/{id}", svcCinder, "cinder.type_get", true, s.volumeTypeGet)
}

// seedVolumeTypesLocked creates Cinder's __DEFAULT__ type and two typical
// backend types, with IDs derived from the names so they survive restarts.
func (s *Sim) seedVolumeTypesLocked() {
	for _, vt := range []VolumeType{
		{Name: DefaultVolumeType, Description: "Default Volume Type"},
		{Name: "standard", Description: "Standard HDD-backed volumes",
			ExtraSpecs: map[string]string{"volume_backend_name": "lvm-hdd"}},
		{Name: "ssd", Description: "SSD-backed volumes",
			ExtraSpecs: map[string]string{"volume_backend_name": "lvm-ssd"}},
	} {
		vt.ID = stableUUID("volume_type", vt.Name)
		_, _ = s.addVolumeTypeLocked(vt)
	}
}

// stableUUID is stableID in the 8-4-4-4-12 form Cinder uses for type IDs.
func stableUUID(kind, name string) string {
	h := stableID(kind, name)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// AddVolumeType creates a Cinder volume type (ID generated when empty);
// names are unique, as in Cinder.
func (s *Sim) AddVolumeType(vt VolumeType) (VolumeType, error) {
	var out VolumeType
	var err error
	s.mutate(func() { out, err = s.addVolumeTypeLocked(vt) })
	return out, err
}

func (s *Sim) addVolumeTypeLocked(vt VolumeType) (VolumeType, error) {
	if vt.Name == "" {
		return VolumeType{}, fmt.Errorf("openstacksim: volume type without a name")
	}
	if vt.ID == "" {
		vt.ID = newUUID()
	}
	if s.state.VolumeTypes[vt.ID] != nil || s.volumeTypeLocked(vt.Name) != nil {
		return VolumeType{}, fmt.Errorf("openstacksim: volume type %s (%s) already exists", vt.Name, vt.ID)
	}
	if vt.ExtraSpecs == nil {
		vt.ExtraSpecs = map[string]string{}
	}
	cp := vt
	s.state.VolumeTypes[vt.ID] = &cp
	return vt, nil
}

// volumeTypeLocked finds a type by ID or name, like Cinder's
// get_by_name_or_id.
func (s *Sim) volumeTypeLocked(nameOrID string) *VolumeType {
	if vt := s.state.VolumeTypes[nameOrID]; vt != nil {
		return vt
	}
	for _, id := range sortedKeys(s.state.VolumeTypes) {
		if vt := s.state.VolumeTypes[id]; vt.Name == nameOrID {
			return vt
		}
	}
	return nil
}

// volumeTypeNotFound is Cinder's message for an unknown type in a volume
// create: UUID-like values were looked up as IDs, others as names.
func volumeTypeNotFound(nameOrID string) string {
	if uuidLike(nameOrID) {
		return "Volume type " + nameOrID + " could not be found."
	}
	return "Volume type with name " + nameOrID + " could not be found."
}

// uuidLike mirrors oslo's is_uuid_like: 32 hex digits, dashes optional.
func uuidLike(s string) bool {
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func volumeTypeView(vt *VolumeType) M {
	specs := M{}
	for k, v := range vt.ExtraSpecs {
		specs[k] = v
	}
	return M{"id": vt.ID, "name": vt.Name, "description": vt.Description, "is_public": true,
		"os-volume-type-access:is_public": true, "extra_specs": specs, "qos_specs_id": nil}
}

func (s *Sim) volumeTypeList(w http.ResponseWriter, r *http.Request, _ *Token) {
	var views []M
	s.read(func() {
		for _, vt := range s.state.VolumeTypes {
			views = append(views, volumeTypeView(vt))
		}
	})
	// Ordered by name so that paging with markers is stable.
	sort.Slice(views, func(i, j int) bool { return views[i]["name"].(string) < views[j]["name"].(string) })
	// Every simulated type is public, so is_public filters nothing.
	s.writeList(w, r, svcCinder, views, listOpts{key: "volume_types", linksKey: "volume_type_links",
		skip: map[string]bool{"is_public": true}})
}

func (s *Sim) volumeTypeGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	id := r.PathValue("id")
	var out M
	s.read(func() {
		if id == "default" {
			id = DefaultVolumeType
		}
		// Cinder's show looks up by ID only; "default" names the default.
		vt := s.state.VolumeTypes[id]
		if vt == nil && id == DefaultVolumeType {
			vt = s.volumeTypeLocked(id)
		}
		if vt != nil {
			out = volumeTypeView(vt)
		}
	})
	if out == nil {
		s.fail(w, svcCinder, http.StatusNotFound, "Volume type "+r.PathValue("id")+" could not be found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"volume_type": out})
}
