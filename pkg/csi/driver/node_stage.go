package driver

import (
	"context"
	"errors"
	"os"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// NodeStageVolume finds the volume's device and, for mount volumes, formats
// it if it is empty and mounts it on the staging path. For block volumes it
// only checks that the device is there.
func (s *nodeServer) NodeStageVolume(ctx context.Context, req *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	d := s.d
	if err := require("volume_id", req.GetVolumeId(), "staging_target_path", req.GetStagingTargetPath()); err != nil {
		return nil, err
	}
	if err := d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	staging := req.GetStagingTargetPath()
	if err := d.checkNodePath("staging_target_path", staging); err != nil {
		return nil, err
	}
	c := req.GetVolumeCapability()
	if err := d.validateCapability(c); err != nil {
		return nil, err
	}
	release, err := d.inflight.acquire("stage", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	defer release()
	logger := klog.FromContext(ctx)

	device, err := d.finder.FindDevice(ctx, req.GetVolumeId(), req.GetPublishContext())
	if err != nil {
		return nil, StatusFromError(err, "finding the volume's device")
	}
	logger = logger.WithValues("device", device)
	// Recorded before anything is mounted: unstage may follow a crash.
	record := func() error {
		if err := d.records.staged(req.GetVolumeId(), staging, device); err != nil {
			return status.Errorf(codes.Internal, "%v", err)
		}
		return nil
	}
	if isBlock(c) {
		ok, err := d.mounter.DeviceExists(device)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "checking device %s: %v", device, err)
		}
		if !ok {
			return nil, status.Errorf(codes.NotFound, "device %s of the volume is not present", device)
		}
		if err := record(); err != nil {
			return nil, err
		}
		logger.V(2).Info("Block volume staged")
		return &csi.NodeStageVolumeResponse{}, nil
	}

	fsType := fsTypeOf(c)
	flags := c.GetMount().GetMountFlags()
	if fsType == "xfs" {
		// Clones and restored snapshots share the XFS UUID of their source.
		flags = append(append([]string(nil), flags...), "nouuid")
	}
	options := mountOptions(isReadOnlyMode(c), flags)

	notMounted, err := d.mounter.IsLikelyNotMountPoint(staging)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := d.mounter.MakeDir(staging); err != nil {
			return nil, status.Errorf(codes.Internal, "creating staging path %s: %v", staging, err)
		}
		notMounted = true
	case err != nil:
		return nil, status.Errorf(codes.Internal, "checking staging path %s: %v", staging, err)
	}
	if !notMounted {
		mounted, _, err := d.mounter.GetDeviceNameFromMount(staging)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "finding the device mounted at %s: %v", staging, err)
		}
		if !sameDevice(mounted, device) {
			return nil, status.Errorf(codes.AlreadyExists, "staging path %s already has %s mounted, not %s", staging, mounted, device)
		}
		if err := record(); err != nil {
			return nil, err
		}
		logger.V(2).Info("Volume already staged")
		return &csi.NodeStageVolumeResponse{}, nil
	}

	if err := record(); err != nil {
		return nil, err
	}
	if err := d.mounter.FormatAndMount(device, staging, fsType, options); err != nil {
		return nil, status.Errorf(codes.Internal, "formatting and mounting %s (%s) on %s: %v", device, fsType, staging, err)
	}
	logger.Info("Volume staged", "fsType", fsType, "options", options)

	if req.GetVolumeContext()[VolumeContextResizeRequired] == "true" && !isReadOnlyMode(c) {
		// Restored or cloned onto a larger disk: grow the file system.
		need, err := d.mounter.NeedResize(device, staging)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "checking whether %s needs a resize: %v", device, err)
		}
		if need {
			if _, err := d.mounter.ResizeFS(device, staging); err != nil {
				return nil, status.Errorf(codes.Internal, "resizing the file system on %s: %v", device, err)
			}
			logger.Info("File system grown to the disk size")
		}
	}
	return &csi.NodeStageVolumeResponse{}, nil
}

// NodeUnstageVolume unmounts and removes the staging path; an absent or
// unmounted path is success, a mount this plugin did not stage for the
// volume is refused. Finders that implement backend.DeviceReleaser then
// release the device.
func (s *nodeServer) NodeUnstageVolume(ctx context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	d := s.d
	if err := require("volume_id", req.GetVolumeId(), "staging_target_path", req.GetStagingTargetPath()); err != nil {
		return nil, err
	}
	if err := d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	volumeID, staging := req.GetVolumeId(), req.GetStagingTargetPath()
	if err := d.checkNodePath("staging_target_path", staging); err != nil {
		return nil, err
	}
	release, err := d.inflight.acquire("stage", volumeID)
	if err != nil {
		return nil, err
	}
	defer release()
	logger := klog.FromContext(ctx)

	device, refs, err := s.unmountOwned(ctx, "staging_target_path", volumeID, staging)
	if err != nil {
		return nil, err
	}
	if err := d.records.unstaged(volumeID); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	logger.Info("Volume unstaged", "device", device)

	if r, ok := d.finder.(backend.DeviceReleaser); ok && device != "" && refs <= 1 {
		if err := r.ReleaseDevice(ctx, device); err != nil {
			// The detach still works; the kernel notices the device going.
			logger.Error(err, "Releasing the device failed", "device", device)
		}
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}
