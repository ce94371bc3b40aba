package cinderdisk

import (
	"maps"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// createOpts turns a CreateRequest into Cinder's create body. The zone is
// the request's (the driver already resolved the "availability" parameter
// against the topology); the volume type comes from the "type" parameter.
func (b *Backend) createOpts(req backend.CreateRequest) volumes.CreateOpts {
	md := maps.Clone(req.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	if b.opts.ClusterID != "" {
		md[MetadataCluster] = b.opts.ClusterID
	}
	zone := req.Zone
	if zone == "" {
		zone = req.Parameters.Zone
	}
	return volumes.CreateOpts{
		Name:             req.Name,
		Size:             sizeGiB(req.SizeBytes),
		Description:      Description,
		VolumeType:       req.Parameters.Get(profile.CinderParamType),
		AvailabilityZone: zone,
		SnapshotID:       req.SourceSnapshotID,
		SourceVolID:      req.SourceVolumeID,
		Metadata:         md,
	}
}
