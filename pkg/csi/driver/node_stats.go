package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
)

// NodeGetVolumeStats reports bytes and inodes of a mounted volume, or the
// size of a published block volume. A path that does not exist, or has no
// volume mounted on it, is NotFound; node-side problems are detailed by
// NodeGetVolumeHealth.
func (s *nodeServer) NodeGetVolumeStats(ctx context.Context, req *csi.NodeGetVolumeStatsRequest) (*csi.NodeGetVolumeStatsResponse, error) {
	d := s.d
	if err := require("volume_id", req.GetVolumeId(), "volume_path", req.GetVolumePath()); err != nil {
		return nil, err
	}
	if err := d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	path := req.GetVolumePath()
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, status.Errorf(codes.NotFound, "volume path %s does not exist", path)
	} else if err != nil {
		return nil, status.Errorf(codes.Internal, "volume path %s: %v", path, err)
	}
	mounted, err := d.mounter.IsMountPoint(path)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "checking %s: %v", path, err)
	}
	if !mounted {
		return nil, status.Errorf(codes.NotFound, "volume %s is not mounted at %s", req.GetVolumeId(), path)
	}
	if !fi.IsDir() {
		size, err := d.mounter.GetBlockSizeBytes(path)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "size of block volume at %s: %v", path, err)
		}
		return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{{Unit: csi.VolumeUsage_BYTES, Total: size}}}, nil
	}
	st, err := d.mounter.GetStatistics(path)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "file system statistics of %s: %v", path, err)
	}
	klog.FromContext(ctx).V(5).Info("Volume statistics", "stats", st)
	return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{
		{Unit: csi.VolumeUsage_BYTES, Total: st.TotalBytes, Available: st.AvailableBytes, Used: st.UsedBytes},
		{Unit: csi.VolumeUsage_INODES, Total: st.TotalInodes, Available: st.FreeInodes, Used: st.UsedInodes},
	}}, nil
}

// NodeGetVolumeHealth checks the publish and staging paths the CO passes:
// a missing path, a path with nothing mounted, a vanished device or a file
// system that cannot be read is reported INACCESSIBLE. Without paths there
// is nothing to check and the volume is reported without adverse status.
func (s *nodeServer) NodeGetVolumeHealth(ctx context.Context, req *csi.NodeGetVolumeHealthRequest) (*csi.NodeGetVolumeHealthResponse, error) {
	if err := require("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := s.d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	var entries []*csi.VolumeHealth_VolumeHealthEntry
	seen := map[string]bool{}
	add := func(e *csi.VolumeHealth_VolumeHealthEntry) {
		if e == nil {
			return
		}
		key := e.Status.String() + "/" + e.Reason
		if seen[key] {
			for _, prev := range entries {
				if prev.Status == e.Status && prev.Reason == e.Reason {
					prev.Message += "; " + e.Message
				}
			}
			return
		}
		seen[key] = true
		entries = append(entries, e)
	}

	publish, staging := req.GetVolumePublishPath(), req.GetStagingTargetPath()
	blockPublished := false
	if publish != "" {
		fi, err := os.Stat(publish)
		blockPublished = err == nil && !fi.IsDir()
		add(s.checkPath(publish, "publish"))
	}
	if staging != "" && !blockPublished {
		// Block volumes are not mounted at the staging path.
		add(s.checkPath(staging, "staging"))
	}
	if len(entries) > 0 {
		klog.FromContext(ctx).V(2).Info("Volume unhealthy", "conditions", describeHealth(entries))
	}
	return &csi.NodeGetVolumeHealthResponse{VolumeHealth: &csi.VolumeHealth{
		VolumeId:       req.GetVolumeId(),
		HealthStatuses: entries,
	}}, nil
}

func inaccessible(reason, format string, args ...any) *csi.VolumeHealth_VolumeHealthEntry {
	return &csi.VolumeHealth_VolumeHealthEntry{
		Status:  csi.VolumeHealthErrorType_INACCESSIBLE,
		Reason:  reason,
		Message: fmt.Sprintf(format, args...),
	}
}

// checkPath returns the adverse condition of one path, or nil.
func (s *nodeServer) checkPath(path, kind string) *csi.VolumeHealth_VolumeHealthEntry {
	m := s.d.mounter
	exists, err := m.PathExists(path)
	switch {
	case err != nil:
		return inaccessible("MountCorrupted", "%s path %s: %v", kind, path, err)
	case !exists:
		return inaccessible("PathMissing", "%s path %s does not exist", kind, path)
	}
	mounted, err := m.IsMountPoint(path)
	switch {
	case err != nil:
		return inaccessible("MountCorrupted", "%s path %s: %v", kind, path, err)
	case !mounted:
		return inaccessible("NotMounted", "nothing is mounted at %s path %s", kind, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return inaccessible("MountCorrupted", "%s path %s: %v", kind, path, err)
	}
	if !fi.IsDir() {
		// A block device bind-mounted onto a file.
		size, err := m.GetBlockSizeBytes(path)
		if err != nil || size == 0 {
			return inaccessible("DeviceMissing", "the block device published at %s is gone (size %d, err %v)", path, size, err)
		}
		return nil
	}
	device, _, err := m.GetDeviceNameFromMount(path)
	if err == nil && strings.HasPrefix(device, "/dev/") {
		ok, err := m.DeviceExists(device)
		if err != nil || !ok {
			return inaccessible("DeviceMissing", "device %s mounted at %s path %s is gone (err %v)", device, kind, path, err)
		}
	}
	if _, err := m.GetStatistics(path); err != nil {
		return inaccessible("FileSystemError", "cannot read the file system at %s path %s: %v", kind, path, err)
	}
	return nil
}

func describeHealth(entries []*csi.VolumeHealth_VolumeHealthEntry) string {
	parts := make([]string, 0, len(entries))
	for _, e := range entries {
		parts = append(parts, fmt.Sprintf("%s/%s: %s", e.Status, e.Reason, e.Message))
	}
	return strings.Join(parts, "; ")
}
