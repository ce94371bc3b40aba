package openstacksim

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

const neutronPrefix = "/network/v2.0"

var neutronExtensions = []string{
	"external-net", "router", "extraroute", "extraroute-atomic", "allowed-address-pairs",
	"security-group", "port-security", "standard-attr-tag", "standard-attr-description",
	"standard-attr-timestamp", "standard-attr-revisions", "project-id", "pagination", "sorting",
	"binding", "quotas", "subnet_allocation", "net-mtu", "availability_zone",
}

func (s *Sim) neutronRoutes(mux *http.ServeMux) {
	p := neutronPrefix
	s.handle(mux, "GET /network/{$}", svcNeutron, "neutron.version_list", false, s.neutronVersions)
	s.handle(mux, "GET "+p+"/extensions", svcNeutron, "neutron.extension_list", true, s.extensionList)
	s.handle(mux, "GET "+p+"/extensions/{alias}", svcNeutron, "neutron.extension_get", true, s.extensionGet)
	s.handle(mux, "GET "+p+"/networks", svcNeutron, "neutron.network_list", true, s.networkList)
	s.handle(mux, "GET "+p+"/networks/{id}", svcNeutron, "neutron.network_get", true, s.networkGet)
	s.handle(mux, "GET "+p+"/subnets", svcNeutron, "neutron.subnet_list", true, s.subnetList)
	s.handle(mux, "GET "+p+"/subnets/{id}", svcNeutron, "neutron.subnet_get", true, s.subnetGet)
	s.handle(mux, "GET "+p+"/ports", svcNeutron, "neutron.port_list", true, s.portList)
	s.handle(mux, "POST "+p+"/ports", svcNeutron, "neutron.port_create", true, s.portCreate)
	s.handle(mux, "GET "+p+"/ports/{id}", svcNeutron, "neutron.port_get", true, s.portGet)
	s.handle(mux, "PUT "+p+"/ports/{id}", svcNeutron, "neutron.port_update", true, s.portUpdate)
	s.handle(mux, "DELETE "+p+"/ports/{id}", svcNeutron, "neutron.port_delete", true, s.portDelete)
	s.handle(mux, "PUT "+p+"/ports/{id}/tags/{tag}", svcNeutron, "neutron.port_tag_add", true, s.portTag(true))
	s.handle(mux, "DELETE "+p+"/ports/{id}/tags/{tag}", svcNeutron, "neutron.port_tag_delete", true, s.portTag(false))
}

func (s *Sim) neutronVersions(w http.ResponseWriter, r *http.Request, _ *Token) {
	simcore.WriteJSON(w, http.StatusOK, M{"versions": []M{{"id": "v2.0", "status": "CURRENT",
		"links": []M{{"rel": "self", "href": baseURL(r) + neutronPrefix + "/"}}}}})
}

func extensionView(alias string) M {
	return M{"alias": alias, "name": alias, "description": "simulated " + alias + " extension",
		"links": []M{}, "updated": "2013-01-01T00:00:00-00:00"}
}

func (s *Sim) extensionList(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out []M
	for _, a := range neutronExtensions {
		out = append(out, extensionView(a))
	}
	simcore.WriteJSON(w, http.StatusOK, M{"extensions": out})
}

func (s *Sim) extensionGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	if !contains(neutronExtensions, r.PathValue("alias")) {
		s.neutronError(w, 404, "ExtensionNotFound", "Extension with alias "+r.PathValue("alias")+" does not exist")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"extension": extensionView(r.PathValue("alias"))})
}

func neutronCommon(v M, projectID string, created, updated time.Time) M {
	v["tenant_id"], v["project_id"] = projectID, projectID
	v["created_at"], v["updated_at"] = created.Format(timeNeutron), updated.Format(timeNeutron)
	v["revision_number"] = 1
	if _, ok := v["tags"]; !ok {
		v["tags"] = []string{}
	}
	if _, ok := v["description"]; !ok {
		v["description"] = ""
	}
	return v
}

func (s *Sim) networkView(n *Network) M {
	var subs []string
	for _, sb := range n.Subnets {
		subs = append(subs, sb.ID)
	}
	return neutronCommon(M{"id": n.ID, "name": n.Name, "status": "ACTIVE", "admin_state_up": true,
		"subnets": strs(subs), "shared": n.External, "router:external": n.External, "mtu": 1450,
		"availability_zone_hints": []string{}, "availability_zones": []string{"nova"},
		"port_security_enabled": true}, s.users[0].ProjectID, n.Created, n.Created)
}

