package openstack

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	v1 "k8s.io/api/core/v1"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

func addr(typ v1.NodeAddressType, a string) v1.NodeAddress {
	return v1.NodeAddress{Type: typ, Address: a}
}

func internal(a string) v1.NodeAddress { return addr(v1.NodeInternalIP, a) }
func external(a string) v1.NodeAddress { return addr(v1.NodeExternalIP, a) }

func novaAddrs(m map[string][][2]string) map[string]any {
	out := map[string]any{}
	for net, list := range m {
		var l []any
		for _, a := range list {
			l = append(l, map[string]any{"addr": a[0], "OS-EXT-IPS:type": a[1]})
		}
		out[net] = l
	}
	return out
}

func activePort(status string, ips ...string) ports.Port {
	p := ports.Port{Status: status}
	for _, ip := range ips {
		p.FixedIPs = append(p.FixedIPs, ports.IP{IPAddress: ip})
	}
	return p
}

func mustPrefixes(t *testing.T, ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// TestNodeAddressRules follows OCCM's nodeAddresses rules case by case.
func TestNodeAddressRules(t *testing.T) {
	base := servers.Server{
		ID: "s1",
		Addresses: novaAddrs(map[string][][2]string{
			"private": {{"10.0.0.5", "fixed"}, {"203.0.113.7", "floating"}},
			"storage": {{"192.168.5.5", "fixed"}},
			"v6net":   {{"2001:db8::5", "fixed"}},
		}),
	}
	withAccess := base
	withAccess.AccessIPv4, withAccess.AccessIPv6 = "198.51.100.1", "2001:db8:ff::1"
	withAccess.Metadata = map[string]string{"hostname": "node-a.example"}

	for _, tc := range []struct {
		name  string
		srv   servers.Server
		ports []ports.Port
		opts  config.Networking
		want  []v1.NodeAddress
	}{{
		name: "defaults: networks sorted by name, floating is external",
		srv:  base,
		want: []v1.NodeAddress{internal("10.0.0.5"), external("203.0.113.7"), internal("192.168.5.5"), internal("2001:db8::5")},
	}, {
		name:  "active port IPs first, DOWN ports ignored, duplicates dropped",
		srv:   base,
		ports: []ports.Port{activePort("ACTIVE", "10.0.0.5", "10.0.0.99"), activePort("DOWN", "10.0.0.200")},
		want:  []v1.NodeAddress{internal("10.0.0.5"), internal("10.0.0.99"), external("203.0.113.7"), internal("192.168.5.5"), internal("2001:db8::5")},
	}, {
		name: "accessIPv4/6 and hostname metadata",
		srv:  withAccess,
		want: []v1.NodeAddress{external("198.51.100.1"), external("2001:db8:ff::1"), addr(v1.NodeHostName, "node-a.example"),
			internal("10.0.0.5"), external("203.0.113.7"), internal("192.168.5.5"), internal("2001:db8::5")},
	}, {
		name:  "public-network-name turns a network external and removes it from internal",
		srv:   base,
		ports: []ports.Port{activePort("ACTIVE", "192.168.5.5")},
		opts:  config.Networking{PublicNetworkName: []string{"storage"}},
		want:  []v1.NodeAddress{internal("10.0.0.5"), external("203.0.113.7"), external("192.168.5.5"), internal("2001:db8::5")},
	}, {
		name:  "internal-network-name drops other networks' fixed addresses, even port ones",
		srv:   base,
		ports: []ports.Port{activePort("ACTIVE", "192.168.5.5")},
		opts:  config.Networking{InternalNetworkName: []string{"private"}},
		want:  []v1.NodeAddress{internal("10.0.0.5"), external("203.0.113.7")},
	}, {
		name:  "ipv6-support-disabled",
		srv:   withAccess,
		ports: []ports.Port{activePort("ACTIVE", "2001:db8::5", "10.0.0.5")},
		opts:  config.Networking{IPv6SupportDisabled: true},
		want: []v1.NodeAddress{internal("10.0.0.5"), external("198.51.100.1"), addr(v1.NodeHostName, "node-a.example"),
			external("203.0.113.7"), internal("192.168.5.5")},
	}, {
		name: "address-sort-order: earlier CIDR first, ascending IP inside, rest keeps order",
		srv: servers.Server{Addresses: novaAddrs(map[string][][2]string{
			"a": {{"10.0.0.9", "fixed"}, {"192.168.1.2", "fixed"}, {"10.0.0.3", "fixed"}, {"172.16.0.1", "fixed"}, {"192.168.1.1", "fixed"}},
		}), Metadata: map[string]string{"hostname": "h"}},
		opts: config.Networking{AddressSortOrder: mustPrefixes(t, "192.168.0.0/16", "10.0.0.0/8")},
		want: []v1.NodeAddress{internal("192.168.1.1"), internal("192.168.1.2"), internal("10.0.0.3"), internal("10.0.0.9"),
			addr(v1.NodeHostName, "h"), internal("172.16.0.1")},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := nodeAddresses(&tc.srv, tc.ports, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("addresses\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestInstanceMetadataAddressesFromSimulator checks the same rules on the
// wire: ports, floating IP, accessIPv4 and public-network-name as the
// simulator (Nova + Neutron) serves them.
func TestInstanceMetadataAddressesFromSimulator(t *testing.T) {
	e := newEnv(t, "\n[Networking]\npublic-network-name = dmz\naddress-sort-order = 203.0.113.0/24\n")
	if _, err := e.sim.AddNetwork(openstacksim.Network{Name: "dmz", Subnets: []openstacksim.Subnet{{Name: "dmz-subnet", CIDR: "198.18.0.0/24", IPVersion: 4}}}); err != nil {
		t.Fatal(err)
	}
	sv := e.addServer(t, openstacksim.Server{Name: "web-1", AccessIPv4: "198.51.100.9", Metadata: map[string]string{"hostname": "web-1.internal"},
		Addresses: map[string][]openstacksim.Address{
			"private": {{Addr: "10.0.0.21"}, {Addr: "203.0.113.21", Type: "floating"}},
			"dmz":     {{Addr: "198.18.0.21"}},
		}})
	p := e.provider(t, Options{})
	md, err := p.InstanceMetadata(e.ctx, uninitializedNode("web-1", ""))
	if err != nil {
		t.Fatal(err)
	}
	want := []v1.NodeAddress{external("203.0.113.21"), internal("10.0.0.21"), external("198.51.100.9"),
		addr(v1.NodeHostName, "web-1.internal"), external("198.18.0.21")}
	if !slices.Equal(md.NodeAddresses, want) {
		t.Errorf("addresses\n got %v\nwant %v", md.NodeAddresses, want)
	}
	if md.ProviderID != "openstack:///"+sv.ID || md.InstanceType != "m1.medium" || md.Zone != "nova" || md.Region != "RegionOne" {
		t.Errorf("metadata = %+v", md)
	}
}
