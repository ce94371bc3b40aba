// Package cinder runs csi-sanity against kumo's CSI driver with the Cinder
// backend, talking over HTTP to an in-process OpenStack simulator whose
// "local" server gets real loop devices, so NodeStageVolume really formats
// and mounts them.
package cinder

import (
	"path/filepath"
	"testing"

	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
)

// sanityAttachLimit keeps the attach-limit test to a few loop devices.
const sanityAttachLimit = 4

func TestSanity(t *testing.T) {
	requireRealMounts(t)
	c := newCloud(t)
	node := c.addServer(t, "local-node", "10.0.0.10")
	c.sim.SetLocalServers(node)
	b := c.newBackend(t, sanityAttachLimit)
	endpoint := c.startDriver(t, b, node, sanityAttachLimit)

	work := t.TempDir()
	unmountUnder(t, work)
	cfg := sanity.NewTestConfig()
	cfg.Address = endpoint
	cfg.TargetPath = filepath.Join(work, "target")
	cfg.StagingPath = filepath.Join(work, "staging")
	cfg.TestVolumeSize = 1 << 30
	cfg.TestVolumeExpandSize = 2 << 30
	cfg.TestNodeVolumeAttachLimit = true
	cfg.IdempotentCount = 10
	// A VolumeAttributesClass's parameters: retype to another Cinder type.
	cfg.TestVolumeMutableParameters = map[string]string{"type": "ssd"}
	sanity.Test(t, cfg)

	st := c.sim.Snapshot()
	t.Logf("cloud calls: %v", c.controls.Counts())
	for id, v := range st.Volumes {
		t.Errorf("volume %s (%q, %s) left in the cloud", id, v.Name, v.Status)
	}
	for id, s := range st.Snapshots {
		t.Errorf("snapshot %s (%q) left in the cloud", id, s.Name)
	}
}