func (s *Sim) subnetView(n *Network, sb *Subnet) M {
	pfx, _ := netip.ParsePrefix(sb.CIDR)
	first, last := hostRange(pfx)
	return neutronCommon(M{"id": sb.ID, "name": sb.Name, "network_id": n.ID, "cidr": sb.CIDR,
		"ip_version": sb.IPVersion, "gateway_ip": nullable(sb.GatewayIP), "enable_dhcp": true,
		"allocation_pools": []M{{"start": first.String(), "end": last.String()}},
		"dns_nameservers":  []string{}, "host_routes": []M{}, "service_types": []string{},
		"ipv6_address_mode": nil, "ipv6_ra_mode": nil, "subnetpool_id": nil, "tags": strs(sb.Tags)}, s.users[0].ProjectID, n.Created, n.Created)
}

func (s *Sim) networkList(w http.ResponseWriter, r *http.Request, _ *Token) {
	var views []M
	s.read(func() {
		for _, n := range byCreated(s.state.Networks, func(v *Network) time.Time { return v.Created }, func(v *Network) string { return v.ID }) {
			views = append(views, s.networkView(n))
		}
	})
	s.writeList(w, r, svcNeutron, views, listOpts{key: "networks"})
}

func (s *Sim) networkGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if n := s.state.Networks[r.PathValue("id")]; n != nil {
			out = s.networkView(n)
		}
	})
	if out == nil {
		s.neutronError(w, 404, "NetworkNotFound", "Network "+r.PathValue("id")+" could not be found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"network": out})
}

func (s *Sim) subnetList(w http.ResponseWriter, r *http.Request, _ *Token) {
	var views []M
	s.read(func() {
		for _, n := range byCreated(s.state.Networks, func(v *Network) time.Time { return v.Created }, func(v *Network) string { return v.ID }) {
			for i := range n.Subnets {
				views = append(views, s.subnetView(n, &n.Subnets[i]))
			}
		}
	})
	s.writeList(w, r, svcNeutron, views, listOpts{key: "subnets"})
}

func (s *Sim) subnetGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if n, sb := s.findSubnetLocked(r.PathValue("id")); sb != nil {
			out = s.subnetView(n, sb)
		}
	})
	if out == nil {
		s.neutronError(w, 404, "SubnetNotFound", "Subnet "+r.PathValue("id")+" could not be found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"subnet": out})
}

func (s *Sim) findSubnetLocked(id string) (*Network, *Subnet) {
	for _, n := range s.state.Networks {
		for i := range n.Subnets {
			if n.Subnets[i].ID == id {
				return n, &n.Subnets[i]
			}
		}
	}
	return nil, nil
}

// addNetworkLocked stores a network, generating missing IDs and gateways.
func (s *Sim) addNetworkLocked(n Network) (Network, error) {
	if n.ID == "" {
		n.ID = newUUID()
	}
	if _, ok := s.state.Networks[n.ID]; ok {
		return Network{}, fmt.Errorf("network %s already exists", n.ID)
	}
	if n.Created.IsZero() {
		n.Created = s.now()
	}
	subs := make([]Subnet, 0, len(n.Subnets))
	for _, sb := range n.Subnets {
		pfx, err := netip.ParsePrefix(sb.CIDR)
		if err != nil {
			return Network{}, fmt.Errorf("subnet %q: %w", sb.Name, err)
		}
		sb.CIDR = pfx.Masked().String()
		if sb.ID == "" {
			sb.ID = newUUID()
		}
		if sb.IPVersion == 0 {
			sb.IPVersion = map[bool]int{true: 4, false: 6}[pfx.Addr().Is4()]
		}
		if sb.GatewayIP == "" {
			sb.GatewayIP = pfx.Masked().Addr().Next().String()
		}
		sb.NetworkID = n.ID
		subs = append(subs, sb)
	}
	n.Subnets = subs
	cp := n
	s.state.Networks[n.ID] = &cp
	return n, nil
}

// hostRange is the allocation pool of a prefix: gateway+1 .. broadcast-1.
func hostRange(p netip.Prefix) (netip.Addr, netip.Addr) {
	first := p.Masked().Addr().Next().Next()
	last := p.Masked().Addr()
	bits := p.Addr().BitLen() - p.Bits()
	if bits > 16 {
		bits = 16 // cap scans at 65536 addresses
	}
	for i := 0; i < (1<<bits)-2 && p.Contains(last.Next()); i++ {
		last = last.Next()
	}
	return first, last
}

// usedIPsLocked are the addresses taken on a subnet: port fixed IPs,
// floating IPs and the gateway.
func (s *Sim) usedIPsLocked(sb *Subnet) map[string]bool {
	used := map[string]bool{sb.GatewayIP: true}
	for _, p := range s.state.Ports {
		for _, ip := range p.FixedIPs {
			if ip.SubnetID == sb.ID {
				used[ip.IPAddress] = true
			}
		}
	}
	for _, f := range s.state.FloatingIPs {
		if f.FloatingNetworkID == sb.NetworkID {
			used[f.FloatingIPAddress] = true
		}
	}
	return used
}

// allocateIPLocked returns want (validated and free) or the first free
// address of the subnet; exhaustion is a 409 like Neutron's.
func (s *Sim) allocateIPLocked(sb *Subnet, want string) (string, int, string) {
	pfx, err := netip.ParsePrefix(sb.CIDR)
	if err != nil {
		return "", 500, "bad subnet CIDR " + sb.CIDR
	}
	used := s.usedIPsLocked(sb)
	if want != "" {
		a, err := netip.ParseAddr(want)
		if err != nil || !pfx.Contains(a) {
			return "", 400, "IP address " + want + " is not a valid IP for the specified subnet."
		}
		if used[a.String()] {
			return "", 409, "Unable to complete operation for network " + sb.NetworkID + ". The IP address " + want + " is in use."
		}
		return a.String(), 0, ""
	}
	first, last := hostRange(pfx)
	for a := first; a.Compare(last) <= 0; a = a.Next() {
		if !used[a.String()] {
			return a.String(), 0, ""
		}
	}
	return "", 409, "No more IP addresses available on network " + sb.NetworkID + "."
}

func randomMAC() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2])
}

