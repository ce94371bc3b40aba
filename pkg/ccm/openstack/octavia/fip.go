package octavia

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// fipsOn lists the floating IPs matching opts.
func (l *LoadBalancer) fipsOn(ctx context.Context, opts floatingips.ListOpts) ([]floatingips.FloatingIP, error) {
	pages, err := floatingips.List(l.clients.Network, opts).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list floating IPs: %w", err)
	}
	return floatingips.ExtractFloatingIPs(pages)
}

// releaseFIP deletes a floating IP we created (unless keep) and only
// detaches any other: a user's address is never deleted.
func (l *LoadBalancer) releaseFIP(ctx context.Context, f floatingips.FloatingIP, ourDesc string, keep bool) error {
	logger := klog.FromContext(ctx)
	if f.Description == ourDesc && !keep {
		if err := floatingips.Delete(ctx, l.clients.Network, f.ID).ExtractErr(); err != nil && !isStatus(err, 404) {
			return fmt.Errorf("delete floating IP %s: %w", f.FloatingIP, err)
		}
		logger.Info("Deleted floating IP", "floatingIP", f.FloatingIP, "id", f.ID)
		return nil
	}
	none := ""
	if _, err := floatingips.Update(ctx, l.clients.Network, f.ID, floatingips.UpdateOpts{PortID: &none}).Extract(); err != nil && !isStatus(err, 404) {
		return fmt.Errorf("detach floating IP %s: %w", f.FloatingIP, err)
	}
	logger.Info("Detached floating IP", "floatingIP", f.FloatingIP, "id", f.ID)
	return nil
}

// fipTarget is where a new floating IP is allocated; networkID "" means
// no external network was found.
type fipTarget struct{ networkID, subnetID string }

// ensureFIP makes the VIP port reachable through a floating IP unless the
// Service is internal (or IPv6), returning the external address ("" none).
// target is the floating network the plan already resolved; nil looks it
// up only if a floating IP has to be created.
func (l *LoadBalancer) ensureFIP(ctx context.Context, svc *v1.Service, sc *svcConfig, cluster, vipPort string, target *fipTarget) (string, error) {
	desc := fipDescription(cluster, svc)
	bound, err := l.fipsOn(ctx, floatingips.ListOpts{PortID: vipPort})
	if err != nil {
		return "", err
	}
	external := !sc.internal && sc.family != v1.IPv6Protocol
	var keep *floatingips.FloatingIP
	for i, f := range bound {
		if external && keep == nil && (sc.loadBalancerIP == "" || f.FloatingIP == sc.loadBalancerIP) {
			keep = &bound[i]
			continue
		}
		if err := l.releaseFIP(ctx, f, desc, sc.keepFIP); err != nil {
			return "", err
		}
	}
	if !external {
		return "", nil
	}
	if keep != nil {
		return keep.FloatingIP, nil
	}
	logger := klog.FromContext(ctx)
	if sc.loadBalancerIP != "" {
		found, err := l.fipsOn(ctx, floatingips.ListOpts{FloatingIP: sc.loadBalancerIP})
		if err != nil {
			return "", err
		}
		if len(found) > 0 {
			f := found[0]
			if f.PortID != "" && f.PortID != vipPort {
				return "", fmt.Errorf("floating IP %s (spec.loadBalancerIP) is already bound to port %s", f.FloatingIP, f.PortID)
			}
			if _, err := floatingips.Update(ctx, l.clients.Network, f.ID, floatingips.UpdateOpts{PortID: &vipPort}).Extract(); err != nil {
				return "", fmt.Errorf("associate floating IP %s with the VIP port: %w", f.FloatingIP, err)
			}
			logger.Info("Associated existing floating IP", "floatingIP", f.FloatingIP, "port", vipPort)
			return f.FloatingIP, nil
		}
	}
	if target == nil {
		netID, subnetID, err := l.floatingTarget(ctx, sc)
		if err != nil {
			return "", err
		}
		target = &fipTarget{networkID: netID, subnetID: subnetID}
	}
	netID, subnetID := target.networkID, target.subnetID
	if netID == "" {
		l.warn(svc, reasonForcedInternal, "No external network found (set %s or [LoadBalancer] floating-network-id); the load balancer is only reachable on its VIP", AnnFloatingNetworkID)
		return "", nil
	}
	f, err := floatingips.Create(ctx, l.clients.Network, floatingips.CreateOpts{
		FloatingNetworkID: netID, SubnetID: subnetID, PortID: vipPort, FloatingIP: sc.loadBalancerIP, Description: desc,
	}).Extract()
	if err != nil {
		return "", fmt.Errorf("create floating IP on network %s: %w", netID, err)
	}
	logger.Info("Created floating IP", "floatingIP", f.FloatingIP, "id", f.ID, "port", vipPort)
	return f.FloatingIP, nil
}

