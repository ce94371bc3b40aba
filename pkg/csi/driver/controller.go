package driver

import (
	"context"
	"errors"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// controllerServer implements csi.ControllerServer over backend.Disks.
type controllerServer struct {
	csi.UnimplementedControllerServer
	d *Driver
}

// ControllerGetCapabilities lists exactly the RPCs this driver implements
// for its backend and profile.
func (s *controllerServer) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range s.d.controllerCapabilities() {
		caps = append(caps, &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{
			Rpc: &csi.ControllerServiceCapability_RPC{Type: t},
		}})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

func (d *Driver) controllerCapabilities() []csi.ControllerServiceCapability_RPC_Type {
	caps := []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_PUBLISH_UNPUBLISH_VOLUME,
		csi.ControllerServiceCapability_RPC_LIST_VOLUMES,
		csi.ControllerServiceCapability_RPC_LIST_VOLUMES_PUBLISHED_NODES,
		csi.ControllerServiceCapability_RPC_GET_VOLUME,
		csi.ControllerServiceCapability_RPC_GET_VOLUME_HEALTH,
		csi.ControllerServiceCapability_RPC_LIST_VOLUME_HEALTH,
	}
	if d.features.Expansion {
		caps = append(caps, csi.ControllerServiceCapability_RPC_EXPAND_VOLUME)
	}
	if d.supportsSingleNodeMultiWriter() {
		caps = append(caps, csi.ControllerServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER)
	}
	if d.features.Clone {
		caps = append(caps, csi.ControllerServiceCapability_RPC_CLONE_VOLUME)
	}
	if d.snapshots != nil {
		caps = append(caps,
			csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
			csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
			csi.ControllerServiceCapability_RPC_GET_SNAPSHOT)
	}
	if d.capacity != nil {
		caps = append(caps, csi.ControllerServiceCapability_RPC_GET_CAPACITY)
	}
	if _, _, ok := d.modifier(); ok {
		caps = append(caps, csi.ControllerServiceCapability_RPC_MODIFY_VOLUME)
	}
	return caps
}

// CreateVolume creates a disk, idempotently by name.
func (s *controllerServer) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	d := s.d
	if err := require("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := d.validateCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, err
	}
	params, metadata, err := d.parseParameters(req.GetParameters())
	if err != nil {
		return nil, err
	}
	if params, err = d.withMutableParameters(params, req.GetMutableParameters()); err != nil {
		return nil, err
	}
	size, err := d.roundSize(req.GetCapacityRange())
	if err != nil {
		return nil, err
	}
	release, err := d.inflight.acquire("CreateVolume", req.GetName())
	if err != nil {
		return nil, err
	}
	defer release()
	logger := klog.FromContext(ctx)

	snapID, srcVolID, err := s.contentSource(req.GetVolumeContentSource())
	if err != nil {
		return nil, err
	}
	src, err := s.lookupSource(ctx, snapID, srcVolID)
	if err != nil {
		return nil, err
	}
	if size, err = s.sizeForSource(size, req.GetCapacityRange(), src); err != nil {
		return nil, err
	}
	zone, err := d.createZone(params, req.GetAccessibilityRequirements(), src)
	if err != nil {
		return nil, err
	}

	existing, err := d.disks.FindDiskByName(ctx, req.GetName())
	switch {
	case err == nil:
		if err := compatible(existing, req.GetCapacityRange(), size, snapID, srcVolID); err != nil {
			return nil, err
		}
		if r, ok := d.disks.(backend.CreateResumer); ok {
			if existing, err = r.ResumeCreate(ctx, existing); err != nil {
				return nil, StatusFromError(err, "finishing the creation of volume "+req.GetName())
			}
		}
		logger.V(2).Info("Volume already exists", "volumeID", existing.ID, "sizeBytes", existing.SizeBytes)
		return &csi.CreateVolumeResponse{Volume: d.createdVolume(existing, req)}, nil
	case !errors.Is(err, backend.ErrNotFound):
		return nil, StatusFromError(err, "looking up volume by name")
	}

	disk, err := d.disks.CreateDisk(ctx, backend.CreateRequest{
		Name:             req.GetName(),
		SizeBytes:        size,
		Zone:             zone,
		Parameters:       params,
		SourceSnapshotID: snapID,
		SourceVolumeID:   srcVolID,
		Metadata:         metadata,
	})
	if err != nil {
		return nil, StatusFromError(err, "creating volume")
	}
	logger.Info("Volume created", "volumeID", disk.ID, "sizeBytes", disk.SizeBytes, "zone", disk.Zone, "parameters", describeParams(params.Values))
	return &csi.CreateVolumeResponse{Volume: d.createdVolume(disk, req)}, nil
}

