package device

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// Cinder finds OpenStack Cinder volumes by the links udev creates in
// /dev/disk/by-id from the disk serial: virtio-<id[:20]> (virtio-blk
// truncates serials to 20 characters), scsi-0QEMU_QEMU_HARDDISK_<id> for
// virtio-scsi and wwn-0x<id without dashes>. When the kernel exposes the
// serial (/sys/block/<dev>/serial) it must name the volume: a stale link
// to another volume's disk is never returned.
type Cinder struct {
	opts Options
}

var (
	_ backend.DeviceFinder    = (*Cinder)(nil)
	_ backend.DeviceRescanner = (*Cinder)(nil)
)

// NewCinder returns a Cinder finder.
func NewCinder(opts Options) *Cinder {
	return &Cinder{opts: opts.withDefaults()}
}

// cinderLinks are the by-id names a volume may appear under.
func cinderLinks(volumeID string) []string {
	short := volumeID
	if len(short) > 20 {
		short = short[:20]
	}
	names := []string{
		"virtio-" + short,
		"virtio-" + volumeID,
		"scsi-0QEMU_QEMU_HARDDISK_" + short,
		"scsi-0QEMU_QEMU_HARDDISK_" + volumeID,
		"wwn-0x" + strings.ReplaceAll(volumeID, "-", ""),
	}
	out := names[:0]
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// FindDevice implements backend.DeviceFinder. The publish context is not
// needed: Nova's device name is only a hint.
func (f *Cinder) FindDevice(ctx context.Context, volumeID string, _ map[string]string) (string, error) {
	if err := f.ValidateVolumeID(volumeID); err != nil {
		return "", err
	}
	return f.find(ctx, volumeID)
}

// find searches the by-id links of volumeID, which must be valid: it is
// joined into paths below /dev unchecked.
func (f *Cinder) find(ctx context.Context, volumeID string) (string, error) {
	rescan := func(ctx context.Context) {
		rescanSCSIHosts(ctx, f.opts)
		udevTrigger(ctx, f.opts)
	}
	return search(ctx, f.opts, volumeID, rescan, func() (string, error) {
		var errs []error
		for _, name := range cinderLinks(volumeID) {
			link := f.opts.devPath("disk", "by-id", name)
			if _, err := os.Lstat(link); err != nil {
				continue
			}
			dev, err := resolveBlockDevice(link)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if err := f.verifySerial(dev, volumeID); err != nil {
				errs = append(errs, err)
				continue
			}
			return dev, nil
		}
		if len(errs) == 0 {
			return "", fmt.Errorf("none of %v exists", cinderLinks(volumeID))
		}
		return "", errors.Join(errs...)
	})
}

// verifySerial checks /sys/block/<dev>/serial against the volume ID when
// the kernel exposes it.
func (f *Cinder) verifySerial(device, volumeID string) error {
	b, err := os.ReadFile(f.opts.blockAttr(device, "serial"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the serial of %s: %w", device, err)
	}
	serial := strings.TrimSpace(string(b))
	if serial == "" || serialMatches(serial, volumeID) {
		return nil
	}
	return fmt.Errorf("%s has serial %q, which is not volume %s (stale link?): %w", device, serial, volumeID, backend.ErrFailedPrecondition)
}

// serialMatches accepts the full ID, its 20-character virtio truncation
// and the dash-less form.
func serialMatches(serial, volumeID string) bool {
	if serial == volumeID || serial == strings.ReplaceAll(volumeID, "-", "") {
		return true
	}
	return len(serial) == 20 && strings.HasPrefix(volumeID, serial)
}

// RescanDevice implements backend.DeviceRescanner (virtio-scsi disks and
// loop devices need it after an extend; virtio-blk has no rescan
// attribute and updates itself).
func (f *Cinder) RescanDevice(_ context.Context, devicePath string) error {
	return rescanDevice(f.opts, devicePath)
}

// ValidateVolumeID implements backend.VolumeIDValidator. The ID is joined
// into a /dev/disk/by-id path, so only [A-Za-z0-9_-] is accepted ("x/../../
// ../dev/loop0" would name an arbitrary device).
func (f *Cinder) ValidateVolumeID(id string) error {
	return backend.CheckPathSafeID("volume_id", id, "Cinder volume ID", backend.MaxPathSafeIDLen)
}