// floatingTarget is the floating network (annotation, cloud.conf, else the
// first external network with an IPv4 subnet) and optional subnet.
func (l *LoadBalancer) floatingTarget(ctx context.Context, sc *svcConfig) (string, string, error) {
	netID := sc.floatingNetworkID
	if netID != "" {
		if err := l.checkFloatingNetwork(ctx, sc); err != nil {
			return "", "", err
		}
	} else {
		yes := true
		pages, err := networks.List(l.clients.Network, external.ListOptsExt{ListOptsBuilder: networks.ListOpts{}, External: &yes}).AllPages(ctx)
		if err != nil {
			return "", "", fmt.Errorf("list external networks: %w", err)
		}
		nets, err := networks.ExtractNetworks(pages)
		if err != nil {
			return "", "", fmt.Errorf("list external networks: %w", err)
		}
		for _, n := range nets {
			subs, err := l.subnetsOf(ctx, n.ID)
			if err != nil {
				return "", "", err
			}
			if len(subs) > 0 {
				netID = n.ID
				break
			}
		}
	}
	if netID != "" && sc.floatingSubnetID != "" {
		if err := l.checkFloatingSubnet(ctx, sc, netID); err != nil {
			return "", "", err
		}
	}
	if netID != "" && sc.floatingSubnetID == "" && sc.floatingSubnet == "" && sc.floatingSubnetTags != "" {
		id, err := l.subnetByTags(ctx, sc, netID)
		return netID, id, err
	}
	if netID == "" || sc.floatingSubnetID != "" || sc.floatingSubnet == "" {
		return netID, sc.floatingSubnetID, nil
	}
	subs, err := l.subnetsOf(ctx, netID)
	if err != nil {
		return "", "", err
	}
	for _, s := range subs {
		if ok, err := matchName(sc.floatingSubnet, s.Name); err != nil {
			return "", "", err
		} else if ok {
			return netID, s.ID, nil
		}
	}
	return "", "", &refError{key: sc.origin(AnnFloatingSubnet), kind: "subnet pattern", id: sc.floatingSubnet,
		problem: "matches no IPv4 subnet of floating network " + netID}
}

func (l *LoadBalancer) subnetsOf(ctx context.Context, netID string) ([]subnets.Subnet, error) {
	pages, err := subnets.List(l.clients.Network, subnets.ListOpts{NetworkID: netID, IPVersion: 4}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list subnets of network %s: %w", netID, err)
	}
	return subnets.ExtractSubnets(pages)
}

// matchName implements OCCM's floating-subnet pattern: a glob, "~regexp",
// either negated by a leading "!".
func matchName(pattern, name string) (bool, error) {
	neg := strings.HasPrefix(pattern, "!")
	pattern = strings.TrimPrefix(pattern, "!")
	var ok bool
	if re, isRE := strings.CutPrefix(pattern, "~"); isRE {
		r, err := regexp.Compile(re)
		if err != nil {
			return false, &annotationError{key: AnnFloatingSubnet, value: pattern, allowed: "a glob, ~regexp or !pattern"}
		}
		ok = r.MatchString(name)
	} else {
		m, err := path.Match(pattern, name)
		if err != nil {
			return false, &annotationError{key: AnnFloatingSubnet, value: pattern, allowed: "a glob, ~regexp or !pattern"}
		}
		ok = m
	}
	return ok != neg, nil
}

// subnetByTags picks the floating subnet by OCCM's floating-subnet-tags:
// "a,b" any of the tags, "a&b" all of them, a leading "!" negates. The
// first matching IPv4 subnet by ID wins, so the choice is stable.
func (l *LoadBalancer) subnetByTags(ctx context.Context, sc *svcConfig, netID string) (string, error) {
	spec := strings.TrimSpace(sc.floatingSubnetTags)
	neg := strings.HasPrefix(spec, "!")
	spec = strings.TrimPrefix(spec, "!")
	all := strings.Contains(spec, "&")
	list := strings.Join(strings.FieldsFunc(spec, func(r rune) bool { return r == '&' || r == ',' }), ",")
	if list == "" {
		return "", &annotationError{key: sc.origin(AnnFloatingSubnetTags), value: sc.floatingSubnetTags, allowed: `tags separated by "," (any) or "&" (all), optionally negated by a leading "!"`}
	}
	opts := subnets.ListOpts{NetworkID: netID, IPVersion: 4}
	switch {
	case neg && all:
		opts.NotTags = list
	case neg:
		opts.NotTagsAny = list
	case all:
		opts.Tags = list
	default:
		opts.TagsAny = list
	}
	pages, err := subnets.List(l.clients.Network, opts).AllPages(ctx)
	if err != nil {
		return "", fmt.Errorf("list subnets of floating network %s by tags: %w", netID, err)
	}
	subs, err := subnets.ExtractSubnets(pages)
	if err != nil {
		return "", fmt.Errorf("list subnets of floating network %s by tags: %w", netID, err)
	}
	if len(subs) == 0 {
		return "", &refError{key: sc.origin(AnnFloatingSubnetTags), kind: "subnet tags", id: sc.floatingSubnetTags,
			problem: "match no IPv4 subnet of floating network " + netID}
	}
	slices.SortFunc(subs, func(a, b subnets.Subnet) int { return strings.Compare(a.ID, b.ID) })
	return subs[0].ID, nil
}
