package driver

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// defaultRescanWait bounds how long NodeExpandVolume waits, with
// rescan-on-resize, for the kernel to report the new size after the
// rescan (virtio-blk applies a resize asynchronously).
const defaultRescanWait = 10 * time.Second

// rescanPollInterval paces the size checks of that wait.
const rescanPollInterval = 100 * time.Millisecond

// grownDeviceSize returns the size of device once it can hold want bytes
// (0: no requirement), the size the file system is then grown to.
//
// By default a finder that can rescan is asked to, and a failed rescan is
// only logged. With rescan-on-resize (as cinder-csi) a device already big
// enough is not rescanned, a failed rescan fails the call, and the new
// size is waited for.
func (s *nodeServer) grownDeviceSize(ctx context.Context, device string, want int64) (int64, error) {
	d := s.d
	if d.rescanner == nil {
		if r, ok := d.finder.(backend.DeviceRescanner); ok {
			if err := r.RescanDevice(ctx, device); err != nil {
				klog.FromContext(ctx).Error(err, "Rescanning the device failed; resizing with the size the kernel knows")
			}
		}
		size, err := s.deviceSize(device)
		if err == nil && want > 0 && size < want {
			err = status.Errorf(codes.Internal, "device %s is %d bytes, smaller than the requested %d: the kernel has not seen the expansion yet", device, size, want)
		}
		return size, err
	}

	size, err := s.deviceSize(device)
	if err != nil || (want > 0 && size >= want) {
		return size, err
	}
	if err := d.rescanner.RescanDevice(ctx, device); err != nil {
		return 0, status.Errorf(codes.Internal, "rescanning %s ([BlockStorage] rescan-on-resize): %v", device, err)
	}
	wctx, cancel := context.WithTimeout(ctx, d.rescanWait)
	defer cancel()
	tick := time.NewTicker(rescanPollInterval)
	defer tick.Stop()
	for {
		if size, err = s.deviceSize(device); err != nil || want <= 0 || size >= want {
			klog.FromContext(ctx).V(2).Info("Device rescanned", "sizeBytes", size, "requiredBytes", want)
			return size, err
		}
		select {
		case <-wctx.Done():
			return 0, status.Errorf(codes.Internal, "device %s is %d bytes after a rescan, smaller than the requested %d ([BlockStorage] rescan-on-resize): the kernel does not see the expansion (yet)", device, size, want)
		case <-tick.C:
		}
	}
}

// deviceSize is the device's size in bytes as the kernel reports it.
func (s *nodeServer) deviceSize(device string) (int64, error) {
	size, err := s.d.mounter.GetBlockSizeBytes(device)
	if err != nil {
		return 0, status.Errorf(codes.Internal, "size of %s: %v", device, err)
	}
	return size, nil
}
