package main

import (
	"context"
	"net/http"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// cloudSpec is what differs between the two simulated clouds.
type cloudSpec struct {
	name, title string
	admin       string // simulator admin prefix
	driver      string
	zone        string
	nodes       []string
	// snapshots: the cloud has volume snapshots (csi-snapshotter,
	// snapshot-controller and the VolumeSnapshot CRDs run).
	snapshots bool
	// setup creates the nodes' instances/servers in the simulator, marks
	// them local (real loop devices for their disks) and returns the CCM
	// and CSI controller options, the node plugin's cloud.conf and each
	// node's CSI node ID (the instance / server ID).
	setup func(ctx context.Context, sim *framework.Cloudsim, dir string, nodes []string) (framework.CCMOptions, framework.CSIOptions, string, []string, error)
}

var clouds = map[string]cloudSpec{
	"nifcloud": {
		name: "nifcloud", title: "NIFCLOUD", admin: framework.NIFCLOUDAdmin,
		driver: "additional-storage.csi.nifcloud.com", zone: "east-11", nodes: []string{"kumoworker1", "kumoworker2"},
		setup: func(ctx context.Context, sim *framework.Cloudsim, _ string, nodes []string) (framework.CCMOptions, framework.CSIOptions, string, []string, error) {
			for i, name := range nodes {
				if err := framework.AddNIFCLOUDInstance(ctx, sim, name, "east-11", 11+i); err != nil {
					return framework.CCMOptions{}, framework.CSIOptions{}, "", nil, err
				}
			}
			// NIFCLOUD nodes are named after their instanceId.
			if err := sim.Admin(ctx, http.MethodPost, sim.NIFCLOUDURL, framework.NIFCLOUDAdmin+"local-instances", map[string]any{"instanceIds": nodes}, nil); err != nil {
				return framework.CCMOptions{}, framework.CSIOptions{}, "", nil, err
			}
			env := framework.NIFCLOUDClientEnv(sim, "jp-east-1")
			return framework.CCMOptions{Cloud: "nifcloud", Env: env}, framework.CSIOptions{Cloud: "nifcloud", Env: env}, "", nodes, nil
		},
	},
	"openstack": {
		name: "openstack", title: "OpenStack", admin: framework.OpenStackAdmin,
		driver: "cinder.csi.openstack.org", zone: "nova", nodes: []string{"os-worker-1", "os-worker-2"}, snapshots: true,
		setup: func(ctx context.Context, sim *framework.Cloudsim, dir string, nodes []string) (framework.CCMOptions, framework.CSIOptions, string, []string, error) {
			var ids []string
			for i, name := range nodes {
				id, err := framework.AddOpenStackServer(ctx, sim, name, "nova", 11+i)
				if err != nil {
					return framework.CCMOptions{}, framework.CSIOptions{}, "", nil, err
				}
				ids = append(ids, id)
			}
			if err := sim.Admin(ctx, http.MethodPost, sim.OpenStackURL, framework.OpenStackAdmin+"local-servers", map[string]any{"servers": ids}, nil); err != nil {
				return framework.CCMOptions{}, framework.CSIOptions{}, "", nil, err
			}
			conf, err := framework.WriteOpenStackCloudConf(ctx, sim, dir)
			if err != nil {
				return framework.CCMOptions{}, framework.CSIOptions{}, "", nil, err
			}
			return framework.CCMOptions{Cloud: "openstack", CloudConfig: conf}, framework.CSIOptions{Cloud: "openstack", CloudConfig: conf, Snapshots: true}, conf, ids, nil
		},
	},
}
