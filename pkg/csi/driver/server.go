package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"k8s.io/klog/v2"
)

// parseEndpoint splits "unix:///path" or "tcp://host:port" into a network
// and an address.
func parseEndpoint(endpoint string) (network, address string, err error) {
	switch {
	case strings.HasPrefix(endpoint, "unix://"):
		network, address = "unix", strings.TrimPrefix(endpoint, "unix://")
	case strings.HasPrefix(endpoint, "unix:"):
		network, address = "unix", strings.TrimPrefix(endpoint, "unix:")
	case strings.HasPrefix(endpoint, "tcp://"):
		network, address = "tcp", strings.TrimPrefix(endpoint, "tcp://")
	default:
		return "", "", fmt.Errorf("endpoint %q: want unix:///path or tcp://host:port", endpoint)
	}
	if address == "" {
		return "", "", fmt.Errorf("endpoint %q has no address", endpoint)
	}
	if network == "unix" && !filepath.IsAbs(address) {
		return "", "", fmt.Errorf("endpoint %q: the socket path must be absolute", endpoint)
	}
	return network, address, nil
}

// listen opens the endpoint, replacing a stale unix socket.
func listen(endpoint string) (net.Listener, error) {
	network, address, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		if err := os.MkdirAll(filepath.Dir(address), 0o750); err != nil {
			return nil, fmt.Errorf("socket directory: %w", err)
		}
		if fi, err := os.Lstat(address); err == nil {
			if fi.Mode()&os.ModeSocket == 0 {
				return nil, fmt.Errorf("endpoint %s exists and is not a socket", address)
			}
			if err := os.Remove(address); err != nil {
				return nil, fmt.Errorf("removing stale socket: %w", err)
			}
		}
	}
	lis, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", endpoint, err)
	}
	return lis, nil
}

// Run listens on the endpoint and serves until ctx ends; see Serve.
func (d *Driver) Run(ctx context.Context) error {
	lis, err := listen(d.endpoint)
	if err != nil {
		return err
	}
	return d.Serve(ctx, lis)
}

// Serve serves the driver's services on lis until ctx ends, then stops
// gracefully, waiting at most the shutdown timeout for running calls
// before stopping hard. Signal handling belongs to the caller: cancel ctx
// on SIGTERM. The logger of ctx (klog.FromContext) is the base of every
// request's logger. It returns nil after a shutdown requested through ctx.
func (d *Driver) Serve(ctx context.Context, lis net.Listener) error {
	logger := klog.FromContext(ctx).WithValues("driver", d.name)
	d.logger.Store(&logger)

	srv := grpc.NewServer(grpc.UnaryInterceptor(d.intercept))
	csi.RegisterIdentityServer(srv, d.identityServer)
	if d.controllerServer != nil {
		csi.RegisterControllerServer(srv, d.controllerServer)
	}
	if d.nodeServer != nil {
		csi.RegisterNodeServer(srv, d.nodeServer)
	}

	// The caller's logger carries the mode (cmd/csi-driver adds it to every line).
	logger.Info("Serving CSI", "endpoint", lis.Addr().String(), "version", d.version, "profile", d.profile.Name())
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(lis) }()
	defer removeSocket(lis)

	select {
	case err := <-serveErr:
		if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("serving CSI: %w", err)
		}
		return nil
	case <-ctx.Done():
	}

	logger.Info("Stopping CSI server", "timeout", d.shutdownTimeout)
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(d.shutdownTimeout)
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		logger.Info("Graceful stop timed out, stopping hard")
		srv.Stop()
		<-stopped
	}
	<-serveErr
	logger.Info("CSI server stopped")
	return nil
}

func removeSocket(lis net.Listener) {
	if addr, ok := lis.Addr().(*net.UnixAddr); ok && addr.Name != "" {
		// The listener normally unlinks it on Close; this covers hard stops.
		_ = os.Remove(addr.Name)
	}
}
