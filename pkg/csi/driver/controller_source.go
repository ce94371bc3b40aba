package driver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// sourceInfo is what CreateVolume needs to know about a content source.
type sourceInfo struct {
	// what names the source in messages ("snapshot snap-1").
	what string
	// sizeBytes is the source's size; a restore or clone is at least as
	// large.
	sizeBytes int64
	// zone is the source's zone ("" = unknown or a cloud without zones).
	// For a snapshot it is the zone of the snapshot's source disk.
	zone string
}

// lookupSource fetches the content source (nil, nil without one), checking
// that it exists (NotFound) and that a snapshot is ready (Unavailable).
//
// A snapshot's zone is its source disk's: one more GetDisk, only for
// restores. A source disk that is gone leaves the zone unknown; the
// requested zone is then used and the cloud decides.
func (s *controllerServer) lookupSource(ctx context.Context, snapID, volID string) (*sourceInfo, error) {
	switch {
	case snapID != "":
		snap, err := s.d.snapshots.GetSnapshot(ctx, snapID)
		if err != nil {
			return nil, StatusFromError(err, fmt.Sprintf("source snapshot %s", snapID))
		}
		if !snap.ReadyToUse {
			return nil, status.Errorf(codes.Unavailable, "source snapshot %s is not ready yet", snapID)
		}
		src := &sourceInfo{what: "snapshot " + snapID, sizeBytes: snap.SizeBytes}
		if snap.SourceVolumeID != "" {
			disk, err := s.d.disks.GetDisk(ctx, snap.SourceVolumeID)
			switch {
			case err == nil:
				src.zone = disk.Zone
			case !errors.Is(err, backend.ErrNotFound):
				return nil, StatusFromError(err, fmt.Sprintf("zone of volume %s, the source of snapshot %s", snap.SourceVolumeID, snapID))
			}
		}
		return src, nil
	case volID != "":
		disk, err := s.d.disks.GetDisk(ctx, volID)
		if err != nil {
			return nil, StatusFromError(err, fmt.Sprintf("source volume %s", volID))
		}
		return &sourceInfo{what: "volume " + volID, sizeBytes: disk.SizeBytes, zone: disk.Zone}, nil
	}
	return nil, nil
}

// createZone picks the zone of a new disk. Without a source (or one of
// unknown zone) it is the zone parameter, which must fit the requisite
// topology, else the first zone of the preferred, then the requisite
// topology. A clone or restore stays in its source's zone — Cinder, for
// one, refuses anything else (cloned_volume_same_az) — so a zone parameter
// naming another zone, or a requisite topology without the source's zone,
// is InvalidArgument.
func (d *Driver) createZone(params backend.Parameters, top *csi.TopologyRequirement, src *sourceInfo) (string, error) {
	key := params.ZoneKey
	if key == "" {
		key = "zone"
	}
	if src == nil || src.zone == "" {
		if params.Zone == "" {
			return d.zoneFromTopology(top), nil
		}
		if !d.zoneAllowed(top, params.Zone) {
			return "", invalidArg("parameter %q: zone %q is not in the requisite topology", key, params.Zone)
		}
		return params.Zone, nil
	}
	if params.Zone != "" && params.Zone != src.zone {
		return "", invalidArg("parameter %q: zone %q differs from zone %q of the source %s; a clone or restore is created in its source's zone",
			key, params.Zone, src.zone, src.what)
	}
	if !d.zoneAllowed(top, src.zone) {
		return "", invalidArg("the source %s is in zone %q, which is not in the requisite topology (%s); a clone or restore is created in its source's zone",
			src.what, src.zone, d.describeTopology(top.GetRequisite()))
	}
	return src.zone, nil
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
