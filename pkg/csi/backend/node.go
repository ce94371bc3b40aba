package backend

import "context"

// PublishContextDevicePath is the publish-context key under which
// Disks.AttachDisk reports where the disk appeared on the node, in the
// cloud's own notation (NIFCLOUD: "SCSI (0:N)"; OpenStack: /dev/vdX).
const PublishContextDevicePath = "devicePath"

// DeviceFinder locates the block device of an attached volume on this node.
type DeviceFinder interface {
	// FindDevice returns the path of the volume's block device (e.g.
	// /dev/sdb), resolving symlinks. It may trigger rescans and polls
	// until the device appears, the finder's timeout passes (an error
	// wrapping ErrNotFound) or ctx ends (ctx.Err()). A device that belongs
	// to another volume is never returned.
	FindDevice(ctx context.Context, volumeID string, publishContext map[string]string) (string, error)
}

// DeviceRescanner is optionally implemented by a DeviceFinder whose devices
// must be told to re-read their size after the cloud grew the disk.
type DeviceRescanner interface {
	// RescanDevice makes the kernel re-read the size of device.
	RescanDevice(ctx context.Context, devicePath string) error
}

// DeviceReleaser is optionally implemented by a DeviceFinder whose devices
// should be removed from the kernel once unstaged, before the cloud detaches
// them (e.g. SCSI devices, so that a slot can be reused cleanly).
type DeviceReleaser interface {
	// ReleaseDevice tells the kernel the device is going away.
	ReleaseDevice(ctx context.Context, devicePath string) error
}

// NodeIdentity tells the node plugin who and where it is.
type NodeIdentity interface {
	// NodeID is the node's ID as the controller knows it (the instance ID
	// passed to Disks.AttachDisk).
	NodeID(ctx context.Context) (string, error)
	// Zone is the node's zone ("" if the cloud has none).
	Zone(ctx context.Context) (string, error)
}

// StaticIdentity is a NodeIdentity with fixed values, for configuration by
// flags or environment variables.
type StaticIdentity struct {
	ID       string
	ZoneName string
}

// NodeID implements NodeIdentity.
func (s StaticIdentity) NodeID(context.Context) (string, error) { return s.ID, nil }

// Zone implements NodeIdentity.
func (s StaticIdentity) Zone(context.Context) (string, error) { return s.ZoneName, nil }

// VolumeStatistics is file system usage as returned by Mounter.GetStatistics.
type VolumeStatistics struct {
	TotalBytes     int64
	AvailableBytes int64
	UsedBytes      int64
	TotalInodes    int64
	FreeInodes     int64
	UsedInodes     int64
}

// Mounter is the node's mount and file system toolbox (pkg/csi/mounter
// implements it over k8s.io/mount-utils). Paths are absolute.
type Mounter interface {
	// FormatAndMount formats source with fsType if it has no file system
	// and mounts it on target with options.
	FormatAndMount(source, target, fsType string, options []string) error
	// Mount mounts source on target; options may contain "bind" and "ro"
	// (a read-only bind mount is remounted read-only as needed).
	Mount(source, target, fsType string, options []string) error
	// Unmount unmounts target if it is mounted and removes it (directory
	// or file). A missing target succeeds.
	Unmount(target string) error
	// IsLikelyNotMountPoint is the fast check (misses bind mounts of the
	// same file system). It returns an error satisfying os.IsNotExist for a
	// missing path.
	IsLikelyNotMountPoint(path string) (bool, error)
	// IsMountPoint is the exact check (detects bind mounts).
	IsMountPoint(path string) (bool, error)
	// GetDeviceNameFromMount returns the device mounted at mountPath and
	// the number of its mounts ("" and 0 if nothing is mounted there).
	GetDeviceNameFromMount(mountPath string) (device string, refCount int, err error)
	// GetMountRefs returns the other mount points of what is mounted at
	// path.
	GetMountRefs(path string) ([]string, error)
	// PathExists reports whether path exists (true for a corrupted mount).
	PathExists(path string) (bool, error)
	// MakeDir creates a directory and its parents.
	MakeDir(path string) error
	// MakeFile creates an empty file (and its parent directories) if it
	// does not exist.
	MakeFile(path string) error
	// NeedResize reports whether the file system on device (mounted at
	// mountPath) is smaller than the device.
	NeedResize(device, mountPath string) (bool, error)
	// ResizeFS grows the file system on device (mounted at mountPath) to
	// the device's size.
	ResizeFS(device, mountPath string) (bool, error)
	// GetStatistics returns usage of the file system mounted at path.
	GetStatistics(path string) (VolumeStatistics, error)
	// GetBlockSizeBytes returns the size of a block device (or of a file
	// that a block device is bind-mounted on).
	GetBlockSizeBytes(devicePath string) (int64, error)
	// DeviceExists reports whether devicePath is a block device that is
	// present (non-zero size).
	DeviceExists(devicePath string) (bool, error)
}
