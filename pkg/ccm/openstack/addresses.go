package openstack

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"sort"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	v1 "k8s.io/api/core/v1"

	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// novaAddress is one entry of a server's "addresses" map.
type novaAddress struct {
	Addr string `json:"addr"`
	Type string `json:"OS-EXT-IPS:type"`
}

// nodeAddresses computes a node's addresses with OCCM's rules, in order:
// fixed IPs of the server's ACTIVE ports (InternalIP), accessIPv4/6
// (ExternalIP), metadata "hostname" (Hostname), then the Nova addresses
// map by network name: floating → ExternalIP, [Networking]
// public-network-name → ExternalIP (dropping the same address as
// InternalIP), other networks → InternalIP unless internal-network-name is
// set and does not list them (the address is then dropped altogether).
// address-sort-order finally orders the list by CIDR priority.
func nodeAddresses(srv *servers.Server, serverPorts []ports.Port, opts config.Networking) ([]v1.NodeAddress, error) {
	var addrs []v1.NodeAddress
	skipV6 := func(a string) bool {
		ip, err := netip.ParseAddr(a)
		return opts.IPv6SupportDisabled && err == nil && ip.Unmap().Is6()
	}
	for _, p := range serverPorts {
		if p.Status != "ACTIVE" {
			continue
		}
		for _, f := range p.FixedIPs {
			if !skipV6(f.IPAddress) {
				addAddress(&addrs, v1.NodeAddress{Type: v1.NodeInternalIP, Address: f.IPAddress})
			}
		}
	}
	if srv.AccessIPv4 != "" {
		addAddress(&addrs, v1.NodeAddress{Type: v1.NodeExternalIP, Address: srv.AccessIPv4})
	}
	if srv.AccessIPv6 != "" && !opts.IPv6SupportDisabled {
		addAddress(&addrs, v1.NodeAddress{Type: v1.NodeExternalIP, Address: srv.AccessIPv6})
	}
	if h := srv.Metadata["hostname"]; h != "" {
		addAddress(&addrs, v1.NodeAddress{Type: v1.NodeHostName, Address: h})
	}

	var byNet map[string][]novaAddress
	if len(srv.Addresses) > 0 {
		raw, err := json.Marshal(srv.Addresses)
		if err == nil {
			err = json.Unmarshal(raw, &byNet)
		}
		if err != nil {
			return nil, fmt.Errorf("server %s: cannot decode addresses: %w", srv.ID, err)
		}
	}
	networks := make([]string, 0, len(byNet))
	for n := range byNet {
		networks = append(networks, n)
	}
	sort.Strings(networks)
	for _, network := range networks {
		for _, a := range byNet[network] {
			var typ v1.NodeAddressType
			switch {
			case a.Type == "floating":
				typ = v1.NodeExternalIP
			case slices.Contains(opts.PublicNetworkName, network):
				typ = v1.NodeExternalIP
				removeAddress(&addrs, a.Addr)
			case len(opts.InternalNetworkName) == 0 || slices.Contains(opts.InternalNetworkName, network):
				typ = v1.NodeInternalIP
			default:
				removeAddress(&addrs, a.Addr)
				continue
			}
			if !skipV6(a.Addr) {
				addAddress(&addrs, v1.NodeAddress{Type: typ, Address: a.Addr})
			}
		}
	}
	if len(opts.AddressSortOrder) > 0 {
		sortAddresses(addrs, opts.AddressSortOrder)
	}
	return addrs, nil
}

// addAddress appends a unless the same (type, address) is present.
func addAddress(addrs *[]v1.NodeAddress, a v1.NodeAddress) {
	if !slices.Contains(*addrs, a) {
		*addrs = append(*addrs, a)
	}
}

// removeAddress drops every entry with this address, whatever its type.
func removeAddress(addrs *[]v1.NodeAddress, address string) {
	*addrs = slices.DeleteFunc(*addrs, func(a v1.NodeAddress) bool { return a.Address == address })
}

// sortAddresses orders addresses by the first prefix of order containing
// them (earlier = first) and by ascending IP within a prefix; addresses in
// no prefix (and host names) keep their relative order at the end.
func sortAddresses(addrs []v1.NodeAddress, order []netip.Prefix) {
	rank := func(a v1.NodeAddress) (int, netip.Addr) {
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			return len(order), netip.Addr{}
		}
		ip = ip.Unmap()
		for i, p := range order {
			if p.Contains(ip) {
				return i, ip
			}
		}
		return len(order), ip
	}
	sort.SliceStable(addrs, func(i, j int) bool {
		ri, ipi := rank(addrs[i])
		rj, ipj := rank(addrs[j])
		if ri != rj {
			return ri < rj
		}
		return ri < len(order) && ipi.Less(ipj)
	})
}
