package octavia

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// [LoadBalancer] manage-security-groups (OCCM's model): each Service gets
// a security group, lb-sg-<uid>-<ns>-<name>, that lets the load balancer
// reach the Service's NodePorts (and healthCheckNodePort), and it is
// added to the Neutron port of every member node. With OVN the client's
// address reaches the node, so the rules allow the source ranges instead
// of the member subnet. The group goes with the Service.

func sgName(svc *v1.Service) string {
	return cut(fmt.Sprintf("lb-sg-%s-%s-%s", svc.UID, svc.Namespace, svc.Name))
}

// sgRule is the part of a rule that matters for comparison.
type sgRule struct {
	ethertype, protocol, prefix string
	port                        int
}

// ensureSecurityGroup brings the Service's group, its rules and its
// membership on the nodes' ports to what the Service needs.
func (l *LoadBalancer) ensureSecurityGroup(ctx context.Context, cluster string, svc *v1.Service, sc *svcConfig, nodes []*v1.Node, memberSubnet string) error {
	want, err := l.wantedRules(ctx, svc, sc, memberSubnet)
	if err != nil {
		return err
	}
	sg, err := l.findSecurityGroup(ctx, svc)
	if err != nil {
		return err
	}
	logger := klog.FromContext(ctx)
	c := l.clients.Network
	if sg == nil {
		sg, err = groups.Create(ctx, c, groups.CreateOpts{Name: sgName(svc),
			Description: cut(fmt.Sprintf("Security Group for %s/%s Service LoadBalancer in cluster %s", svc.Namespace, svc.Name, cluster))}).Extract()
		if err != nil {
			return fmt.Errorf("create security group %s: %w", sgName(svc), err)
		}
		logger.Info("Created security group", "securityGroup", sg.Name, "id", sg.ID)
	}
	if err := l.syncRules(ctx, sg.ID, want); err != nil {
		return err
	}
	return l.syncNodePorts(ctx, sg.ID, nodes, sc.family, memberSubnet)
}

