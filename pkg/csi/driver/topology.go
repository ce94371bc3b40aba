package driver

import (
	"fmt"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// topologyMode says how disk zones map to CSI topology.
type topologyMode struct {
	// off: no topology at all (--with-topology=false).
	off bool
	// ignoreDiskZone: storage zones are not compute zones
	// (ignore-volume-az); a new disk is accessible from the requested
	// topology, and the zone parameter is not checked against it.
	ignoreDiskZone bool
	// mismatchHint ends the refusal of a zone parameter outside the
	// requisite topology.
	mismatchHint string
}

// createZone picks the zone of a new disk. Without a source (or one of
// unknown zone) it is the zone parameter, which must fit the requisite
// topology, else the first zone of the preferred, then the requisite
// topology. A clone or restore stays in its source's zone — Cinder, for
// one, refuses anything else (cloned_volume_same_az) — so a zone parameter
// naming another zone, or a requisite topology without the source's zone,
// is InvalidArgument. With topology off the requested topology plays no
// part; with ignoreDiskZone it never restricts the zone.
func (d *Driver) createZone(params backend.Parameters, top *csi.TopologyRequirement, src *sourceInfo) (string, error) {
	key := params.ZoneKey
	if key == "" {
		key = "zone"
	}
	if d.topology.off {
		top = nil
	}
	check := top
	if d.topology.ignoreDiskZone {
		check = nil
	}
	if src == nil || src.zone == "" {
		if params.Zone == "" {
			return d.zoneFromTopology(top), nil
		}
		if !d.zoneAllowed(check, params.Zone) {
			return "", invalidArg("parameter %q: zone %q is not in the requisite topology (%s), so no node could use the volume%s",
				key, params.Zone, d.describeTopology(top.GetRequisite()), d.topology.mismatchHint)
		}
		return params.Zone, nil
	}
	if params.Zone != "" && params.Zone != src.zone {
		return "", invalidArg("parameter %q: zone %q differs from zone %q of the source %s; a clone or restore is created in its source's zone",
			key, params.Zone, src.zone, src.what)
	}
	if !d.zoneAllowed(check, src.zone) {
		return "", invalidArg("the source %s is in zone %q, which is not in the requisite topology (%s); a clone or restore is created in its source's zone%s",
			src.what, src.zone, d.describeTopology(top.GetRequisite()), d.topology.mismatchHint)
	}
	return src.zone, nil
}

// zoneFromTopology picks the zone: preferred segments first, then
// requisite ones; "" when neither names the profile's topology key.
func (d *Driver) zoneFromTopology(req *csi.TopologyRequirement) string {
	key := d.profile.TopologyKey()
	for _, list := range [][]*csi.Topology{req.GetPreferred(), req.GetRequisite()} {
		for _, t := range list {
			if z := t.GetSegments()[key]; z != "" {
				return z
			}
		}
	}
	return ""
}

// zoneAllowed reports whether zone satisfies the requisite topology.
func (d *Driver) zoneAllowed(req *csi.TopologyRequirement, zone string) bool {
	if len(req.GetRequisite()) == 0 || zone == "" {
		return true
	}
	key := d.profile.TopologyKey()
	for _, t := range req.GetRequisite() {
		if z, ok := t.GetSegments()[key]; !ok || z == zone {
			return true
		}
	}
	return false
}

// topologyOf returns the accessible topology of an existing disk in zone:
// none with topology off or when the disk's zone is not a topology zone
// (ignoreDiskZone).
func (d *Driver) topologyOf(zone string) []*csi.Topology {
	if zone == "" || d.topology.off || d.topology.ignoreDiskZone {
		return nil
	}
	return []*csi.Topology{{Segments: map[string]string{d.profile.TopologyKey(): zone}}}
}

// createdTopology is the accessible topology CreateVolume reports for a
// disk in zone: with ignoreDiskZone the requested one (preferred, else
// requisite; as cinder-csi's ignore-volume-az), else the disk's zone.
func (d *Driver) createdTopology(zone string, req *csi.TopologyRequirement) []*csi.Topology {
	switch {
	case d.topology.off:
		return nil
	case !d.topology.ignoreDiskZone:
		return d.topologyOf(zone)
	case len(req.GetPreferred()) > 0:
		return req.GetPreferred()
	}
	return req.GetRequisite()
}

// createdVolume is CreateVolume's answer for disk.
func (d *Driver) createdVolume(disk *backend.Disk, req *csi.CreateVolumeRequest) *csi.Volume {
	v := d.volumeOf(disk, req.GetVolumeContentSource())
	v.AccessibleTopology = d.createdTopology(disk.Zone, req.GetAccessibilityRequirements())
	return v
}

// nodeTopology is the node's accessible topology in NodeGetInfo.
func (d *Driver) nodeTopology(zone string) *csi.Topology {
	if zone == "" || d.topology.off {
		return nil
	}
	return &csi.Topology{Segments: map[string]string{d.profile.TopologyKey(): zone}}
}

// describeTopology lists the zones of a topology for messages.
func (d *Driver) describeTopology(list []*csi.Topology) string {
	key := d.profile.TopologyKey()
	zones := make([]string, 0, len(list))
	for _, t := range list {
		zones = append(zones, fmt.Sprintf("%s=%s", key, t.GetSegments()[key]))
	}
	return strings.Join(zones, ", ")
}