// contentSource validates a volume content source and returns the source
// snapshot or volume ID, checking that it exists.
func (s *controllerServer) contentSource(src *csi.VolumeContentSource) (snapID, volID string, err error) {
	if src == nil {
		return "", "", nil
	}
	switch t := src.GetType().(type) {
	case *csi.VolumeContentSource_Snapshot:
		if s.d.snapshots == nil {
			return "", "", invalidArg("creating volumes from snapshots is not supported by %s", s.d.profile.Name())
		}
		if t.Snapshot.GetSnapshotId() == "" {
			return "", "", invalidArg("volume_content_source.snapshot.snapshot_id is required")
		}
		if err := s.d.checkSnapshotIDField("volume_content_source.snapshot.snapshot_id", t.Snapshot.GetSnapshotId()); err != nil {
			return "", "", err
		}
		return t.Snapshot.GetSnapshotId(), "", nil
	case *csi.VolumeContentSource_Volume:
		if !s.d.features.Clone {
			return "", "", invalidArg("cloning volumes is not supported by %s", s.d.profile.Name())
		}
		if t.Volume.GetVolumeId() == "" {
			return "", "", invalidArg("volume_content_source.volume.volume_id is required")
		}
		if err := s.d.checkVolumeIDField("volume_content_source.volume.volume_id", t.Volume.GetVolumeId()); err != nil {
			return "", "", err
		}
		return "", t.Volume.GetVolumeId(), nil
	}
	return "", "", invalidArg("unsupported volume content source")
}

// sizeForSource makes sure a restored or cloned disk is at least as large
// as its source (src == nil: no source).
func (s *controllerServer) sizeForSource(size int64, r *csi.CapacityRange, src *sourceInfo) (int64, error) {
	if src == nil || src.sizeBytes <= size {
		return size, nil
	}
	if r.GetRequiredBytes() > 0 {
		// An explicit size smaller than the source cannot hold its data.
		return 0, status.Errorf(codes.OutOfRange, "requested size %d bytes is smaller than the source (%d bytes)", size, src.sizeBytes)
	}
	rounded, err := s.d.profile.RoundSize(src.sizeBytes, r.GetLimitBytes())
	if err != nil {
		return 0, StatusFromError(err, "size of the source")
	}
	return rounded, nil
}

// compatible checks an existing disk against a repeated CreateVolume.
func compatible(disk *backend.Disk, r *csi.CapacityRange, size int64, snapID, volID string) error {
	if lim := r.GetLimitBytes(); disk.SizeBytes < size || (lim > 0 && disk.SizeBytes > lim) {
		return status.Errorf(codes.AlreadyExists, "volume %q (%s) exists with size %d bytes, incompatible with the requested %d bytes (limit %d)",
			disk.Name, disk.ID, disk.SizeBytes, size, lim)
	}
	if disk.SourceSnapshotID != snapID || disk.SourceVolumeID != volID {
		return status.Errorf(codes.AlreadyExists, "volume %q (%s) exists with a different content source", disk.Name, disk.ID)
	}
	return nil
}

// volumeOf converts a disk to a CSI volume.
func (d *Driver) volumeOf(disk *backend.Disk, src *csi.VolumeContentSource) *csi.Volume {
	v := &csi.Volume{
		VolumeId:           disk.ID,
		CapacityBytes:      disk.SizeBytes,
		AccessibleTopology: d.topologyOf(disk.Zone),
		ContentSource:      src,
	}
	if src == nil {
		switch {
		case disk.SourceSnapshotID != "":
			v.ContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
				Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: disk.SourceSnapshotID},
			}}
		case disk.SourceVolumeID != "":
			v.ContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
				Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: disk.SourceVolumeID},
			}}
		}
	}
	if v.ContentSource != nil {
		v.VolumeContext = map[string]string{VolumeContextResizeRequired: "true"}
	}
	return v
}

// DeleteVolume deletes a disk; a missing disk is success.
func (s *controllerServer) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	if err := require("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := s.d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	release, err := s.d.inflight.acquire("volume", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	defer release()
	err = s.d.disks.DeleteDisk(ctx, req.GetVolumeId())
	switch {
	case errors.Is(err, backend.ErrNotFound):
		klog.FromContext(ctx).V(2).Info("Volume already gone")
	case err != nil:
		return nil, StatusFromError(err, "deleting volume")
	default:
		klog.FromContext(ctx).Info("Volume deleted")
	}
	return &csi.DeleteVolumeResponse{}, nil
}

