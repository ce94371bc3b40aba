package octavia

import (
	"context"
	"errors"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// vipTarget says where the VIP goes: exactly one field is set.
type vipTarget struct{ portID, subnetID, networkID string }

// resolveVIP picks the VIP location: port-id > subnet-id > network-id
// (annotation over cloud.conf), else the subnet of the first node's
// InternalIP port, as OCCM does.
func (l *LoadBalancer) resolveVIP(ctx context.Context, sc *svcConfig, nodes []*v1.Node) (vipTarget, error) {
	switch {
	case sc.portID != "":
		return vipTarget{portID: sc.portID}, nil
	case sc.subnetID != "":
		return vipTarget{subnetID: sc.subnetID}, nil
	case sc.networkID != "":
		return vipTarget{networkID: sc.networkID}, nil
	}
	for _, n := range nodes {
		addr := nodeAddress(n, sc.family)
		if addr == "" {
			continue
		}
		pages, err := ports.List(l.clients.Network, ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddress: addr}}}).AllPages(ctx)
		if err != nil {
			return vipTarget{}, fmt.Errorf("find the subnet of node %s (%s): %w", n.Name, addr, err)
		}
		ps, err := ports.ExtractPorts(pages)
		if err != nil {
			return vipTarget{}, fmt.Errorf("find the subnet of node %s (%s): %w", n.Name, addr, err)
		}
		for _, p := range ps {
			for _, ip := range p.FixedIPs {
				if ip.IPAddress == addr {
					return vipTarget{subnetID: ip.SubnetID}, nil
				}
			}
		}
		return vipTarget{}, fmt.Errorf("no Neutron port has node %s's address %s; set annotation %s or [LoadBalancer] subnet-id", n.Name, addr, AnnSubnetID)
	}
	return vipTarget{}, fmt.Errorf("cannot choose a VIP subnet without nodes; set annotation %s or [LoadBalancer] subnet-id", AnnSubnetID)
}

// createLB creates the whole tree in one fully-populated POST (or, with
// [LoadBalancer] provider-requires-serial-api-calls, the bare load
// balancer and then each child) and waits for ACTIVE. A load balancer that ends in ERROR is deleted again so that
// nothing is left behind; the next sync retries.
func (l *LoadBalancer) createLB(ctx context.Context, name, desc string, sc *svcConfig, vip vipTarget, tree []listenerSpec) (*loadbalancers.LoadBalancer, error) {
	logger := klog.FromContext(ctx)
	opts := loadbalancers.CreateOpts{
		Name: name, Description: desc, Provider: l.cfg.LBProvider, FlavorID: sc.flavorID,
		AvailabilityZone: sc.availabilityZone, Tags: []string{name},
		VipPortID: vip.portID, VipSubnetID: vip.subnetID, VipNetworkID: vip.networkID,
	}
	if sc.noTags != "" {
		// Octavia < v2.5: the name alone says whose it is (share.go users).
		opts.Tags = nil
	}
	if sc.loadBalancerIP != "" && vip.portID == "" && (sc.internal || sc.family == v1.IPv6Protocol) {
		opts.VipAddress = sc.loadBalancerIP
	}
	serial := l.cfg.ProviderRequiresSerialAPICalls
	for _, ls := range tree {
		if serial {
			// Providers that refuse a fully-populated create get the bare
			// load balancer; its children follow one call at a time.
			break
		}
		lo := listenerCreateOpts(ls, "")
		po := poolCreateOpts(ls.pool, "")
		for _, m := range ls.pool.members {
			po.Members = append(po.Members, memberCreateOpts(m))
		}
		if ls.pool.monitor != nil {
			po.Monitor = monitorCreateOpts(*ls.pool.monitor, "")
		}
		lo.DefaultPool = &po
		opts.Listeners = append(opts.Listeners, lo)
	}
	lb, err := loadbalancers.Create(ctx, l.clients.LoadBalancer, opts).Extract()
	if err != nil {
		return nil, fmt.Errorf("create load balancer %s: %w", name, err)
	}
	logger.Info("Created load balancer", "loadBalancer", name, "loadBalancerID", lb.ID, "listeners", len(tree), "vipAddress", lb.VipAddress)
	got, err := l.waitActive(ctx, lb.ID)
	if errors.Is(err, errLBError) {
		logger.Info("New load balancer went to ERROR; deleting it", "loadBalancerID", lb.ID)
		if derr := l.deleteCascade(ctx, lb.ID); derr != nil {
			return nil, fmt.Errorf("%w (and deleting it failed: %v)", err, derr)
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if serial && len(tree) > 0 {
		// A failure here leaves a named load balancer that the next sync
		// finds and completes.
		r := &reconciler{l: l, lbID: got.ID, name: name, vipSubnet: got.VipSubnetID}
		if err := r.run(ctx, tree, &actualTree{pools: map[string]*actualPool{}}); err != nil {
			return nil, err
		}
		logger.Info("Created the load balancer's children one by one", "loadBalancerID", got.ID, "writes", r.writes)
	}
	return got, nil
}

func listenerCreateOpts(ls listenerSpec, lbID string) listeners.CreateOpts {
	conn := ls.connLimit
	o := listeners.CreateOpts{
		LoadbalancerID: lbID, Name: ls.name, Protocol: listeners.Protocol(ls.protocol), ProtocolPort: ls.port,
		ConnLimit: &conn, InsertHeaders: ls.insertHeaders, AllowedCIDRs: ls.cidrs, DefaultTlsContainerRef: ls.tlsRef,
	}
	if tcpBased(ls.protocol) && !ls.noTimeouts {
		t := ls.timeouts
		o.TimeoutClientData, o.TimeoutMemberConnect = &t.clientData, &t.memberConnect
		o.TimeoutMemberData, o.TimeoutTCPInspect = &t.memberData, &t.tcpInspect
	}
	return o
}

func poolCreateOpts(ps poolSpec, listenerID string) pools.CreateOpts {
	o := pools.CreateOpts{ListenerID: listenerID, Name: ps.name, Protocol: pools.Protocol(ps.protocol), LBMethod: pools.LBMethod(ps.method)}
	if ps.persistence != "" {
		o.Persistence = &pools.SessionPersistence{Type: ps.persistence}
	}
	return o
}

func memberCreateOpts(m memberSpec) pools.CreateMemberOpts {
	o := pools.CreateMemberOpts{Name: m.name, Address: m.address, ProtocolPort: m.port, SubnetID: m.subnetID}
	if m.monitorPort > 0 {
		mp := m.monitorPort
		o.MonitorPort = &mp
	}
	return o
}

func memberBatchOpts(m memberSpec) pools.BatchUpdateMemberOpts {
	name := m.name
	o := pools.BatchUpdateMemberOpts{Name: &name, Address: m.address, ProtocolPort: m.port}
	if m.subnetID != "" {
		s := m.subnetID
		o.SubnetID = &s
	}
	if m.monitorPort > 0 {
		mp := m.monitorPort
		o.MonitorPort = &mp
	}
	return o
}

func monitorCreateOpts(m monitorSpec, poolID string) monitors.CreateOpts {
	return monitors.CreateOpts{PoolID: poolID, Name: m.name, Type: m.typ, Delay: m.delay, Timeout: m.timeout,
		MaxRetries: m.retries, MaxRetriesDown: m.retriesDn, URLPath: m.urlPath, HTTPMethod: m.httpMethod, ExpectedCodes: m.codes}
}
