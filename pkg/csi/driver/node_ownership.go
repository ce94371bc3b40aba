package driver

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
)

// mountOptions returns flags with "ro" last when readOnly, dropping any
// "rw": mount(8) lets the last of rw/ro (and "defaults", which means rw)
// win, so a StorageClass mount flag must not undo a read-only request.
func mountOptions(readOnly bool, flags []string) []string {
	var opts []string
	for _, f := range flags {
		for _, o := range strings.Split(f, ",") {
			if o == "" || (readOnly && o == "rw") {
				continue
			}
			opts = append(opts, o)
		}
	}
	if readOnly {
		opts = append(opts, "ro")
	}
	return opts
}

// publishOptions are the bind-mount options of NodePublishVolume.
func publishOptions(readOnly bool, flags []string) []string {
	return append([]string{"bind"}, mountOptions(readOnly, flags)...)
}

// claimTarget reports whether target is already published for the volume
// (done). A target holding another mount is refused; otherwise the target
// is recorded before it is mounted, so that a crash in between still lets
// NodeUnpublishVolume clean it up.
func (s *nodeServer) claimTarget(volumeID, target string) (done bool, err error) {
	d := s.d
	mounted, err := d.mounter.IsMountPoint(target)
	if err != nil {
		return false, status.Errorf(codes.Internal, "checking target %s: %v", target, err)
	}
	if mounted {
		ok, err := d.owns(volumeID, target)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, status.Errorf(codes.AlreadyExists, "target_path %s already holds a mount that is not volume %s", target, volumeID)
		}
		return true, nil
	}
	if err := d.records.published(volumeID, target); err != nil {
		return false, status.Errorf(codes.Internal, "%v", err)
	}
	return false, nil
}

// unmountOwned unmounts and removes path (a target or staging path) if it
// holds the volume, and returns the device that was mounted there and its
// mount count before. An absent path is success; an unmounted one is
// removed only if empty; a mount that is not the volume's is refused.
func (s *nodeServer) unmountOwned(ctx context.Context, field, volumeID, path string) (device string, refs int, err error) {
	d := s.d
	exists, err := d.mounter.PathExists(path)
	if err != nil {
		return "", 0, status.Errorf(codes.Internal, "%s %s: %v", field, path, err)
	}
	if !exists {
		return "", 0, nil
	}
	if mounted, err := d.mounter.IsMountPoint(path); err == nil && !mounted {
		return "", 0, removeUnmounted(field, path)
	}
	// Mounted, or a corrupted mount that cannot be inspected: either way it
	// must be this volume's before it is unmounted.
	ok, rec, err := d.ownsWithRecord(volumeID, path)
	if err != nil {
		return "", 0, err
	}
	if !ok {
		return "", 0, notOurs(field, path, volumeID)
	}
	device, refs, err = d.mounter.GetDeviceNameFromMount(path)
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Could not find the device mounted here", "path", path, "err", err)
		device, refs = "", 0
	}
	if rec != nil && rec.Staging == path && rec.Device != "" && device != "" && !sameDevice(device, rec.Device) {
		return "", 0, status.Errorf(codes.FailedPrecondition, "%s %s has %s mounted, but volume %s was staged from %s: refusing to touch it",
			field, path, device, volumeID, rec.Device)
	}
	if err := d.mounter.Unmount(path); err != nil {
		return "", 0, status.Errorf(codes.Internal, "unmounting %s: %v", path, err)
	}
	return device, refs, nil
}

// requireOwned refuses a path that the volume was not staged or published
// at (NodeExpandVolume must not grow another volume's file system).
func (s *nodeServer) requireOwned(field, volumeID, path string) error {
	ok, err := s.d.owns(volumeID, path)
	if err != nil {
		return err
	}
	if !ok {
		return notOurs(field, path, volumeID)
	}
	return nil
}
