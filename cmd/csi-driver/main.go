// Command csi-driver is kumo's CSI block-storage plugin for NIFCLOUD
// additional storage (--cloud=nifcloud) and OpenStack Cinder
// (--cloud=openstack). One binary serves the controller Deployment
// (--mode=controller), the node DaemonSet (--mode=node) or both (all).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/cloudmetrics"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/logflags"
	"github.com/kumo-project/kumo/pkg/version"
)

// flags are the command-line options.
type flags struct {
	endpoint       string
	cloud          string
	cloudConfig    string
	mode           string
	driverName     string
	httpEndpoint   string
	httpTLSCert    string
	httpTLSKey     string
	deviceRoot     string
	maxVolumes     int64
	nodeID         string
	zone           string
	clusterID      string
	metadataURL    string
	configDriveDir string
	kubeconfig     string
	kubeletRootDir string
	withTopology   bool
	nodeName       string
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		klog.ErrorS(err, "csi-driver failed")
		klog.Flush()
		os.Exit(1)
	}
}

func run(args []string) error {
	var f flags
	fs := flag.NewFlagSet("csi-driver", flag.ContinueOnError)
	logs := logflags.Add(fs)
	fs.StringVar(&f.endpoint, "endpoint", "unix:///csi/csi.sock", "CSI endpoint: unix:///path or tcp://host:port")
	fs.StringVar(&f.cloud, "cloud", "", "cloud: nifcloud or openstack (required)")
	fs.StringVar(&f.cloudConfig, "cloud-config", "", "cloud configuration file (OpenStack cloud.conf; NIFCLOUD [Global] INI, else NIFCLOUD_* env)")
	fs.StringVar(&f.mode, "mode", "all", "services to serve: controller, node or all")
	fs.StringVar(&f.driverName, "driver-name", "", "CSI driver name (default additional-storage.csi.nifcloud.com / cinder.csi.openstack.org)")
	fs.StringVar(&f.httpEndpoint, "http-endpoint", "", "address for /metrics and /healthz, e.g. 127.0.0.1:8080 or $(POD_IP):8080 (empty: disabled)")
	fs.StringVar(&f.httpTLSCert, "http-tls-cert-file", "", "serve --http-endpoint over HTTPS with this PEM certificate (with --http-tls-key-file)")
	fs.StringVar(&f.httpTLSKey, "http-tls-key-file", "", "PEM private key of --http-tls-cert-file")
	fs.StringVar(&f.deviceRoot, "device-root", "/", "root under which /dev and /sys are searched (tests)")
	fs.Int64Var(&f.maxVolumes, "max-volumes-per-node", 0, "volumes attachable per node (0: the cloud's default)")
	fs.StringVar(&f.nodeID, "node-id", "", "node ID override (default: from metadata / NODE_NAME)")
	fs.StringVar(&f.zone, "zone", "", "zone override for the node")
	fs.StringVar(&f.clusterID, "cluster", "", "cluster ID recorded on created volumes")
	fs.StringVar(&f.metadataURL, "metadata-url", "", "OpenStack metadata service base URL override")
	fs.StringVar(&f.configDriveDir, "config-drive-dir", "", "OpenStack config drive directory (already mounted)")
	fs.StringVar(&f.kubeletRootDir, "kubelet-root-dir", driver.DefaultKubeletRootDir, "the kubelet's --root-dir: node paths outside it are refused")
	fs.BoolVar(&f.withTopology, "with-topology", true, "report zones as CSI topology (false: volumes and nodes carry no topology, as cinder-csi's --with-topology=false)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig for reading the node's zone label and removing its startup taint (default: in-cluster)")
	fs.StringVar(&f.nodeName, "node-name", "", "this node's Kubernetes name, whose <driver>/agent-not-ready taint is removed once the driver is registered (default: NODE_NAME)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := logs.Apply(fs); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := klog.FromContext(ctx).WithValues("cloud", f.cloud, "mode", f.mode)
	ctx = klog.NewContext(ctx, logger)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rec := cloudmetrics.New()
	if err := rec.Register(reg); err != nil {
		return err
	}

	opts := driver.Options{
		DriverName:        f.driverName,
		Version:           version.Version,
		Mode:              driver.Mode(f.mode),
		Endpoint:          f.endpoint,
		MaxVolumesPerNode: f.maxVolumes,
		KubeletRootDir:    f.kubeletRootDir,
		WithoutTopology:   !f.withTopology,
		Registerer:        reg,
	}
	var err error
	switch f.cloud {
	case "nifcloud":
		err = setupNIFCLOUD(ctx, f, rec, &opts)
	case "openstack":
		err = setupOpenStack(ctx, f, rec, &opts)
	default:
		err = fmt.Errorf("--cloud must be nifcloud or openstack (got %q)", f.cloud)
	}
	if err != nil {
		return err
	}
	d, err := driver.New(opts)
	if err != nil {
		return err
	}
	if opts.Mode != driver.ModeController {
		if err := startStartupTaintRemover(ctx, f, d.Name()); err != nil {
			return err
		}
	}
	if f.httpEndpoint != "" {
		srv, addr, err := serveHTTP(ctx, httpOptions{addr: f.httpEndpoint, certFile: f.httpTLSCert, keyFile: f.httpTLSKey}, reg)
		if err != nil {
			return err
		}
		logger.Info("serving /metrics and /healthz", "addr", addr.String(), "tls", f.httpTLSCert != "")
		defer func() {
			if err := srv.Close(); err != nil {
				logger.Error(err, "closing metrics endpoint", "addr", f.httpEndpoint)
			}
		}()
	}
	logger.Info("starting CSI driver", "endpoint", f.endpoint, "version", version.Version)
	return d.Run(ctx)
}
