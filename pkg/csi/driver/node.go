package driver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// nodeServer implements csi.NodeServer over a DeviceFinder and a Mounter.
type nodeServer struct {
	csi.UnimplementedNodeServer
	d *Driver
}

// supportsSingleNodeMultiWriter reports whether the profile offers the
// SINGLE_NODE_{SINGLE,MULTI}_WRITER refinements.
func (d *Driver) supportsSingleNodeMultiWriter() bool {
	modes := d.profile.SupportedAccessModes()
	return slices.Contains(modes, backend.SingleNodeSingleWriter) || slices.Contains(modes, backend.SingleNodeMultiWriter)
}

// NodeGetCapabilities lists the node RPCs implemented.
func (s *nodeServer) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	types := []csi.NodeServiceCapability_RPC_Type{
		csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME,
		csi.NodeServiceCapability_RPC_GET_VOLUME_STATS,
		csi.NodeServiceCapability_RPC_GET_VOLUME_HEALTH,
	}
	if s.d.features.Expansion {
		types = append(types, csi.NodeServiceCapability_RPC_EXPAND_VOLUME)
	}
	if s.d.supportsSingleNodeMultiWriter() {
		types = append(types, csi.NodeServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER)
	}
	caps := make([]*csi.NodeServiceCapability, 0, len(types))
	for _, t := range types {
		caps = append(caps, &csi.NodeServiceCapability{Type: &csi.NodeServiceCapability_Rpc{
			Rpc: &csi.NodeServiceCapability_RPC{Type: t},
		}})
	}
	return &csi.NodeGetCapabilitiesResponse{Capabilities: caps}, nil
}

// NodeGetInfo reports the node ID, its zone and the attach limit.
func (s *nodeServer) NodeGetInfo(ctx context.Context, _ *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	id, err := s.d.identity.NodeID(ctx)
	if err != nil {
		return nil, StatusFromError(err, "node ID")
	}
	if id == "" {
		return nil, status.Error(codes.Internal, "node ID is empty")
	}
	zone, err := s.d.identity.Zone(ctx)
	if err != nil {
		return nil, StatusFromError(err, "node zone")
	}
	resp := &csi.NodeGetInfoResponse{NodeId: id, MaxVolumesPerNode: s.d.maxVolumes}
	resp.AccessibleTopology = s.d.nodeTopology(zone)
	return resp, nil
}

// NodePublishVolume bind-mounts the staged file system (or, for raw block
// volumes, the device) onto the target path.
func (s *nodeServer) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	d := s.d
	if err := require("volume_id", req.GetVolumeId(), "target_path", req.GetTargetPath(),
		"staging_target_path", req.GetStagingTargetPath()); err != nil {
		return nil, err
	}
	if err := d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	target, staging := req.GetTargetPath(), req.GetStagingTargetPath()
	if err := d.checkNodePath("target_path", target); err != nil {
		return nil, err
	}
	if err := d.checkNodePath("staging_target_path", staging); err != nil {
		return nil, err
	}
	c := req.GetVolumeCapability()
	if err := d.validateCapability(c); err != nil {
		return nil, err
	}
	release, err := d.inflight.acquire("publish", req.GetVolumeId(), target)
	if err != nil {
		return nil, err
	}
	defer release()
	readOnly := req.GetReadonly() || isReadOnlyMode(c)
	if isBlock(c) {
		return s.publishBlock(ctx, req, publishOptions(readOnly, nil))
	}
	options := publishOptions(readOnly, c.GetMount().GetMountFlags())

	if mounted, err := d.mounter.IsMountPoint(staging); err != nil || !mounted {
		return nil, status.Errorf(codes.FailedPrecondition, "volume is not staged at %s (mounted %t, err %v)", staging, mounted, err)
	}
	if ok, err := d.owns(req.GetVolumeId(), staging); err != nil {
		return nil, err
	} else if !ok {
		return nil, notOurs("staging_target_path", staging, req.GetVolumeId())
	}
	if c.GetAccessMode().GetMode() == csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER {
		refs, err := d.mounter.GetMountRefs(staging)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "finding other publications of %s: %v", staging, err)
		}
		for _, ref := range refs {
			if filepath.Clean(ref) != filepath.Clean(target) {
				return nil, status.Errorf(codes.FailedPrecondition, "single-writer volume is already published at %s", ref)
			}
		}
	}
	if err := d.mounter.MakeDir(target); err != nil {
		return nil, status.Errorf(codes.Internal, "creating target %s: %v", target, err)
	}
	if done, err := s.claimTarget(req.GetVolumeId(), target); err != nil {
		return nil, err
	} else if done {
		klog.FromContext(ctx).V(2).Info("Volume already published")
		return &csi.NodePublishVolumeResponse{}, nil
	}
	if err := d.mounter.Mount(staging, target, fsTypeOf(c), options); err != nil {
		return nil, status.Errorf(codes.Internal, "bind-mounting %s on %s: %v", staging, target, err)
	}
	klog.FromContext(ctx).Info("Volume published", "options", options)
	return &csi.NodePublishVolumeResponse{}, nil
}

