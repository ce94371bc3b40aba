// Command csi-node-registrar registers a CSI node plugin with the kubelet,
// as node-driver-registrar does (the same flags), for clusters and tests
// that cannot pull that image: it asks the plugin for its name over CSI,
// serves <plugin-registration-path>/<driver>-reg.sock for the kubelet's
// plugin watcher, and exits with an error if the kubelet refuses the plugin.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/registrar"
)

func main() {
	if err := run(); err != nil {
		klog.Background().Error(err, "csi-node-registrar failed")
		klog.Flush()
		os.Exit(1)
	}
}

type flags struct {
	csiAddress       string
	registrationPath string
	pluginDir        string
	httpEndpoint     string
	timeout          time.Duration
}

func run() error {
	klog.InitFlags(nil)
	var f flags
	flag.StringVar(&f.csiAddress, "csi-address", "/run/csi/socket", "the CSI plugin's socket in this container")
	flag.StringVar(&f.registrationPath, "kubelet-registration-path", "", "the CSI plugin's socket as the kubelet sees it (required)")
	flag.StringVar(&f.pluginDir, "plugin-registration-path", "/registration", "the kubelet's plugins_registry directory in this container")
	flag.StringVar(&f.httpEndpoint, "http-endpoint", "", "address for /healthz (200 once the kubelet registered the plugin), e.g. 127.0.0.1:9808")
	flag.DurationVar(&f.timeout, "timeout", time.Second, "timeout of each CSI call")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := klog.FromContext(ctx)

	name, err := driverName(ctx, f.csiAddress, f.timeout)
	if err != nil {
		return err
	}
	reg, err := registrar.New(registrar.Options{DriverName: name, Endpoint: f.registrationPath, Dir: f.pluginDir})
	if err != nil {
		return err
	}
	if f.httpEndpoint != "" {
		srv, err := serveHealth(ctx, f.httpEndpoint, reg)
		if err != nil {
			return err
		}
		defer func() { _ = srv.Close() }() // best effort at exit
	}
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-reg.Notified():
			if ok, msg := reg.Status(); !ok {
				cancel(fmt.Errorf("the kubelet refused plugin %s: %s", name, msg))
			}
		case <-sctx.Done():
		}
	}()
	logger.Info("Registering the CSI plugin with the kubelet", "driver", name, "endpoint", f.registrationPath)
	if err := reg.Serve(sctx); err != nil {
		return err
	}
	if cause := context.Cause(sctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return nil
}

// driverName asks the plugin for its name, waiting for its socket to come
// up as node-driver-registrar does.
func driverName(ctx context.Context, address string, timeout time.Duration) (string, error) {
	conn, err := grpc.NewClient("unix://"+address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }() // only GetPluginInfo is needed
	ids := csi.NewIdentityClient(conn)
	logger := klog.FromContext(ctx)
	for {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		info, err := ids.GetPluginInfo(cctx, &csi.GetPluginInfoRequest{})
		cancel()
		if err == nil && info.GetName() != "" {
			return info.GetName(), nil
		}
		logger.V(2).Info("Waiting for the CSI plugin", "address", address, "err", err)
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the CSI plugin at %s did not answer GetPluginInfo: %w (last error: %v)", address, ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}

// serveHealth answers /healthz with 200 once the kubelet registered the
// plugin and 503 before or after a refusal.
func serveHealth(ctx context.Context, addr string, reg *registrar.Registrar) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if ok, msg := reg.Status(); !ok {
			http.Error(w, "not registered by the kubelet "+msg, http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok")) // the status code is the answer
	})
	lis, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }() // ends with Close
	return srv, nil
}