// ValidateVolumeCapabilities confirms capabilities the cloud supports.
func (s *controllerServer) ValidateVolumeCapabilities(ctx context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if err := require("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := s.d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, invalidArg("volume capabilities are required")
	}
	if _, err := s.d.disks.GetDisk(ctx, req.GetVolumeId()); err != nil {
		return nil, StatusFromError(err, "getting volume")
	}
	if err := s.d.validateCapabilities(req.GetVolumeCapabilities()); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: status.Convert(err).Message()}, nil
	}
	if len(req.GetParameters()) > 0 {
		if _, _, err := s.d.parseParameters(req.GetParameters()); err != nil {
			return &csi.ValidateVolumeCapabilitiesResponse{Message: status.Convert(err).Message()}, nil
		}
	}
	if len(req.GetMutableParameters()) > 0 {
		if _, err := s.d.parseMutableParameters(req.GetMutableParameters()); err != nil {
			return &csi.ValidateVolumeCapabilitiesResponse{Message: status.Convert(err).Message()}, nil
		}
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
		MutableParameters:  req.GetMutableParameters(),
	}}, nil
}

// ListVolumes pages through the backend's disks.
func (s *controllerServer) ListVolumes(ctx context.Context, req *csi.ListVolumesRequest) (*csi.ListVolumesResponse, error) {
	if req.GetMaxEntries() < 0 {
		return nil, invalidArg("max_entries must not be negative")
	}
	disks, next, err := s.d.disks.ListDisks(ctx, int(req.GetMaxEntries()), req.GetStartingToken())
	if err != nil {
		return nil, listError(err, req.GetStartingToken())
	}
	resp := &csi.ListVolumesResponse{NextToken: next}
	for _, disk := range disks {
		resp.Entries = append(resp.Entries, &csi.ListVolumesResponse_Entry{
			Volume: s.d.volumeOf(disk, nil),
			Status: &csi.ListVolumesResponse_VolumeStatus{PublishedNodeIds: disk.AttachedNodes},
		})
	}
	return resp, nil
}

// listError maps a paging error: an invalid starting token is Aborted.
func listError(err error, token string) error {
	if token != "" && errors.Is(err, backend.ErrInvalidArgument) {
		return status.Errorf(codes.Aborted, "invalid starting_token %q: %v", token, err)
	}
	return StatusFromError(err, "listing")
}

// ControllerGetVolume returns a disk and the nodes it is published on.
func (s *controllerServer) ControllerGetVolume(ctx context.Context, req *csi.ControllerGetVolumeRequest) (*csi.ControllerGetVolumeResponse, error) {
	if err := require("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := s.d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	disk, err := s.d.disks.GetDisk(ctx, req.GetVolumeId())
	if err != nil {
		return nil, StatusFromError(err, "getting volume")
	}
	return &csi.ControllerGetVolumeResponse{
		Volume: s.d.volumeOf(disk, nil),
		Status: &csi.ControllerGetVolumeResponse_VolumeStatus{PublishedNodeIds: disk.AttachedNodes},
	}, nil
}

// ControllerExpandVolume grows a disk. Mount volumes then need node
// expansion (the file system); block volumes do not.
func (s *controllerServer) ControllerExpandVolume(ctx context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	d := s.d
	if !d.features.Expansion {
		return nil, status.Errorf(codes.Unimplemented, "%s does not support volume expansion", d.profile.Name())
	}
	if err := require("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	if req.GetCapacityRange() == nil {
		return nil, invalidArg("capacity_range is required")
	}
	if c := req.GetVolumeCapability(); c != nil {
		if err := d.validateCapability(c); err != nil {
			return nil, err
		}
	}
	size, err := d.roundSize(req.GetCapacityRange())
	if err != nil {
		return nil, err
	}
	release, err := d.inflight.acquire("volume", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	defer release()

	nodeExpansion := !isBlock(req.GetVolumeCapability())
	disk, err := d.disks.GetDisk(ctx, req.GetVolumeId())
	if err != nil {
		return nil, StatusFromError(err, "getting volume")
	}
	if disk.SizeBytes >= size {
		return &csi.ControllerExpandVolumeResponse{CapacityBytes: disk.SizeBytes, NodeExpansionRequired: nodeExpansion}, nil
	}
	if len(disk.AttachedNodes) > 0 && !d.features.OnlineExpansion {
		return nil, status.Errorf(codes.FailedPrecondition, "volume is attached to %v and %s only expands detached volumes", disk.AttachedNodes, d.profile.Name())
	}
	actual, err := d.disks.ExpandDisk(ctx, disk.ID, size)
	if err != nil {
		return nil, StatusFromError(err, "expanding volume")
	}
	klog.FromContext(ctx).Info("Volume expanded", "fromBytes", disk.SizeBytes, "toBytes", actual)
	return &csi.ControllerExpandVolumeResponse{CapacityBytes: actual, NodeExpansionRequired: nodeExpansion}, nil
}
