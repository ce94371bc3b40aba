package openstacksim

import (
	"net/http"
	"slices"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// defaultAZ is Cinder's default storage_availability_zone, the zone of
// volumes created without one (and without a source) when no Cinder
// zones are configured.
const defaultAZ = "nova"

// cinderZonesLocked are the availability zones of Cinder's volume
// services. Configured (seed "cinder_zones" or SetCinderZones), they are
// exactly those — e.g. the common layout of one Cinder zone "nova" beside
// several Nova zones. Unconfigured, they are "nova" plus every server's
// zone, as with a cinder-volume service in each Nova zone.
func (s *Sim) cinderZonesLocked() []string {
	if len(s.state.CinderZones) > 0 {
		return slices.Clone(s.state.CinderZones)
	}
	zones := []string{defaultAZ}
	for _, sv := range s.state.Servers {
		if !slices.Contains(zones, sv.AZ) {
			zones = append(zones, sv.AZ)
		}
	}
	slices.Sort(zones[1:])
	return zones
}

// defaultAZLocked is Cinder's default_availability_zone: the first
// configured Cinder zone, else "nova".
func (s *Sim) defaultAZLocked() string {
	if len(s.state.CinderZones) > 0 {
		return s.state.CinderZones[0]
	}
	return defaultAZ
}

// knownAZLocked reports whether Cinder has a volume service in az; a
// create naming another zone is refused with 400 (Cinder's
// allow_availability_zone_fallback is off by default).
func (s *Sim) knownAZLocked(az string) bool {
	return slices.Contains(s.cinderZonesLocked(), az)
}

// SetCinderZones configures Cinder's availability zones (nil: "nova" plus
// the servers' zones).
func (s *Sim) SetCinderZones(zones ...string) {
	s.mutate(func() { s.state.CinderZones = slices.Clone(zones) })
}

// cinderZoneList answers GET /os-availability-zone as Cinder does: every
// zone of a volume service, all available.
func (s *Sim) cinderZoneList(w http.ResponseWriter, _ *http.Request, _ *Token) {
	var zones []M
	s.read(func() {
		for _, z := range s.cinderZonesLocked() {
			zones = append(zones, M{"zoneName": z, "zoneState": M{"available": true}})
		}
	})
	simcore.WriteJSON(w, http.StatusOK, M{"availabilityZoneInfo": zones})
}
