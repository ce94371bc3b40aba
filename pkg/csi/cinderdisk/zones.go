package cinderdisk

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/availabilityzones"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// isSameAZRefusal reports Cinder's 400 for a clone or restore into another
// availability zone than its source's (cloned_volume_same_az): "Invalid
// input received: Volume must be in the same availability zone as the
// snapshot" (or "... as the source volume"). The driver creates clones and
// restores in the source's zone, so this only happens when it could not
// learn that zone (the snapshot's volume is gone) and another was asked.
func isSameAZRefusal(err error) bool {
	return answerSays(err, http.StatusBadRequest, "must be in the same availability zone")
}

// isUnknownZone reports Cinder's 400 for a zone without a volume service:
// "Invalid input received: Availability zone 'x' is invalid."
func isUnknownZone(err error) bool {
	return answerSays(err, http.StatusBadRequest, "Availability zone '") && answerSays(err, http.StatusBadRequest, "is invalid")
}

// unknownZoneError explains a create refused for its zone: where the zone
// came from and which zones Cinder has — one list call, made only on this
// error path. The "availability" parameter is then wrong
// (InvalidArgument); a zone from the topology (the node chosen for the
// Pod) cannot hold the volume (ErrZoneExhausted: the provisioner
// reschedules the claim, perhaps to a zone Cinder has).
func (b *Backend) unknownZoneError(ctx context.Context, err error, req backend.CreateRequest, zone string) error {
	origin := fmt.Sprintf("the StorageClass parameter %q", profile.CinderParamAvailability)
	sentinel := backend.ErrInvalidArgument
	if req.Parameters.Zone == "" {
		sentinel = backend.ErrZoneExhausted
		origin = fmt.Sprintf("the requested topology %s=%s, i.e. the zone of the node chosen for the Pod or the StorageClass's allowedTopologies",
			(profile.Cinder{}).TopologyKey(), zone)
	}
	have := "Cinder's availability zones could not be listed"
	if zones, lerr := b.cinderZones(ctx); lerr != nil {
		klog.FromContext(ctx).V(2).Info("Could not list Cinder availability zones for an error message", "err", lerr)
	} else {
		have = "Cinder's availability zones are " + strings.Join(zones, ", ")
	}
	return fmt.Errorf("creating volume %q: Cinder has no availability zone %q (from %s); %s. "+
		"Set the StorageClass parameter %q to one of them, and [BlockStorage] ignore-volume-az = true in cloud.conf when they are not Nova's zones: %w: %w",
		req.Name, zone, origin, have, profile.CinderParamAvailability, sentinel, err)
}

// cinderZones lists the availability zones of Cinder's volume services.
func (b *Backend) cinderZones(ctx context.Context) ([]string, error) {
	pages, err := availabilityzones.List(b.block).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	zones, err := availabilityzones.ExtractAvailabilityZones(pages)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(zones))
	for _, z := range zones {
		names = append(names, z.ZoneName)
	}
	return names, nil
}
