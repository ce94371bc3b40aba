// Package device finds the block devices of attached cloud volumes on a
// node (backend.DeviceFinder implementations for NIFCLOUD and OpenStack).
//
// All paths are taken below a configurable root ("/" in production; tests
// point it at a temporary directory holding /dev/disk/... symlinks and a
// fake /sys), and every finder resolves to a real block device.
package device

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// Defaults for Options.
const (
	DefaultTimeout = 60 * time.Second
)

// Options configure a finder.
type Options struct {
	// Root is the directory /dev and /sys are found under ("" = "/").
	Root string
	// Timeout bounds the search for one device (default DefaultTimeout);
	// the request's context may end it earlier.
	Timeout time.Duration
	// Backoff paces the rescans (default 200ms growing 1.5x to 3s).
	Backoff backoff.Policy
	// Udev runs "udevadm trigger" for block devices between attempts so
	// that missing /dev/disk links are created (production only).
	Udev bool
}

func (o Options) withDefaults() Options {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Backoff.Initial <= 0 {
		o.Backoff = backoff.Policy{Initial: 200 * time.Millisecond, Max: 3 * time.Second, Factor: 1.5, Jitter: 0.1}
	}
	o.Backoff.Steps = 0 // the timeout bounds the search
	return o
}

func (o Options) devPath(parts ...string) string {
	return filepath.Join(append([]string{o.Root, "dev"}, parts...)...)
}

func (o Options) sysPath(parts ...string) string {
	return filepath.Join(append([]string{o.Root, "sys"}, parts...)...)
}

// search polls attempt until it finds the device, the finder's timeout
// passes or ctx ends. attempt returns the device, or "" and the reason it
// is not there yet.
func search(ctx context.Context, o Options, volumeID string, rescan func(context.Context), attempt func() (string, error)) (string, error) {
	logger := klog.FromContext(ctx)
	tctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var device string
	var last error
	n := 0
	err := o.Backoff.Poll(tctx, func(ctx context.Context) (bool, error) {
		n++
		device, last = attempt()
		if device != "" {
			return true, nil
		}
		logger.V(4).Info("Device not found yet", "volumeID", volumeID, "attempt", n, "reason", last)
		rescan(ctx)
		return false, nil
	})
	switch {
	case err == nil:
		logger.V(2).Info("Found device", "volumeID", volumeID, "device", device, "attempts", n)
		return device, nil
	case ctx.Err() != nil:
		return "", fmt.Errorf("looking for the device of volume %s: %w (last: %v)", volumeID, ctx.Err(), last)
	case last != nil && errors.Is(last, backend.ErrFailedPrecondition):
		return "", fmt.Errorf("device of volume %s not found within %s: %w", volumeID, o.Timeout, last)
	default:
		return "", fmt.Errorf("device of volume %s not found within %s (%v): %w", volumeID, o.Timeout, last, backend.ErrNotFound)
	}
}

// rescanSCSIHosts asks every SCSI host to scan for new devices; hosts
// without a scan file are skipped.
func rescanSCSIHosts(ctx context.Context, o Options) {
	scans, _ := filepath.Glob(o.sysPath("class", "scsi_host", "*", "scan"))
	for _, scan := range scans {
		if err := writeSysfs(scan, "- - -"); err != nil {
			klog.FromContext(ctx).V(4).Info("SCSI host rescan failed", "file", scan, "err", err)
		}
	}
}

// udevTrigger asks udev to (re)process block devices.
func udevTrigger(ctx context.Context, o Options) {
	if !o.Udev {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(tctx, "udevadm", "trigger", "--subsystem-match=block", "--action=change").CombinedOutput()
	if err != nil {
		klog.FromContext(ctx).V(4).Info("udevadm trigger failed", "err", err, "output", string(out))
	}
}

// writeSysfs writes value to an existing sysfs attribute; a missing
// attribute is not an error.
func writeSysfs(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(value); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing %q to %s: %w", value, path, err)
	}
	return f.Close()
}

// resolveBlockDevice follows link and checks that it ends at a block device.
func resolveBlockDevice(link string) (string, error) {
	dev, err := filepath.EvalSymlinks(link)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(dev)
	if err != nil {
		return "", err
	}
	if fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
		return "", fmt.Errorf("%s (from %s) is not a block device", dev, link)
	}
	return dev, nil
}

// blockAttr is /sys/block/<dev>/<attr...> of a device path.
func (o Options) blockAttr(devicePath string, attr ...string) string {
	return o.sysPath(append([]string{"block", filepath.Base(devicePath)}, attr...)...)
}
