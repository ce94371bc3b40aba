package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/cloudmetrics"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/device"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/csi/mounter"
	"github.com/kumo-project/kumo/pkg/csi/nifclouddisk"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/pkg/metadata"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// setupNIFCLOUD wires the NIFCLOUD backend (controller) and the device
// finder, mounter and node identity (node) into opts. Credentials come from
// --cloud-config ([Global] INI) merged with the NIFCLOUD_* environment and
// are used by the controller only: a node never loads them (its zone comes
// from --zone, NIFCLOUD_ZONE or its Node's zone label).
func setupNIFCLOUD(ctx context.Context, f flags, rec *cloudmetrics.Recorder, opts *driver.Options) error {
	logger := klog.FromContext(ctx)
	mode := driver.Mode(f.mode)
	opts.Profile = profile.NIFCLOUD{}
	// The node name is the instance ID on NIFCLOUD.
	getenv := func(k string) string {
		if k == metadata.EnvNodeName && f.nodeID != "" {
			return f.nodeID
		}
		return os.Getenv(k)
	}

	if mode != driver.ModeNode {
		cfg, err := nifcloud.LoadConfig(f.cloudConfig, os.Getenv)
		if err != nil {
			return fmt.Errorf("NIFCLOUD configuration: %w", err)
		}
		cfg.Metrics = rec
		api, err := nifcloud.New(cfg)
		if err != nil {
			return err
		}
		logger.V(2).Info("NIFCLOUD API configured", "config", cfg) // Config redacts its secrets
		self := strings.TrimSpace(getenv(metadata.EnvNodeName))
		disks, err := nifclouddisk.New(api, nifclouddisk.Options{
			Zone: firstNonEmpty(f.zone, strings.TrimSpace(os.Getenv(metadata.EnvNIFCLOUDZone))),
			// The controller's own server hosts new disks while they are
			// created, rather than a stranger's.
			PreferredInstances: []string{self},
		})
		if err != nil {
			return err
		}
		disks.StartSweeper(ctx)
		opts.Disks = disks
	} else if f.cloudConfig != "" || os.Getenv(nifcloud.EnvAccessKeyID) != "" || os.Getenv(nifcloud.EnvSecretAccessKey) != "" {
		logger.V(2).Info("NIFCLOUD credentials are configured but not used by the node service")
	}
	if mode == driver.ModeController {
		return nil
	}
	// udev only exists on the real /dev; tests point --device-root elsewhere.
	opts.Finder = device.NewNIFCLOUD(device.Options{Root: f.deviceRoot, Udev: f.deviceRoot == "/" || f.deviceRoot == ""})
	opts.Mounter = mounter.New()
	opts.Identity = nifcloudIdentity(f, getenv)
	return nil
}

// nifcloudIdentity is the node's identity: --node-id / NODE_NAME /
// NIFCLOUD_INSTANCE_ID, and --zone / NIFCLOUD_ZONE / the Node's
// topology.kubernetes.io/zone label (read with --kubeconfig, else the
// in-cluster config; it needs "get nodes").
func nifcloudIdentity(f flags, getenv func(string) string) backend.NodeIdentity {
	if f.nodeID != "" && f.zone != "" {
		return backend.StaticIdentity{ID: f.nodeID, ZoneName: f.zone}
	}
	client := sync.OnceValues(func() (kubernetes.Interface, error) { return kubeClient(f.kubeconfig) })
	md := metadata.NewNIFCLOUD(metadata.NIFCLOUDOptions{Getenv: getenv, LookupZone: metadata.NodeLabelZone(client, getenv)})
	return metadataIdentity{md: md, id: f.nodeID, zone: f.zone}
}

// kubeClient is a client from kubeconfig, or the in-cluster config.
func kubeClient(kubeconfig string) (kubernetes.Interface, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "kumo-csi-node"
	return kubernetes.NewForConfig(cfg)
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
