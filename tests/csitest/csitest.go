// Package csitest serves kumo's CSI driver in-process for the test
// harnesses (benchmarks, chaos, bad input) that talk to it over gRPC.
package csitest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/driver"
)

// ServeController serves a driver built from opts (Mode and Endpoint are
// set here: controller mode on a unix socket in a fresh temporary
// directory) and dials it. stop closes the connection, stops the driver
// and removes the directory.
func ServeController(ctx context.Context, opts driver.Options) (conn *grpc.ClientConn, stop func(), err error) {
	dir, err := os.MkdirTemp("", "kumo-csi-")
	if err != nil {
		return nil, nil, err
	}
	sock := filepath.Join(dir, "csi.sock")
	opts.Mode, opts.Endpoint = driver.ModeController, "unix://"+sock
	d, err := driver.New(opts)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	lis, err := net.Listen("unix", sock)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, lis) }()
	cc, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	stop = func() {
		if cc != nil {
			_ = cc.Close()
		}
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			klog.FromContext(ctx).Error(err, "CSI driver stopped with an error")
		}
		_ = os.RemoveAll(dir)
	}
	if err != nil {
		stop()
		return nil, nil, err
	}
	return cc, stop, nil
}

// MountCapability is a valid single-node-writer ext4 mount capability.
func MountCapability() *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "ext4"}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
}
