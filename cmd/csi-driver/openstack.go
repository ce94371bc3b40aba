package main

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/cloudmetrics"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/cinderdisk"
	"github.com/kumo-project/kumo/pkg/csi/device"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/csi/mounter"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/pkg/metadata"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// maxCinderAttachLimit is where cinder-csi clamps node-volume-attach-limit.
const maxCinderAttachLimit = 256

// setupOpenStack wires the Cinder backend (controller) and the device
// finder, mounter and metadata identity (node) into opts. The node service
// needs no OpenStack credentials, only cloud.conf's [Metadata] and
// [BlockStorage] sections.
func setupOpenStack(ctx context.Context, f flags, rec *cloudmetrics.Recorder, opts *driver.Options) error {
	logger := klog.FromContext(ctx)
	if f.cloudConfig == "" {
		return errors.New("--cloud-config is required with --cloud=openstack")
	}
	mode := driver.Mode(f.mode)
	controller := mode != driver.ModeNode
	cfg, err := config.LoadFiles(config.Options{SkipAuthValidation: !controller}, f.cloudConfig)
	if err != nil {
		return fmt.Errorf("--cloud-config: %w", err)
	}
	for _, w := range cfg.Warnings {
		logger.Info("WARNING: cloud config", "file", f.cloudConfig, "warning", w)
	}
	opts.Profile = profile.Cinder{}
	// One Cinder zone beside several Nova zones is common: then the
	// "availability" parameter is a Cinder zone, and volumes are
	// accessible from the Pod's Nova zone (cinder-csi's ignore-volume-az).
	opts.IgnoreDiskZone = cfg.BlockStorage.IgnoreVolumeAZ
	opts.ZoneMismatchHint = "; if Cinder's availability zones are not Nova's, set [BlockStorage] ignore-volume-az = true in cloud.conf"
	opts.CheckSecrets = cloudSecretCheck(cfg)
	for _, name := range cfg.CloudNames() {
		logger.Info("WARNING: cloud config section is not served by the CSI driver; requests whose secret selects it are refused",
			"file", f.cloudConfig, "section", fmt.Sprintf("[Global %q]", name))
	}

	if controller {
		// Nova and Cinder only: the driver never calls Neutron or Octavia, so
		// their endpoints need not exist.
		c, err := client.New(ctx, cfg, client.Options{Metrics: rec, Services: client.CSIServices()})
		if err != nil {
			return err
		}
		disks, err := cinderdisk.New(c, cinderdisk.Options{ClusterID: f.clusterID, MaxAttachmentsPerNode: attachLimit(cfg, f)})
		if err != nil {
			return err
		}
		opts.Disks = disks
	}
	if mode == driver.ModeController {
		return nil
	}
	// udev only exists on the real /dev; tests point --device-root elsewhere.
	opts.Finder = device.NewCinder(device.Options{Root: f.deviceRoot, Udev: f.deviceRoot == "/" || f.deviceRoot == ""})
	opts.Mounter = mounter.New()
	// cinder-csi's [BlockStorage] rescan-on-resize: NodeExpandVolume must
	// rescan the device and see the requested size before growing the fs.
	opts.RescanOnResize = cfg.BlockStorage.RescanOnResize
	id, err := openStackIdentity(cfg, f)
	if err != nil {
		return err
	}
	opts.Identity = id
	if opts.MaxVolumesPerNode == 0 {
		opts.MaxVolumesPerNode = int64(attachLimit(cfg, f))
	}
	return nil
}

// attachLimit is the per-node volume limit: --max-volumes-per-node, else
// [BlockStorage] node-volume-attach-limit clamped to 1..256 as cinder-csi
// does. The controller enforces the same number the node reports.
func attachLimit(cfg *config.Config, f flags) int {
	if f.maxVolumes > 0 {
		return int(f.maxVolumes)
	}
	limit := cfg.BlockStorage.NodeVolumeAttachLimit
	if limit <= 0 || limit > maxCinderAttachLimit {
		return maxCinderAttachLimit
	}
	return limit
}

// openStackIdentity reads the instance ID and zone from the config drive or
// metadata service (per [Metadata] search-order); --node-id and --zone
// override them, and with both set metadata is never read.
func openStackIdentity(cfg *config.Config, f flags) (backend.NodeIdentity, error) {
	if f.nodeID != "" && f.zone != "" {
		return backend.StaticIdentity{ID: f.nodeID, ZoneName: f.zone}, nil
	}
	md, err := metadata.NewOpenStack(metadata.OpenStackOptions{
		SearchOrder:    cfg.Metadata.SearchOrder,
		ConfigDriveDir: f.configDriveDir,
		MetadataURL:    f.metadataURL,
		RequestTimeout: cfg.Metadata.RequestTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("[Metadata]: %w", err)
	}
	return metadataIdentity{md: md, id: f.nodeID, zone: f.zone}, nil
}

// metadataIdentity is a backend.NodeIdentity from instance metadata with
// optional overrides.
type metadataIdentity struct {
	md       metadata.InstanceMetadata
	id, zone string
}

func (m metadataIdentity) NodeID(ctx context.Context) (string, error) {
	if m.id != "" {
		return m.id, nil
	}
	return m.md.InstanceID(ctx)
}

func (m metadataIdentity) Zone(ctx context.Context) (string, error) {
	if m.zone != "" {
		return m.zone, nil
	}
	return m.md.Zone(ctx)
}

// cloudSecretCheck vets the CSI secrets' "cloud" key, which selects a
// [Global "name"] section in cinder-csi's multi-cloud mode. One kumo
// driver serves the [Global] cloud only, so a secret naming another one is
// refused (instead of silently using the wrong project); an empty or
// absent key means [Global]. Other keys are ignored, as by cinder-csi.
func cloudSecretCheck(cfg *config.Config) func(map[string]string) error {
	return func(secrets map[string]string) error {
		name := secrets["cloud"]
		if name == "" {
			return nil
		}
		if _, ok := cfg.Cloud(name); ok {
			return fmt.Errorf(`key "cloud" selects [Global %q], but kumo's CSI driver serves only the [Global] section of its cloud.conf; run one driver, with its own driver name, per cloud`, name)
		}
		return fmt.Errorf(`key "cloud" names %q, which is no [Global "name"] section of cloud.conf (kumo's CSI driver serves only [Global]; leave the key empty)`, name)
	}
}
