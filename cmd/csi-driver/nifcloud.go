package main

import (
	"context"
	"fmt"
	"os"
	"strings"

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
// --cloud-config ([Global] INI) merged with the NIFCLOUD_* environment. The
// node service needs them only to look up its zone when neither --zone nor
// NIFCLOUD_ZONE is set.
func setupNIFCLOUD(ctx context.Context, f flags, rec *cloudmetrics.Recorder, opts *driver.Options) error {
	logger := klog.FromContext(ctx)
	mode := driver.Mode(f.mode)
	controller := mode != driver.ModeNode
	opts.Profile = profile.NIFCLOUD{}

	var api nifcloud.API
	cfg, err := nifcloud.LoadConfig(f.cloudConfig, os.Getenv)
	switch {
	case err == nil:
		cfg.Metrics = rec
		c, err := nifcloud.New(cfg)
		if err != nil {
			return err
		}
		api = c
		logger.V(2).Info("NIFCLOUD API configured", "config", cfg) // Config redacts its secrets
	case controller || f.cloudConfig != "":
		return fmt.Errorf("NIFCLOUD configuration: %w", err)
	default:
		logger.V(2).Info("No NIFCLOUD credentials; the node zone must come from --zone or " + metadata.EnvNIFCLOUDZone)
	}
	// The node name is the instance ID on NIFCLOUD.
	getenv := func(k string) string {
		if k == metadata.EnvNodeName && f.nodeID != "" {
			return f.nodeID
		}
		return os.Getenv(k)
	}

	if controller {
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
		opts.Disks = disks
	}
	if mode == driver.ModeController {
		return nil
	}
	// udev only exists on the real /dev; tests point --device-root elsewhere.
	opts.Finder = device.NewNIFCLOUD(device.Options{Root: f.deviceRoot, Udev: f.deviceRoot == "/" || f.deviceRoot == ""})
	opts.Mounter = mounter.New()
	opts.Identity = nifcloudIdentity(f, api, getenv)
	return nil
}

// nifcloudIdentity is the node's identity: --node-id / NODE_NAME /
// NIFCLOUD_INSTANCE_ID, and --zone / NIFCLOUD_ZONE / DescribeInstances.
func nifcloudIdentity(f flags, api nifcloud.API, getenv func(string) string) backend.NodeIdentity {
	if f.nodeID != "" && f.zone != "" {
		return backend.StaticIdentity{ID: f.nodeID, ZoneName: f.zone}
	}
	var lookup metadata.ZoneLookup
	if api != nil {
		lookup = func(ctx context.Context, id string) (string, error) { return nifclouddisk.InstanceZone(ctx, api, id) }
	}
	md := metadata.NewNIFCLOUD(metadata.NIFCLOUDOptions{Getenv: getenv, LookupZone: lookup})
	return metadataIdentity{md: md, id: f.nodeID, zone: f.zone}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