func (s *Sim) newPortLocked(networkID, name, deviceID, owner string, fixed []FixedIP) *Port {
	now := s.now()
	p := &Port{ID: newUUID(), Name: name, NetworkID: networkID, DeviceID: deviceID, DeviceOwner: owner,
		Status: "ACTIVE", MACAddress: randomMAC(), FixedIPs: fixed, PortSecurityEnabled: true,
		ProjectID: s.users[0].ProjectID, Created: now, Updated: now}
	s.state.Ports[p.ID] = p
	return p
}

// deletePortLocked removes a port, disassociating its floating IPs.
func (s *Sim) deletePortLocked(id string) {
	for _, f := range s.state.FloatingIPs {
		if f.PortID == id {
			f.PortID, f.FixedIPAddress, f.Updated = "", "", s.now()
		}
	}
	delete(s.state.Ports, id)
}

func portView(p *Port) M {
	fixed := []M{}
	for _, ip := range p.FixedIPs {
		fixed = append(fixed, M{"subnet_id": ip.SubnetID, "ip_address": ip.IPAddress})
	}
	pairs := []M{}
	for _, ap := range p.AllowedAddressPairs {
		mac := ap.MACAddress
		if mac == "" {
			mac = p.MACAddress
		}
		pairs = append(pairs, M{"ip_address": ap.IPAddress, "mac_address": mac})
	}
	return neutronCommon(M{"id": p.ID, "name": p.Name, "description": p.Description, "network_id": p.NetworkID,
		"admin_state_up": true, "status": p.Status, "mac_address": p.MACAddress, "fixed_ips": fixed,
		"device_id": p.DeviceID, "device_owner": p.DeviceOwner, "security_groups": strs(p.SecurityGroups),
		"allowed_address_pairs": pairs, "tags": strs(p.Tags), "port_security_enabled": p.PortSecurityEnabled,
		"binding:vnic_type": "normal", "propagate_uplink_status": false}, p.ProjectID, p.Created, p.Updated)
}

func (s *Sim) portList(w http.ResponseWriter, r *http.Request, _ *Token) {
	var views []M
	fixedFilters := r.URL.Query()["fixed_ips"]
	s.read(func() {
		for _, p := range byCreated(s.state.Ports, func(v *Port) time.Time { return v.Created }, func(v *Port) string { return v.ID }) {
			if matchFixedIPs(p, fixedFilters) {
				views = append(views, portView(p))
			}
		}
	})
	s.writeList(w, r, svcNeutron, views, listOpts{key: "ports", skip: map[string]bool{"fixed_ips": true}})
}

