package nifcloud

import (
	"context"
	"errors"
	"fmt"

	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// findInstance resolves a node to its instance: by spec.providerID when
// set (nifcloud:///<zone>/<instanceUniqueId>), else by name (node name ==
// instanceId). A missing instance is reported as an error wrapping
// cloudprovider.InstanceNotFound.
func (p *Provider) findInstance(ctx context.Context, node *v1.Node) (*nifcloud.Instance, error) {
	if node == nil {
		return nil, errors.New("nil node")
	}
	var lookup func(*instanceSnapshot) (*nifcloud.Instance, error)
	what := ""
	if node.Spec.ProviderID != "" {
		_, uid, err := parseProviderID(node.Spec.ProviderID)
		if err != nil {
			return nil, fmt.Errorf("node %q: %w", node.Name, err)
		}
		lookup = func(s *instanceSnapshot) (*nifcloud.Instance, error) { return s.byUniqueID(uid) }
		what = "instance unique id " + uid
	} else {
		if node.Name == "" {
			return nil, errors.New("node has neither name nor providerID")
		}
		lookup = func(s *instanceSnapshot) (*nifcloud.Instance, error) { return s.byName(node.Name) }
		what = "instance id " + node.Name
	}
	snap, err := p.instances.get(ctx)
	if err != nil {
		return nil, err
	}
	in, err := lookup(snap)
	if err != nil || in != nil {
		return in, err
	}
	// Miss: the instance may be new (or gone). Refresh at most once per
	// max-age window.
	newer, err := p.instances.refreshAfterMiss(ctx, snap)
	if err != nil {
		return nil, err
	}
	if newer != snap {
		if in, err = lookup(newer); err != nil || in != nil {
			return in, err
		}
	}
	return nil, fmt.Errorf("node %q: %s: %w", node.Name, what, cloudprovider.InstanceNotFound)
}

// InstanceExists reports whether the node's instance exists.
func (p *Provider) InstanceExists(ctx context.Context, node *v1.Node) (bool, error) {
	_, err := p.findInstance(ctx, node)
	if errors.Is(err, cloudprovider.InstanceNotFound) {
		klog.FromContext(ctx).V(2).Info("Instance not found", "node", klog.KObj(node), "providerID", node.Spec.ProviderID)
		return false, nil
	}
	return err == nil, err
}

// InstanceShutdown reports whether the node's instance is stopped.
func (p *Provider) InstanceShutdown(ctx context.Context, node *v1.Node) (bool, error) {
	in, err := p.findInstance(ctx, node)
	if err != nil {
		return false, err
	}
	return in.State.Name == nifcloud.InstanceStateStopped, nil
}

// InstanceMetadata returns providerID, instance type, addresses, zone and
// region of the node's instance.
func (p *Provider) InstanceMetadata(ctx context.Context, node *v1.Node) (*cloudprovider.InstanceMetadata, error) {
	in, err := p.findInstance(ctx, node)
	if err != nil {
		return nil, err
	}
	zone := in.Placement.AvailabilityZone
	var addrs []v1.NodeAddress
	if in.PrivateIPAddress != "" {
		addrs = append(addrs, v1.NodeAddress{Type: v1.NodeInternalIP, Address: in.PrivateIPAddress})
	}
	if in.IPAddress != "" {
		addrs = append(addrs, v1.NodeAddress{Type: v1.NodeExternalIP, Address: in.IPAddress})
	}
	addrs = append(addrs, v1.NodeAddress{Type: v1.NodeHostName, Address: node.Name})
	return &cloudprovider.InstanceMetadata{
		ProviderID:    formatProviderID(zone, in.InstanceUniqueID),
		InstanceType:  in.InstanceType,
		NodeAddresses: addrs,
		Zone:          zone,
		Region:        p.cfg.Region,
	}, nil
}

// nodeInstances maps nodes to their instances (via the cache). Nodes whose
// instance cannot be found are skipped and returned in missing.
func (p *Provider) nodeInstances(ctx context.Context, nodes []*v1.Node) (found []*nifcloud.Instance, missing []string, err error) {
	seen := map[string]bool{}
	for _, n := range nodes {
		in, err := p.findInstance(ctx, n)
		if errors.Is(err, cloudprovider.InstanceNotFound) {
			missing = append(missing, n.Name)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if !seen[in.InstanceID] {
			seen[in.InstanceID] = true
			found = append(found, in)
		}
	}
	return found, missing, nil
}
