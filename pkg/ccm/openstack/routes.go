package openstack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/extraroutes"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsecurity"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"
)

// routes implements cloudprovider.Routes with the extra routes of one
// Neutron router: pod CIDR → node IP. When Neutron has
// allowed-address-pairs, the pod CIDR is also allowed on the node's port
// (port security would drop the pod traffic otherwise).
type routes struct {
	p        *Provider
	routerID string
	atomic   bool // extraroute-atomic: add/remove without read-modify-write
	pairs    bool // allowed-address-pairs

	// mu serialises read-modify-write updates of the router's route list
	// (without extraroute-atomic) and of ports' address pairs.
	mu sync.Mutex
}

var _ cloudprovider.Routes = (*routes)(nil)

// newRoutes checks Neutron's extensions (one call). Without extraroute it
// returns nil: the route controller then cannot run, as with OCCM.
func newRoutes(ctx context.Context, p *Provider, routerID string) (*routes, error) {
	pages, err := extensions.List(p.clients.Network).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("openstack: [Route] router-id is set but listing Neutron extensions failed: %w", err)
	}
	list, err := extensions.ExtractExtensions(pages)
	if err != nil {
		return nil, fmt.Errorf("openstack: listing Neutron extensions: %w", err)
	}
	has := map[string]bool{}
	for _, e := range list {
		has[e.Alias] = true
	}
	logger := klog.FromContext(ctx)
	if !has["extraroute"] && !has["extraroute-atomic"] {
		logger.Info("WARNING: [Route] router-id is set but Neutron has no extraroute extension; routes are disabled", "routerID", routerID)
		return nil, nil
	}
	r := &routes{p: p, routerID: routerID, atomic: has["extraroute-atomic"], pairs: has["allowed-address-pairs"]}
	logger.V(2).Info("Routes enabled", "routerID", routerID, "atomic", r.atomic, "allowedAddressPairs", r.pairs)
	return r, nil
}

// ListRoutes returns the router's routes; a next hop that maps to no known
// node yields a blackhole route (deleted by the route controller when in
// the cluster CIDR).
func (r *routes) ListRoutes(ctx context.Context, clusterName string) ([]*cloudprovider.Route, error) {
	rt, err := routers.Get(ctx, r.p.clients.Network, r.routerID).Extract()
	if err != nil {
		return nil, fmt.Errorf("getting router %s ([Route] router-id): %w", r.routerID, err)
	}
	names, err := r.nodesByAddress(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*cloudprovider.Route, 0, len(rt.Routes))
	for _, x := range rt.Routes {
		name, ok := names[x.NextHop]
		if !ok {
			name = types.NodeName(x.NextHop)
		}
		out = append(out, &cloudprovider.Route{Name: x.DestinationCIDR, TargetNode: name, DestinationCIDR: x.DestinationCIDR, Blackhole: !ok})
	}
	return out, nil
}

// nodesByAddress maps IPs to node names: servers' port IPs from the shared
// snapshot (server name = node name), overridden by the addresses of the
// Node objects when an informer is set.
func (r *routes) nodesByAddress(ctx context.Context) (map[string]types.NodeName, error) {
	snap, err := r.p.cache.get(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]types.NodeName{}
	for _, info := range snap.byID {
		for _, p := range info.ports {
			for _, ip := range p.FixedIPs {
				out[ip.IPAddress] = types.NodeName(info.server.Name)
			}
		}
	}
	if l := r.p.lister(); l != nil {
		nodes, err := l.List(labels.Everything())
		if err != nil {
			return nil, fmt.Errorf("listing nodes: %w", err)
		}
		for _, n := range nodes {
			for _, a := range n.Status.Addresses {
				if a.Type == v1.NodeInternalIP || a.Type == v1.NodeExternalIP {
					out[a.Address] = types.NodeName(n.Name)
				}
			}
		}
	}
	return out, nil
}

// CreateRoute adds destination → node IP to the router (idempotent) and
// allows the destination on the node's port; the route is removed again
// when the port cannot be updated.
func (r *routes) CreateRoute(ctx context.Context, clusterName, nameHint string, route *cloudprovider.Route) error {
	dest, err := netip.ParsePrefix(route.DestinationCIDR)
	if err != nil {
		return fmt.Errorf("route for node %s: invalid destination CIDR %q: %w", route.TargetNode, route.DestinationCIDR, err)
	}
	hop, err := r.nextHop(ctx, route.TargetNode, route.TargetNodeAddresses, dest.Addr().Is4())
	if err != nil {
		return err
	}
	logger := klog.FromContext(ctx).WithValues("routerID", r.routerID, "destination", dest.String(), "nexthop", hop, "node", route.TargetNode)
	want := routers.Route{DestinationCIDR: dest.String(), NextHop: hop}
	if err := r.changeRoutes(ctx, want, true); err != nil {
		return err
	}
	if r.pairs {
		if err := r.changePair(ctx, hop, dest.String(), true); err != nil {
			if uerr := r.changeRoutes(ctx, want, false); uerr != nil {
				logger.Error(uerr, "Cannot remove the route after failing to update the node's port")
			}
			return err
		}
	}
	logger.V(2).Info("Created route")
	return nil
}