// matchFixedIPs applies ?fixed_ips=ip_address=X / subnet_id=Y filters.
func matchFixedIPs(p *Port, filters []string) bool {
	for _, f := range filters {
		k, v, _ := strings.Cut(f, "=")
		ok := false
		for _, ip := range p.FixedIPs {
			if (k == "ip_address" && ip.IPAddress == v) || (k == "subnet_id" && ip.SubnetID == v) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (s *Sim) portGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if p := s.state.Ports[r.PathValue("id")]; p != nil {
			out = portView(p)
		}
	})
	if out == nil {
		s.neutronError(w, 404, "PortNotFound", "Port "+r.PathValue("id")+" could not be found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"port": out})
}

type portRequest struct {
	NetworkID           string         `json:"network_id"`
	Name                *string        `json:"name"`
	Description         *string        `json:"description"`
	FixedIPs            []FixedIP      `json:"fixed_ips"`
	DeviceID            *string        `json:"device_id"`
	DeviceOwner         *string        `json:"device_owner"`
	SecurityGroups      *[]string      `json:"security_groups"`
	AllowedAddressPairs *[]AddressPair `json:"allowed_address_pairs"`
	PortSecurityEnabled *bool          `json:"port_security_enabled"`
	Tags                []string       `json:"tags"`
}

// applyPortLocked validates and applies the mutable fields of a port.
func (s *Sim) applyPortLocked(p *Port, in portRequest) (int, string) {
	if in.SecurityGroups != nil {
		for _, id := range *in.SecurityGroups {
			if s.state.SecurityGroups[id] == nil {
				return 404, "Security group " + id + " does not exist"
			}
		}
	}
	if in.AllowedAddressPairs != nil {
		for _, ap := range *in.AllowedAddressPairs {
			if _, err := netip.ParsePrefix(ap.IPAddress); err != nil {
				if _, err := netip.ParseAddr(ap.IPAddress); err != nil {
					return 400, "Invalid input for allowed_address_pairs: '" + ap.IPAddress + "' is not a valid IP address or CIDR"
				}
			}
		}
	}
	setIf(&p.Name, in.Name)
	setIf(&p.Description, in.Description)
	setIf(&p.DeviceID, in.DeviceID)
	setIf(&p.DeviceOwner, in.DeviceOwner)
	setIf(&p.SecurityGroups, in.SecurityGroups)
	setIf(&p.AllowedAddressPairs, in.AllowedAddressPairs)
	setIf(&p.PortSecurityEnabled, in.PortSecurityEnabled)
	if in.Tags != nil {
		p.Tags = in.Tags
	}
	p.Updated = s.now()
	return 0, ""
}

func (s *Sim) portCreate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		Port portRequest `json:"port"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcNeutron, 400, err.Error())
		return
	}
	in := req.Port
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		n := s.state.Networks[in.NetworkID]
		if n == nil || len(n.Subnets) == 0 {
			code, msg = 404, "Network "+in.NetworkID+" could not be found."
			return
		}
		want := in.FixedIPs
		if len(want) == 0 {
			want = []FixedIP{{SubnetID: n.Subnets[0].ID}}
		}
		var fixed []FixedIP
		for _, f := range want {
			sb := &n.Subnets[0]
			if f.SubnetID != "" {
				if _, sb = s.findSubnetLocked(f.SubnetID); sb == nil || sb.NetworkID != n.ID {
					code, msg = 400, "Invalid input for operation: subnet "+f.SubnetID+" is not on network "+n.ID+"."
					return
				}
			}
			var addr string
			if addr, code, msg = s.allocateIPLocked(sb, f.IPAddress); code != 0 {
				return
			}
			fixed = append(fixed, FixedIP{SubnetID: sb.ID, IPAddress: addr})
		}
		p := s.newPortLocked(n.ID, "", "", "", fixed)
		p.Status = "DOWN"
		if code, msg = s.applyPortLocked(p, in); code != 0 {
			delete(s.state.Ports, p.ID)
			return
		}
		out = portView(p)
	})
	if code != 0 {
		s.fail(w, svcNeutron, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusCreated, M{"port": out})
}

func (s *Sim) portUpdate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		Port portRequest `json:"port"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcNeutron, 400, err.Error())
		return
	}
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		p := s.state.Ports[r.PathValue("id")]
		if p == nil {
			code, msg = 404, "Port "+r.PathValue("id")+" could not be found."
			return
		}
		if code, msg = s.applyPortLocked(p, req.Port); code == 0 {
			out = portView(p)
		}
	})
	if code != 0 {
		s.fail(w, svcNeutron, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"port": out})
}

func (s *Sim) portDelete(w http.ResponseWriter, r *http.Request, _ *Token) {
	found := false
	s.mutate(func() {
		if s.state.Ports[r.PathValue("id")] != nil {
			found = true
			s.deletePortLocked(r.PathValue("id"))
		}
	})
	if !found {
		s.neutronError(w, 404, "PortNotFound", "Port "+r.PathValue("id")+" could not be found.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) portTag(add bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *Token) {
		code := 0
		s.mutate(func() {
			p := s.state.Ports[r.PathValue("id")]
			if p == nil {
				code = 404
				return
			}
			tag := r.PathValue("tag")
			var kept []string
			for _, t := range p.Tags {
				if t != tag {
					kept = append(kept, t)
				} else if !add {
					code = -1 // found
				}
			}
			if !add && code != -1 {
				code = 404
				return
			}
			if add {
				kept = append(kept, tag)
			}
			p.Tags, code = kept, 0
		})
		switch {
		case code == 404:
			s.neutronError(w, 404, "NotFound", "Tag or port not found.")
		case add:
			w.WriteHeader(http.StatusCreated)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}
}
