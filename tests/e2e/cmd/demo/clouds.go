package main

import (
	"context"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// cloudSpec is what differs between the two simulated clouds.
type cloudSpec struct {
	name, title string
	admin       string // simulator admin prefix
	driver      string
	topologyKey string
	zone        string
	nodes       []string
	// setup seeds the simulator and returns the CCM and CSI options and
	// each node's CSI node ID.
	setup func(ctx context.Context, sim *framework.Cloudsim, dir string) (framework.CCMOptions, framework.CSIOptions, map[string]string, error)
}

var clouds = map[string]cloudSpec{
	"nifcloud": {
		name: "nifcloud", title: "NIFCLOUD", admin: framework.NIFCLOUDAdmin,
		driver: "additional-storage.csi.nifcloud.com", topologyKey: "topology.additional-storage.csi.nifcloud.com/zone",
		zone: "east-11", nodes: []string{"kumoworker1", "kumoworker2", "kumoworker3"},
		setup: func(ctx context.Context, sim *framework.Cloudsim, _ string) (framework.CCMOptions, framework.CSIOptions, map[string]string, error) {
			ids := map[string]string{}
			for i, name := range []string{"kumoworker1", "kumoworker2", "kumoworker3"} {
				if err := framework.AddNIFCLOUDInstance(ctx, sim, name, "east-11", 11+i); err != nil {
					return framework.CCMOptions{}, framework.CSIOptions{}, nil, err
				}
				ids[name] = name // NIFCLOUD nodes are named after their instanceId
			}
			env := framework.NIFCLOUDClientEnv(sim, "jp-east-1")
			return framework.CCMOptions{Cloud: "nifcloud", Env: env}, framework.CSIOptions{Cloud: "nifcloud", Env: env}, ids, nil
		},
	},
	"openstack": {
		name: "openstack", title: "OpenStack", admin: framework.OpenStackAdmin,
		driver: "cinder.csi.openstack.org", topologyKey: "topology.cinder.csi.openstack.org/zone",
		zone: "nova", nodes: []string{"os-worker-1", "os-worker-2", "os-worker-3"},
		setup: func(ctx context.Context, sim *framework.Cloudsim, dir string) (framework.CCMOptions, framework.CSIOptions, map[string]string, error) {
			ids := map[string]string{}
			for i, name := range []string{"os-worker-1", "os-worker-2", "os-worker-3"} {
				id, err := framework.AddOpenStackServer(ctx, sim, name, "nova", 11+i)
				if err != nil {
					return framework.CCMOptions{}, framework.CSIOptions{}, nil, err
				}
				ids[name] = id
			}
			conf, err := framework.WriteOpenStackCloudConf(ctx, sim, dir)
			if err != nil {
				return framework.CCMOptions{}, framework.CSIOptions{}, nil, err
			}
			return framework.CCMOptions{Cloud: "openstack", CloudConfig: conf}, framework.CSIOptions{Cloud: "openstack", CloudConfig: conf}, ids, nil
		},
	},
}
