package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/startuptaint"
	"github.com/kumo-project/kumo/pkg/metadata"
)

// startStartupTaintRemover removes <driver>/agent-not-ready from this
// node once the kubelet has registered the driver, in the background so
// that the CSI server starts serving at once. Without a node name or any
// Kubernetes API access (no --kubeconfig, not in a cluster) it warns once
// and the plugin carries on; a --kubeconfig that cannot be loaded is an
// error.
func startStartupTaintRemover(ctx context.Context, f flags, driverName string) error {
	logger := klog.FromContext(ctx)
	key := startuptaint.Key(driverName)
	nodeName := firstNonEmpty(strings.TrimSpace(f.nodeName), strings.TrimSpace(os.Getenv(metadata.EnvNodeName)))
	if nodeName == "" {
		logger.Info("WARNING: no --node-name or NODE_NAME: the startup taint will not be removed from this node", "taint", key)
		return nil
	}
	client, err := kubeClient(f.kubeconfig)
	if err != nil {
		if f.kubeconfig != "" {
			return fmt.Errorf("--kubeconfig %s: %w", f.kubeconfig, err)
		}
		logger.Info("WARNING: no Kubernetes API access (no --kubeconfig, not in a cluster): the startup taint will not be removed from this node",
			"taint", key, "node", nodeName, "err", err.Error())
		return nil
	}
	r, err := startuptaint.New(startuptaint.Options{Client: client, NodeName: nodeName, DriverName: driverName})
	if err != nil {
		return err
	}
	r.Start(ctx)
	return nil
}
