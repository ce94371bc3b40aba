// Package registrar registers a CSI node plugin with the kubelet through
// the kubelet's plugin watcher (pluginregistration/v1): it serves
// <dir>/<driver>-reg.sock, tells the kubelet where the plugin's CSI socket
// is, and reports whether the kubelet accepted it. It does the job of
// node-driver-registrar, which the Go module proxy does not serve, so that
// tests and the demo run a registration the kubelet really performs.
package registrar

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"google.golang.org/grpc"
	"k8s.io/klog/v2"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// Options configure a Registrar.
type Options struct {
	// DriverName is the CSI driver name (from GetPluginInfo).
	DriverName string
	// Endpoint is the plugin's CSI socket path as the kubelet sees it
	// (node-driver-registrar's --kubelet-registration-path).
	Endpoint string
	// Dir is the kubelet's plugins_registry directory (or where it is
	// mounted).
	Dir string
}

// Registrar serves the registration socket. Status reports what the
// kubelet last said.
type Registrar struct {
	registerapi.UnimplementedRegistrationServer
	opts Options

	mu         sync.Mutex
	registered bool
	lastErr    string
	// notified is closed by the first NotifyRegistrationStatus.
	notified chan struct{}
	once     sync.Once
}

// New validates opts.
func New(opts Options) (*Registrar, error) {
	var errs []error
	if opts.DriverName == "" {
		errs = append(errs, errors.New("driver name is required"))
	}
	if !filepath.IsAbs(opts.Endpoint) {
		errs = append(errs, fmt.Errorf("kubelet registration path %q must be an absolute socket path", opts.Endpoint))
	}
	if opts.Dir == "" {
		errs = append(errs, errors.New("plugin registration directory is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Registrar{opts: opts, notified: make(chan struct{})}, nil
}

// SocketPath is where the kubelet's plugin watcher finds the registrar.
func (r *Registrar) SocketPath() string {
	return filepath.Join(r.opts.Dir, r.opts.DriverName+"-reg.sock")
}

// GetInfo implements registerapi.RegistrationServer.
func (r *Registrar) GetInfo(ctx context.Context, _ *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	klog.FromContext(ctx).V(2).Info("Kubelet asked for the plugin's registration info")
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              r.opts.DriverName,
		Endpoint:          r.opts.Endpoint,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

// NotifyRegistrationStatus implements registerapi.RegistrationServer.
func (r *Registrar) NotifyRegistrationStatus(ctx context.Context, st *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	r.mu.Lock()
	r.registered, r.lastErr = st.GetPluginRegistered(), st.GetError()
	r.mu.Unlock()
	r.once.Do(func() { close(r.notified) })
	logger := klog.FromContext(ctx)
	if st.GetPluginRegistered() {
		logger.Info("Kubelet registered the plugin", "driver", r.opts.DriverName)
	} else {
		logger.Error(errors.New(st.GetError()), "Kubelet refused the plugin", "driver", r.opts.DriverName)
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}

// Status reports whether the kubelet registered the plugin, and its error
// if it refused it ("" before it said anything).
func (r *Registrar) Status() (registered bool, kubeletError string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.registered, r.lastErr
}

// Notified is closed once the kubelet has reported a registration status.
func (r *Registrar) Notified() <-chan struct{} { return r.notified }

// Serve listens on SocketPath (replacing a stale socket from an earlier
// run) until ctx ends, then removes the socket so that the kubelet
// unregisters the plugin.
func (r *Registrar) Serve(ctx context.Context) error {
	path := r.SocketPath()
	if err := os.MkdirAll(r.opts.Dir, 0o750); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing stale registration socket: %w", err)
	}
	lis, err := (&net.ListenConfig{}).Listen(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", path, err)
	}
	srv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(srv, r)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	klog.FromContext(ctx).Info("Serving the kubelet registration socket", "socket", path, "endpoint", r.opts.Endpoint)
	select {
	case <-ctx.Done():
		srv.GracefulStop()
		<-done
		err = nil
	case err = <-done:
	}
	if rmErr := os.Remove(path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		return errors.Join(err, rmErr)
	}
	return err
}