// wantedRules are the ingress rules for the Service's NodePorts.
func (l *LoadBalancer) wantedRules(ctx context.Context, svc *v1.Service, sc *svcConfig, memberSubnet string) ([]sgRule, error) {
	// OVN keeps the client address: filter on the source ranges there.
	prefixes := sc.sourceRanges
	if l.features.allowedCIDRs {
		cidr, err := l.subnetCIDRs.get(ctx, l.clients.Network, memberSubnet)
		if err != nil {
			return nil, err
		}
		prefixes = []string{cidr}
	}
	var out []sgRule
	add := func(proto string, port int) {
		for _, p := range prefixes {
			eth := "IPv4"
			if pf, err := netip.ParsePrefix(p); err == nil && pf.Addr().Is6() {
				eth = "IPv6"
			}
			r := sgRule{ethertype: eth, protocol: strings.ToLower(proto), prefix: p, port: port}
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort > 0 {
			add(orDefault(string(p.Protocol), "TCP"), int(p.NodePort))
		}
	}
	if sc.localHealthPort > 0 {
		add("TCP", sc.localHealthPort)
	}
	return out, nil
}

func (l *LoadBalancer) findSecurityGroup(ctx context.Context, svc *v1.Service) (*groups.SecGroup, error) {
	pages, err := groups.List(l.clients.Network, groups.ListOpts{Name: sgName(svc)}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list security groups named %s: %w", sgName(svc), err)
	}
	all, err := groups.ExtractGroups(pages)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	return &all[0], nil
}

// syncRules creates the missing rules and deletes the ones no longer
// wanted (a NodePort that changed, a port that went).
func (l *LoadBalancer) syncRules(ctx context.Context, sgID string, want []sgRule) error {
	c := l.clients.Network
	pages, err := rules.List(c, rules.ListOpts{SecGroupID: sgID}).AllPages(ctx)
	if err != nil {
		return fmt.Errorf("list rules of security group %s: %w", sgID, err)
	}
	have, err := rules.ExtractRules(pages)
	if err != nil {
		return err
	}
	found := map[sgRule]bool{}
	for _, r := range have {
		if r.Direction != "ingress" {
			continue
		}
		key := sgRule{ethertype: r.EtherType, protocol: r.Protocol, prefix: r.RemoteIPPrefix, port: r.PortRangeMin}
		if r.PortRangeMin == r.PortRangeMax && slices.Contains(want, key) && !found[key] {
			found[key] = true
			continue
		}
		if err := rules.Delete(ctx, c, r.ID).ExtractErr(); err != nil && !isStatus(err, 404) {
			return fmt.Errorf("delete security group rule %s: %w", r.ID, err)
		}
	}
	for _, w := range want {
		if found[w] {
			continue
		}
		_, err := rules.Create(ctx, c, rules.CreateOpts{SecGroupID: sgID, Direction: rules.DirIngress, EtherType: rules.RuleEtherType(w.ethertype),
			Protocol: rules.RuleProtocol(w.protocol), PortRangeMin: w.port, PortRangeMax: w.port, RemoteIPPrefix: w.prefix}).Extract()
		if err != nil {
			return fmt.Errorf("create security group rule %s %d from %s: %w", w.protocol, w.port, w.prefix, err)
		}
	}
	return nil
}

// syncNodePorts adds the group to the member nodes' ports on the member
// subnet and removes it from ports of nodes no longer served.
func (l *LoadBalancer) syncNodePorts(ctx context.Context, sgID string, nodes []*v1.Node, fam v1.IPFamily, memberSubnet string) error {
	c := l.clients.Network
	carrying, err := portsWithGroup(ctx, l, sgID)
	if err != nil {
		return err
	}
	wantAddr := map[string]bool{}
	for _, n := range nodes {
		if a := nodeAddress(n, fam); a != "" {
			wantAddr[a] = true
		}
	}
	done := map[string]bool{}
	for _, p := range carrying {
		addr := portAddress(p, memberSubnet)
		if wantAddr[addr] {
			done[addr] = true
			continue
		}
		if err := setPortGroups(ctx, l, p, slices.DeleteFunc(slices.Clone(p.SecurityGroups), func(g string) bool { return g == sgID })); err != nil {
			return err
		}
	}
	for _, n := range nodes {
		addr := nodeAddress(n, fam)
		if addr == "" || done[addr] {
			continue
		}
		pages, err := ports.List(c, ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddress: addr}}}).AllPages(ctx)
		if err != nil {
			return fmt.Errorf("find the port of node %s (%s): %w", n.Name, addr, err)
		}
		ps, err := ports.ExtractPorts(pages)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if portAddress(p, memberSubnet) == addr && !slices.Contains(p.SecurityGroups, sgID) {
				if err := setPortGroups(ctx, l, p, append(slices.Clone(p.SecurityGroups), sgID)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// deleteSecurityGroup takes the Service's group off every port and
// deletes it (nothing to do when there is none).
func (l *LoadBalancer) deleteSecurityGroup(ctx context.Context, svc *v1.Service) error {
	sg, err := l.findSecurityGroup(ctx, svc)
	if err != nil || sg == nil {
		return err
	}
	carrying, err := portsWithGroup(ctx, l, sg.ID)
	if err != nil {
		return err
	}
	for _, p := range carrying {
		if err := setPortGroups(ctx, l, p, slices.DeleteFunc(slices.Clone(p.SecurityGroups), func(g string) bool { return g == sg.ID })); err != nil {
			return err
		}
	}
	if err := groups.Delete(ctx, l.clients.Network, sg.ID).ExtractErr(); err != nil && !isStatus(err, 404) {
		return fmt.Errorf("delete security group %s: %w", sg.Name, err)
	}
	klog.FromContext(ctx).Info("Deleted security group", "securityGroup", sg.Name, "id", sg.ID)
	return nil
}

func portsWithGroup(ctx context.Context, l *LoadBalancer, sgID string) ([]ports.Port, error) {
	pages, err := ports.List(l.clients.Network, ports.ListOpts{SecurityGroups: []string{sgID}}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list ports in security group %s: %w", sgID, err)
	}
	return ports.ExtractPorts(pages)
}

func setPortGroups(ctx context.Context, l *LoadBalancer, p ports.Port, sgs []string) error {
	if _, err := ports.Update(ctx, l.clients.Network, p.ID, ports.UpdateOpts{SecurityGroups: &sgs}).Extract(); err != nil && !isStatus(err, 404) {
		return fmt.Errorf("set the security groups of port %s: %w", p.ID, err)
	}
	return nil
}

// portAddress is the port's fixed IP on subnet ("" none; any subnet when
// subnet is "").
func portAddress(p ports.Port, subnet string) string {
	for _, ip := range p.FixedIPs {
		if subnet == "" || ip.SubnetID == subnet {
			return ip.IPAddress
		}
	}
	return ""
}

// cidrCache remembers subnets' CIDRs: a subnet's CIDR never changes
// (Neutron refuses the update), so every sync after the first asks
// Neutron nothing for its rules.
type cidrCache struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *cidrCache) get(ctx context.Context, network *gophercloud.ServiceClient, subnetID string) (string, error) {
	c.mu.Lock()
	cidr, ok := c.m[subnetID]
	c.mu.Unlock()
	if ok {
		return cidr, nil
	}
	sub, err := subnets.Get(ctx, network, subnetID).Extract()
	if err != nil {
		return "", fmt.Errorf("get member subnet %s: %w", subnetID, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]string{}
	}
	c.m[subnetID] = sub.CIDR
	return sub.CIDR, nil
}