// DeleteRoute removes the router's routes to the destination whose next
// hop belongs to the route's node (or is the blackhole IP), and the
// matching allowed address pairs. Missing routes are not an error.
func (r *routes) DeleteRoute(ctx context.Context, clusterName string, route *cloudprovider.Route) error {
	rt, err := routers.Get(ctx, r.p.clients.Network, r.routerID).Extract()
	if err != nil {
		return fmt.Errorf("getting router %s ([Route] router-id): %w", r.routerID, err)
	}
	names, err := r.nodesByAddress(ctx)
	if err != nil {
		return err
	}
	logger := klog.FromContext(ctx).WithValues("routerID", r.routerID, "destination", route.DestinationCIDR, "node", route.TargetNode)
	for _, x := range rt.Routes {
		if x.DestinationCIDR != route.DestinationCIDR {
			continue
		}
		if n, ok := names[x.NextHop]; (!ok || n != route.TargetNode) && x.NextHop != string(route.TargetNode) {
			continue
		}
		if err := r.changeRoutes(ctx, x, false); err != nil {
			return err
		}
		if r.pairs {
			if err := r.changePair(ctx, x.NextHop, x.DestinationCIDR, false); err != nil {
				return err
			}
		}
		logger.V(2).Info("Deleted route", "nexthop", x.NextHop)
	}
	return nil
}

// nextHop is the node's InternalIP of the destination's family, taken from
// the route (the Node's status) or else from the cloud.
func (r *routes) nextHop(ctx context.Context, nodeName types.NodeName, addrs []v1.NodeAddress, v4 bool) (string, error) {
	pick := func(addrs []v1.NodeAddress) string {
		for _, a := range addrs {
			if ip, err := netip.ParseAddr(a.Address); a.Type == v1.NodeInternalIP && err == nil && ip.Unmap().Is4() == v4 {
				return ip.Unmap().String()
			}
		}
		return ""
	}
	if hop := pick(addrs); hop != "" {
		return hop, nil
	}
	node := &v1.Node{}
	node.Name = string(nodeName)
	if l := r.p.lister(); l != nil {
		n, err := l.Get(string(nodeName))
		if err != nil && !apierrors.IsNotFound(err) {
			return "", fmt.Errorf("route for node %s: %w", nodeName, err)
		}
		if n != nil {
			node = n
		}
	}
	md, err := r.p.InstanceMetadata(ctx, node)
	if err != nil {
		return "", fmt.Errorf("route for node %s: %w", nodeName, err)
	}
	if hop := pick(md.NodeAddresses); hop != "" {
		return hop, nil
	}
	family := map[bool]string{true: "IPv4", false: "IPv6"}[v4]
	return "", fmt.Errorf("route for node %s: the node has no %s InternalIP to route to", nodeName, family)
}

// changeRoutes adds or removes one route, atomically when Neutron can,
// else by rewriting the whole list under r.mu.
func (r *routes) changeRoutes(ctx context.Context, x routers.Route, add bool) error {
	net := r.p.clients.Network
	if r.atomic {
		opts := extraroutes.Opts{Routes: &[]routers.Route{x}}
		var err error
		if add {
			_, err = extraroutes.Add(ctx, net, r.routerID, opts).Extract()
		} else {
			_, err = extraroutes.Remove(ctx, net, r.routerID, opts).Extract()
		}
		if err != nil {
			return fmt.Errorf("updating routes of router %s: %w", r.routerID, err)
		}
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rt, err := routers.Get(ctx, net, r.routerID).Extract()
	if err != nil {
		return fmt.Errorf("getting router %s ([Route] router-id): %w", r.routerID, err)
	}
	has := slices.Contains(rt.Routes, x)
	if has == add {
		return nil
	}
	list := slices.DeleteFunc(slices.Clone(rt.Routes), func(y routers.Route) bool { return y == x })
	if add {
		list = append(list, x)
	}
	if _, err := routers.Update(ctx, net, r.routerID, routers.UpdateOpts{Routes: &list}).Extract(); err != nil {
		return fmt.Errorf("updating routes of router %s: %w", r.routerID, err)
	}
	return nil
}

// portWithSecurity is a port with its port_security_enabled attribute.
type portWithSecurity struct {
	ports.Port
	portsecurity.PortSecurityExt
}

// errNoPort means no Neutron port holds the next hop.
var errNoPort = errors.New("no Neutron port has this address")

// changePair adds or removes cidr from the allowed address pairs of the
// port(s) holding ip. Ports without port security need no pair.
func (r *routes) changePair(ctx context.Context, ip, cidr string, add bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	net := r.p.clients.Network
	pages, err := ports.List(net, ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddress: ip}}}).AllPages(ctx)
	if err != nil {
		return fmt.Errorf("finding the port of %s: %w", ip, err)
	}
	var list []portWithSecurity
	if err := ports.ExtractPortsInto(pages, &list); err != nil {
		return fmt.Errorf("finding the port of %s: %w", ip, err)
	}
	if len(list) == 0 {
		if !add {
			return nil
		}
		return fmt.Errorf("allowing %s on the port of next hop %s: %w", cidr, ip, errNoPort)
	}
	for _, p := range list {
		if !p.PortSecurityEnabled {
			continue
		}
		has := slices.ContainsFunc(p.AllowedAddressPairs, func(a ports.AddressPair) bool { return a.IPAddress == cidr })
		if has == add {
			continue
		}
		pairs := slices.DeleteFunc(slices.Clone(p.AllowedAddressPairs), func(a ports.AddressPair) bool { return a.IPAddress == cidr })
		if add {
			pairs = append(pairs, ports.AddressPair{IPAddress: cidr})
		}
		if _, err := ports.Update(ctx, net, p.ID, ports.UpdateOpts{AllowedAddressPairs: &pairs}).Extract(); err != nil {
			return fmt.Errorf("updating allowed address pairs of port %s: %w", p.ID, err)
		}
	}
	return nil
}
