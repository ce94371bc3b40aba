// Command cloudsim serves wire-faithful simulators of NIFCLOUD's computing
// API and of OpenStack (Keystone, Nova, Cinder, Octavia, Neutron, metadata)
// for the demo, the tests and the benchmarks.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/cloudsim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cloudsim:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg cloudsim.Config
	var latency, transitions, localInstances, localServers, readyFile string
	fs := flag.NewFlagSet("cloudsim", flag.ContinueOnError)
	klog.InitFlags(fs)
	fs.StringVar(&cfg.NIFCLOUDListen, "nifcloud-listen", "127.0.0.1:18780", "address of the NIFCLOUD computing API (\"\" disables it)")
	fs.StringVar(&cfg.OpenStackListen, "openstack-listen", "127.0.0.1:18781", "address of the OpenStack APIs (\"\" disables them)")
	fs.StringVar(&cfg.StateDir, "state-dir", "", "directory for persisted state (empty: in memory)")
	fs.StringVar(&cfg.NIFCLOUDSeed, "nifcloud-seed", "", "JSON seed file of NIFCLOUD instances")
	fs.StringVar(&cfg.OpenStackSeed, "openstack-seed", "", "JSON seed file of OpenStack servers and networks")
	fs.StringVar(&cfg.NIFCLOUDRegion, "nifcloud-region", "jp-east-1", "NIFCLOUD region")
	fs.StringVar(&cfg.OpenStackRegion, "openstack-region", "RegionOne", "OpenStack region")
	fs.StringVar(&cfg.OpenStackUser, "openstack-user", "admin", "Keystone user name")
	fs.StringVar(&cfg.OpenStackProject, "openstack-project", "demo", "Keystone project name")
	fs.StringVar(&localInstances, "local-instances", "", "comma-separated NIFCLOUD instanceIds that stand for this machine")
	fs.StringVar(&localServers, "local-servers", "", "comma-separated OpenStack server IDs that stand for this machine")
	fs.StringVar(&cfg.LocalDiskRoot, "local-disk-root", "", "root under which device links of local volumes are created (enables real loop devices; needs root)")
	fs.BoolVar(&cfg.LocalDiskPerNode, "local-disk-per-node", false, "create each local instance's/server's device links under <local-disk-root>/<id>/ (one device view per node)")
	fs.StringVar(&cfg.LocalDiskData, "local-disk-data", "", "directory of the local volumes' backing files (default <state-dir>/disks)")
	fs.StringVar(&latency, "latency", "", "call latency per action, e.g. '*=20ms,CreateVolume=1s'")
	fs.StringVar(&transitions, "transition", "", "state transition delays, e.g. 'volume.attach=2s,octavia.update=2s'")
	fs.StringVar(&readyFile, "ready-file", "", "write the listeners' URLs as JSON to this file once serving")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	// Secrets come from the environment, never from flags (visible in ps).
	cfg.NIFCLOUDAccessKey = envOr("NIFCLOUD_ACCESS_KEY_ID", "kumo-sim-access-key")
	cfg.NIFCLOUDSecretKey = envOr("NIFCLOUD_SECRET_ACCESS_KEY", "kumo-sim-secret-key")
	cfg.OpenStackPassword = envOr("OS_PASSWORD", "secret")
	cfg.LocalInstances = splitList(localInstances)
	cfg.LocalServers = splitList(localServers)
	var err error
	if cfg.CallLatency, err = cloudsim.ParseDurations(latency); err != nil {
		return fmt.Errorf("--latency: %w", err)
	}
	if cfg.TransitionLatency, err = cloudsim.ParseDurations(transitions); err != nil {
		return fmt.Errorf("--transition: %w", err)
	}
	if cfg.StateDir != "" {
		if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := cloudsim.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	urls := map[string]string{"nifcloud": srv.NIFCLOUDURL, "openstack": srv.OpenStackURL}
	klog.InfoS("cloudsim serving", "nifcloud", srv.NIFCLOUDURL, "openstack", srv.OpenStackURL)
	if readyFile != "" {
		data, _ := json.Marshal(urls)
		if err := os.WriteFile(readyFile, data, 0o644); err != nil {
			return err
		}
	}
	<-ctx.Done()
	klog.InfoS("cloudsim stopping")
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
