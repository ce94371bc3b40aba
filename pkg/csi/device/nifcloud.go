package device

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// NIFCLOUD finds NIFCLOUD additional disks. AttachDisk reports the SCSI
// slot as publish context devicePath "SCSI (0:N)"; the disk appears as
// /dev/disk/by-path/pci-<controller>-scsi-0:0:N:0 once the SCSI hosts are
// rescanned.
type NIFCLOUD struct {
	opts    Options
	slotRe  *regexp.Regexp
	byPathR *regexp.Regexp
}

var (
	_ backend.DeviceFinder    = (*NIFCLOUD)(nil)
	_ backend.DeviceRescanner = (*NIFCLOUD)(nil)
	_ backend.DeviceReleaser  = (*NIFCLOUD)(nil)
)

// NewNIFCLOUD returns a NIFCLOUD finder.
func NewNIFCLOUD(opts Options) *NIFCLOUD {
	return &NIFCLOUD{
		opts:   opts.withDefaults(),
		slotRe: regexp.MustCompile(`SCSI\s\(0:(\d+)\)$`),
		// PCI addresses are hexadecimal (e.g. 0000:0b:00.0).
		byPathR: regexp.MustCompile(`^pci-[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]-scsi-0:0:(\d+):0$`),
	}
}

// FindDevice implements backend.DeviceFinder.
func (f *NIFCLOUD) FindDevice(ctx context.Context, volumeID string, publishContext map[string]string) (string, error) {
	dp := publishContext[backend.PublishContextDevicePath]
	m := f.slotRe.FindStringSubmatch(dp)
	if m == nil {
		return "", fmt.Errorf("publish context %s=%q of volume %s is not of the form \"SCSI (0:N)\": %w",
			backend.PublishContextDevicePath, dp, volumeID, backend.ErrInvalidArgument)
	}
	slot := m[1]
	byPath := f.opts.devPath("disk", "by-path")
	rescan := func(ctx context.Context) {
		rescanSCSIHosts(ctx, f.opts)
		udevTrigger(ctx, f.opts)
	}
	rescan(ctx) // the disk was just attached: make the kernel look at once
	return search(ctx, f.opts, volumeID, rescan, func() (string, error) {
		entries, err := os.ReadDir(byPath)
		if err != nil {
			return "", err
		}
		var matches []string
		for _, e := range entries {
			if mm := f.byPathR.FindStringSubmatch(e.Name()); mm != nil && trimZeros(mm[1]) == trimZeros(slot) {
				matches = append(matches, e.Name())
			}
		}
		if len(matches) == 0 {
			return "", fmt.Errorf("no %s entry for SCSI target %s", byPath, slot)
		}
		slices.Sort(matches)
		var lastErr error
		for _, name := range matches {
			dev, err := resolveBlockDevice(byPath + "/" + name)
			if err == nil {
				return dev, nil
			}
			lastErr = err
		}
		return "", lastErr
	})
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

// RescanDevice implements backend.DeviceRescanner (after ExtendVolumeSize).
func (f *NIFCLOUD) RescanDevice(_ context.Context, devicePath string) error {
	return rescanDevice(f.opts, devicePath)
}

// ReleaseDevice implements backend.DeviceReleaser: the SCSI device is
// deleted from the kernel before the controller detaches the disk, so a
// later attachment to the same slot starts clean.
func (f *NIFCLOUD) ReleaseDevice(_ context.Context, devicePath string) error {
	return writeSysfs(f.opts.blockAttr(devicePath, "device", "delete"), "1")
}