// publishBlock bind-mounts the device onto a file at the target path.
func (s *nodeServer) publishBlock(ctx context.Context, req *csi.NodePublishVolumeRequest, options []string) (*csi.NodePublishVolumeResponse, error) {
	d := s.d
	target := req.GetTargetPath()
	device, err := d.finder.FindDevice(ctx, req.GetVolumeId(), req.GetPublishContext())
	if err != nil {
		return nil, StatusFromError(err, "finding the volume's device")
	}
	if err := d.mounter.MakeDir(filepath.Dir(target)); err != nil {
		return nil, status.Errorf(codes.Internal, "creating the target's directory: %v", err)
	}
	if err := d.mounter.MakeFile(target); err != nil {
		return nil, status.Errorf(codes.Internal, "creating target file %s: %v", target, err)
	}
	if done, err := s.claimTarget(req.GetVolumeId(), target); err != nil {
		return nil, err
	} else if done {
		klog.FromContext(ctx).V(2).Info("Block volume already published")
		return &csi.NodePublishVolumeResponse{}, nil
	}
	if err := d.mounter.Mount(device, target, "", options); err != nil {
		return nil, status.Errorf(codes.Internal, "bind-mounting %s on %s: %v", device, target, err)
	}
	klog.FromContext(ctx).Info("Block volume published", "device", device, "options", options)
	return &csi.NodePublishVolumeResponse{}, nil
}

// NodeUnpublishVolume unmounts and removes the target path; an absent or
// unmounted target is success. A mount this plugin did not make for the
// volume, or a non-empty unmounted path, is left alone (FailedPrecondition).
func (s *nodeServer) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	d := s.d
	if err := require("volume_id", req.GetVolumeId(), "target_path", req.GetTargetPath()); err != nil {
		return nil, err
	}
	if err := d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	volumeID, target := req.GetVolumeId(), req.GetTargetPath()
	if err := d.checkNodePath("target_path", target); err != nil {
		return nil, err
	}
	release, err := d.inflight.acquire("publish", volumeID, target)
	if err != nil {
		return nil, err
	}
	defer release()
	if _, _, err := s.unmountOwned(ctx, "target_path", volumeID, target); err != nil {
		return nil, err
	}
	if err := d.records.unpublished(volumeID, target); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	klog.FromContext(ctx).Info("Volume unpublished")
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

// NodeExpandVolume grows the file system of a mounted volume to the size of
// its (already grown) device. Block volumes need nothing.
func (s *nodeServer) NodeExpandVolume(ctx context.Context, req *csi.NodeExpandVolumeRequest) (*csi.NodeExpandVolumeResponse, error) {
	d := s.d
	if err := require("volume_id", req.GetVolumeId(), "volume_path", req.GetVolumePath()); err != nil {
		return nil, err
	}
	if err := d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	if c := req.GetVolumeCapability(); c != nil {
		if err := d.validateCapability(c); err != nil {
			return nil, err
		}
	}
	if err := validateCapacityRange(req.GetCapacityRange()); err != nil {
		return nil, err
	}
	path := req.GetVolumePath()
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, status.Errorf(codes.NotFound, "volume path %s does not exist", path)
	} else if err != nil {
		return nil, status.Errorf(codes.Internal, "volume path %s: %v", path, err)
	}
	if err := d.checkNodePath("volume_path", path); err != nil {
		return nil, err
	}
	release, err := d.inflight.acquire("stage", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	defer release()

	if isBlock(req.GetVolumeCapability()) || !fi.IsDir() {
		if err := s.requireOwned("volume_path", req.GetVolumeId(), path); err != nil {
			return nil, err
		}
		size, err := d.mounter.GetBlockSizeBytes(path)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "size of block volume at %s: %v", path, err)
		}
		return &csi.NodeExpandVolumeResponse{CapacityBytes: size}, nil
	}
	device, _, err := d.mounter.GetDeviceNameFromMount(path)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "finding the device mounted at %s: %v", path, err)
	}
	if device == "" {
		return nil, status.Errorf(codes.NotFound, "no volume is mounted at %s", path)
	}
	if err := s.requireOwned("volume_path", req.GetVolumeId(), path); err != nil {
		return nil, err
	}
	logger := klog.FromContext(ctx).WithValues("device", device)
	ctx = klog.NewContext(ctx, logger)
	size, err := s.grownDeviceSize(ctx, device, req.GetCapacityRange().GetRequiredBytes())
	if err != nil {
		return nil, err
	}
	need, err := d.mounter.NeedResize(device, path)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "checking whether %s needs a resize: %v", device, err)
	}
	if need {
		if _, err := d.mounter.ResizeFS(device, path); err != nil {
			return nil, status.Errorf(codes.Internal, "resizing the file system on %s: %v", device, err)
		}
		logger.Info("File system resized", "sizeBytes", size)
	}
	return &csi.NodeExpandVolumeResponse{CapacityBytes: size}, nil
}

// sameDevice compares device paths after resolving symlinks.
func sameDevice(a, b string) bool {
	if a == b {
		return true
	}
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	return errA == nil && errB == nil && ra == rb
}
