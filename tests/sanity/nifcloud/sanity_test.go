package nifcloudsanity

import (
	"path/filepath"
	"testing"

	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"

	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// TestSanity runs the full csi-sanity suite (idempotency repeated 10x,
// attach limit) against the driver in all mode. The node is a local
// instance of the simulator: ControllerPublish makes a loop device appear
// at its SCSI by-path link, NodeStage runs mkfs.ext4 and mount.
func TestSanity(t *testing.T) {
	if testing.Short() {
		t.Skip("csi-sanity with real mounts takes a while")
	}
	requireRealMounts(t)
	c := newCloud(t, "node1")
	addr := c.startDriver(t, "all", driver.ModeAll, "node1")

	cfg := sanity.NewTestConfig()
	cfg.Address = addr
	cfg.TargetPath = filepath.Join(c.tmp, "target")
	cfg.StagingPath = filepath.Join(c.tmp, "staging")
	// NIFCLOUD sizes come in 100 GB steps: sizes that need no rounding
	// let sanity compare capacities exactly. Loop backing files are
	// sparse, so only what mkfs writes takes space.
	cfg.TestVolumeSize = 100 * profile.GiB
	cfg.TestVolumeExpandSize = 200 * profile.GiB
	cfg.TestNodeVolumeAttachLimit = true
	cfg.TestVolumeParameters = map[string]string{"type": "standard-flash", "accountingtype": "hourly"}
	sanity.Test(t, cfg)

	if t.Failed() {
		return
	}
	if vols := c.sim.Snapshot().Volumes; len(vols) != 0 {
		t.Errorf("csi-sanity left %d volumes in the cloud", len(vols))
	}
	counts := c.sim.Controls().Counts()
	t.Logf("NIFCLOUD API calls: %v", counts)
}
