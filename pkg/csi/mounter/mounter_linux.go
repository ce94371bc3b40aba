//go:build linux

package mounter

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
	mount "k8s.io/mount-utils"
	utilexec "k8s.io/utils/exec"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// Linux is the real mounter. It is safe for concurrent use.
type Linux struct {
	sfm    *mount.SafeFormatAndMount
	resize *mount.ResizeFs
}

var _ backend.Mounter = (*Linux)(nil)

// New returns a mounter that runs the host's mount, mkfs, fsck, blkid and
// resize tools.
func New() *Linux {
	exec := utilexec.New()
	return &Linux{
		sfm:    mount.NewSafeFormatAndMount(mount.New(""), exec),
		resize: mount.NewResizeFs(exec),
	}
}

// requireAbsolute refuses relative paths: mount-utils passes them to
// mount(8), mkfs and umount without "--", so "-V" would be read as an
// option (and succeed without mounting anything).
func requireAbsolute(paths ...string) error {
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("path %q is not absolute", p)
		}
	}
	return nil
}

// FormatAndMount implements backend.Mounter.
func (l *Linux) FormatAndMount(source, target, fsType string, options []string) error {
	if err := requireAbsolute(source, target); err != nil {
		return err
	}
	return l.sfm.FormatAndMount(source, target, fsType, options)
}

// Mount implements backend.Mounter.
func (l *Linux) Mount(source, target, fsType string, options []string) error {
	if err := requireAbsolute(source, target); err != nil {
		return err
	}
	return l.sfm.Mount(source, target, fsType, options)
}

// Unmount implements backend.Mounter: unmount if mounted (bind mounts
// included), then remove the directory or file.
func (l *Linux) Unmount(target string) error {
	if err := requireAbsolute(target); err != nil {
		return err
	}
	return mount.CleanupMountPoint(target, l.sfm.Interface, true)
}

// IsLikelyNotMountPoint implements backend.Mounter.
func (l *Linux) IsLikelyNotMountPoint(path string) (bool, error) {
	return l.sfm.IsLikelyNotMountPoint(path)
}

// IsMountPoint implements backend.Mounter.
func (l *Linux) IsMountPoint(path string) (bool, error) {
	return l.sfm.IsMountPoint(path)
}

// GetDeviceNameFromMount implements backend.Mounter.
func (l *Linux) GetDeviceNameFromMount(mountPath string) (string, int, error) {
	return mount.GetDeviceNameFromMount(l.sfm.Interface, mountPath)
}

// GetMountRefs implements backend.Mounter.
func (l *Linux) GetMountRefs(path string) ([]string, error) {
	return l.sfm.GetMountRefs(path)
}

// PathExists implements backend.Mounter.
func (l *Linux) PathExists(path string) (bool, error) {
	return mount.PathExists(path)
}

// MakeDir implements backend.Mounter.
func (l *Linux) MakeDir(path string) error {
	if err := os.MkdirAll(path, 0o750); err != nil {
		return fmt.Errorf("creating directory %s: %w", path, err)
	}
	return nil
}

// MakeFile implements backend.Mounter.
func (l *Linux) MakeFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("creating directory of %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o640)
	if err != nil {
		return fmt.Errorf("creating file %s: %w", path, err)
	}
	return f.Close()
}

// NeedResize implements backend.Mounter.
func (l *Linux) NeedResize(device, mountPath string) (bool, error) {
	return l.resize.NeedResize(device, mountPath)
}

// ResizeFS implements backend.Mounter.
func (l *Linux) ResizeFS(device, mountPath string) (bool, error) {
	return l.resize.Resize(device, mountPath)
}

// GetStatistics implements backend.Mounter with statfs(2).
func (l *Linux) GetStatistics(path string) (backend.VolumeStatistics, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return backend.VolumeStatistics{}, &fs.PathError{Op: "statfs", Path: path, Err: err}
	}
	bsize := int64(st.Bsize) //nolint:unconvert // int32 on some architectures
	return backend.VolumeStatistics{
		TotalBytes:     int64(st.Blocks) * bsize,
		AvailableBytes: int64(st.Bavail) * bsize,
		UsedBytes:      int64(st.Blocks-st.Bfree) * bsize,
		TotalInodes:    int64(st.Files),
		FreeInodes:     int64(st.Ffree),
		UsedInodes:     int64(st.Files - st.Ffree),
	}, nil
}

// GetBlockSizeBytes implements backend.Mounter with the BLKGETSIZE64
// ioctl (a regular file reports its length).
func (l *Linux) GetBlockSizeBytes(devicePath string) (int64, error) {
	f, err := os.Open(devicePath)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Mode().IsRegular() {
		return fi.Size(), nil
	}
	if fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
		return 0, fmt.Errorf("%s is not a block device", devicePath)
	}
	var size uint64
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size))); errno != 0 {
		return 0, &fs.PathError{Op: "ioctl BLKGETSIZE64", Path: devicePath, Err: errno}
	}
	return int64(size), nil
}

// DeviceExists implements backend.Mounter: the path must be a block device
// that opens and reports a non-zero size (a detached loop device or a
// removed disk does not).
func (l *Linux) DeviceExists(devicePath string) (bool, error) {
	fi, err := os.Stat(devicePath)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
		return false, nil
	}
	size, err := l.GetBlockSizeBytes(devicePath)
	if err != nil {
		// ENXIO / ENODEV: the node exists but the device is gone.
		return false, nil //nolint:nilerr // a device that cannot be opened is not present
	}
	return size > 0, nil
}
