package openstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"
)

var _ cloudprovider.InstancesV2 = (*Provider)(nil)

// InstanceExists is false only when the server is gone; lookup errors
// (API failures, ambiguous names) are returned so that the node lifecycle
// controller does not delete a node on a transient error.
func (p *Provider) InstanceExists(ctx context.Context, node *v1.Node) (bool, error) {
	_, err := p.getServer(ctx, node)
	if errors.Is(err, cloudprovider.InstanceNotFound) {
		klog.FromContext(ctx).V(2).Info("Server of node not found", "node", klog.KObj(node), "providerID", node.Spec.ProviderID)
		return false, nil
	}
	return err == nil, err
}

// InstanceShutdown is true when the server is SHUTOFF.
func (p *Provider) InstanceShutdown(ctx context.Context, node *v1.Node) (bool, error) {
	info, err := p.getServer(ctx, node)
	if err != nil {
		return false, err
	}
	return info.server.Status == "SHUTOFF", nil
}

// InstanceMetadata returns the providerID, flavor name, addresses, zone and
// region of the node's server.
func (p *Provider) InstanceMetadata(ctx context.Context, node *v1.Node) (*cloudprovider.InstanceMetadata, error) {
	info, err := p.getServer(ctx, node)
	if err != nil {
		return nil, err
	}
	addrs, err := nodeAddresses(&info.server, info.ports, p.cfg.Networking)
	if err != nil {
		return nil, err
	}
	return &cloudprovider.InstanceMetadata{
		ProviderID:    formatProviderID(p.clients.Region, info.server.ID, p.opts.RegionalProviderID),
		InstanceType:  p.instanceType(&info.server),
		NodeAddresses: addrs,
		Zone:          sanitizeLabel(info.server.AvailabilityZone),
		Region:        p.clients.Region,
	}, nil
}

// instanceType is the flavor name (from the server itself with compute
// microversion ≥ 2.47, else from the flavor cache), falling back to the
// flavor ID when the name is unknown or not a valid label value.
func (p *Provider) instanceType(s *servers.Server) string {
	if n := flavorOriginalName(s); n != "" && len(validation.IsValidLabelValue(n)) == 0 {
		return n
	}
	id := flavorID(s)
	if n, ok := p.cache.flavorName(id); ok && len(validation.IsValidLabelValue(n)) == 0 {
		return n
	}
	if len(validation.IsValidLabelValue(id)) == 0 {
		return id
	}
	return ""
}

// getServer finds the node's server by providerID, else by exact name.
// It answers from the shared snapshot; on a miss it uses a newer snapshot
// (forcing at most one refresh per minRefresh) and, if that is not
// authoritative either, one targeted API call. A missing server yields
// cloudprovider.InstanceNotFound.
func (p *Provider) getServer(ctx context.Context, node *v1.Node) (*serverInfo, error) {
	if node == nil {
		return nil, errors.New("nil node")
	}
	id := ""
	if node.Spec.ProviderID != "" {
		var err error
		if id, err = parseProviderID(node.Spec.ProviderID, p.clients.Region); err != nil {
			return nil, fmt.Errorf("node %s: %w", node.Name, err)
		}
	}
	begin := p.now()
	snap, err := p.cache.get(ctx)
	if err != nil {
		return nil, err
	}
	info, err := snap.lookup(id, node.Name)
	if info != nil || err != nil {
		return info, err
	}
	if snap.started.Before(begin) {
		if snap, err = p.cache.refreshAfterMiss(ctx, snap); err != nil {
			return nil, err
		}
		if info, err = snap.lookup(id, node.Name); info != nil || err != nil {
			return info, err
		}
	}
	if !snap.started.Before(begin) {
		return nil, notFound(id, node.Name)
	}
	return p.lookupDirect(ctx, id, node.Name)
}

func notFound(id, name string) error {
	if id != "" {
		return fmt.Errorf("server %s: %w", id, cloudprovider.InstanceNotFound)
	}
	return fmt.Errorf("server named %q: %w", name, cloudprovider.InstanceNotFound)
}

// lookupDirect asks the APIs for one server (by ID, or by name with Nova's
// regexp name filter anchored and quoted) and its ports.
func (p *Provider) lookupDirect(ctx context.Context, id, name string) (*serverInfo, error) {
	var srv *servers.Server
	if id != "" {
		s, err := servers.Get(ctx, p.clients.Compute, id).Extract()
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return nil, notFound(id, name)
		}
		if err != nil {
			return nil, fmt.Errorf("getting server %s: %w", id, err)
		}
		srv = s
	} else {
		pages, err := servers.List(p.clients.Compute, servers.ListOpts{Name: "^" + regexp.QuoteMeta(name) + "$"}).AllPages(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing servers named %q: %w", name, err)
		}
		list, err := servers.ExtractServers(pages)
		if err != nil {
			return nil, fmt.Errorf("listing servers named %q: %w", name, err)
		}
		var exact []servers.Server
		for _, s := range list {
			if s.Name == name {
				exact = append(exact, s)
			}
		}
		switch len(exact) {
		case 0:
			return nil, notFound("", name)
		case 1:
			srv = &exact[0]
		default:
			return nil, fmt.Errorf("node name %q matches %d servers; refusing to guess (set spec.providerID)", name, len(exact))
		}
	}
	pages, err := ports.List(p.clients.Network, ports.ListOpts{DeviceID: srv.ID}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing ports of server %s: %w", srv.ID, err)
	}
	list, err := ports.ExtractPorts(pages)
	if err != nil {
		return nil, fmt.Errorf("listing ports of server %s: %w", srv.ID, err)
	}
	return &serverInfo{server: *srv, ports: list}, nil
}

// sanitizeLabel makes an availability zone a valid label value: characters
// outside [-a-zA-Z0-9_.] become '-', ends are trimmed to alphanumerics and
// the result is cut to 63 characters.
func sanitizeLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
	if len(s) > validation.LabelValueMaxLength {
		s = s[:validation.LabelValueMaxLength]
	}
	return strings.TrimFunc(s, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9')
	})
}
