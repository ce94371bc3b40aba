package device

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// loopMajor is the block major number of loop devices.
const loopMajor = 7

// rescanDevice makes the kernel re-read the size of a grown disk: SCSI
// (virtio-scsi, VMware) disks through /sys/block/<dev>/device/rescan, loop
// devices (the simulator's disks) with LOOP_SET_CAPACITY, as "losetup -c"
// does. virtio-blk has neither and updates itself, so nothing is done.
func rescanDevice(o Options, devicePath string) error {
	attr := o.blockAttr(devicePath, "device", "rescan")
	if _, err := os.Stat(attr); err == nil {
		return writeSysfs(attr, "1")
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rescanning %s: %w", devicePath, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(devicePath, &st); err != nil {
		return fmt.Errorf("rescanning %s: %w", devicePath, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK || unix.Major(st.Rdev) != loopMajor {
		return nil
	}
	return setLoopCapacity(devicePath)
}

// setLoopCapacity tells a loop device its backing file changed size.
func setLoopCapacity(devicePath string) error {
	f, err := os.Open(devicePath)
	if err != nil {
		return fmt.Errorf("rescanning loop device %s: %w", devicePath, err)
	}
	defer func() { _ = f.Close() }()
	if err := unix.IoctlSetInt(int(f.Fd()), unix.LOOP_SET_CAPACITY, 0); err != nil {
		return fmt.Errorf("rescanning loop device %s (LOOP_SET_CAPACITY): %w", devicePath, err)
	}
	return nil
}
