package openstacksim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"sort"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// Seed is the JSON seed file: servers, networks and Cinder volume types
// to create.
type Seed struct {
	Servers     []Server     `json:"servers"`
	Networks    []Network    `json:"networks"`
	VolumeTypes []VolumeType `json:"volume_types"`
	// CinderZones, when set, are Cinder's only availability zones.
	CinderZones []string `json:"cinder_zones,omitempty"`
}

// AddServer creates a server (ID generated when empty) and a Neutron port
// per fixed address (device_id = server ID); floating addresses become
// floating IPs associated with the server's first fixed port.
func (s *Sim) AddServer(sv Server) (Server, error) {
	var out Server
	var err error
	s.mutate(func() { out, err = s.addServerLocked(sv) })
	return out, err
}

func (s *Sim) networkByNameLocked(name string) *Network {
	for _, id := range sortedKeys(s.state.Networks) {
		if n := s.state.Networks[id]; n.Name == name {
			return n
		}
	}
	return nil
}

func (s *Sim) addServerLocked(sv Server) (Server, error) {
	if sv.ID == "" {
		sv.ID = newUUID()
	}
	if s.state.Servers[sv.ID] != nil {
		return Server{}, fmt.Errorf("server %s already exists", sv.ID)
	}
	sv.Status = orDefault(sv.Status, "ACTIVE")
	sv.AZ = orDefault(sv.AZ, "nova")
	sv.FlavorID = orDefault(sv.FlavorID, "3")
	sv.ProjectID = orDefault(sv.ProjectID, s.users[0].ProjectID)
	if sv.Created.IsZero() {
		sv.Created = s.now()
	}
	sv.Updated = sv.Created
	type floating struct{ net, addr string }
	var fips []floating
	fixed := map[string][]Address{}
	var ports []*Port
	for _, netName := range sortedKeys(sv.Addresses) {
		for _, a := range sv.Addresses[netName] {
			ip, err := netip.ParseAddr(a.Addr)
			if err != nil {
				return Server{}, fmt.Errorf("server %s: address %q: %w", sv.Name, a.Addr, err)
			}
			a.Version = map[bool]int{true: 4, false: 6}[ip.Is4()]
			if a.Type == "floating" {
				fips = append(fips, floating{netName, a.Addr})
				continue
			}
			a.Type = "fixed"
			sb, err := s.subnetForLocked(netName, ip)
			if err != nil {
				return Server{}, fmt.Errorf("server %s: %w", sv.Name, err)
			}
			if s.usedIPsLocked(sb)[ip.String()] {
				return Server{}, fmt.Errorf("server %s: address %s already in use", sv.Name, a.Addr)
			}
			p := s.newPortLocked(sb.NetworkID, "", sv.ID, "compute:"+sv.AZ, []FixedIP{{SubnetID: sb.ID, IPAddress: ip.String()}})
			if g := s.defaultSGLocked(); g != "" {
				p.SecurityGroups = []string{g}
			}
			ports = append(ports, p)
			fixed[netName] = append(fixed[netName], a)
		}
	}
	sv.Addresses = fixed
	cp := sv
	s.state.Servers[sv.ID] = &cp
	for _, f := range fips {
		if err := s.seedFloatingLocked(&cp, ports, f.net, f.addr); err != nil {
			return Server{}, err
		}
	}
	return s.serverCopyLocked(&cp), nil
}

// subnetForLocked finds the subnet of network netName holding ip, creating
// the network (with a /24 or /64 subnet) when it does not exist yet.
func (s *Sim) subnetForLocked(netName string, ip netip.Addr) (*Subnet, error) {
	n := s.networkByNameLocked(netName)
	if n == nil {
		bits := map[bool]int{true: 24, false: 64}[ip.Is4()]
		pfx := netip.PrefixFrom(ip, bits).Masked()
		created, err := s.addNetworkLocked(Network{Name: netName, Subnets: []Subnet{{Name: netName + "-subnet", CIDR: pfx.String()}}})
		if err != nil {
			return nil, err
		}
		n = s.state.Networks[created.ID]
	}
	for i := range n.Subnets {
		if p, err := netip.ParsePrefix(n.Subnets[i].CIDR); err == nil && p.Contains(ip) {
			return &n.Subnets[i], nil
		}
	}
	return nil, fmt.Errorf("address %s is on no subnet of network %s", ip, netName)
}

func (s *Sim) defaultSGLocked() string {
	for _, id := range sortedKeys(s.state.SecurityGroups) {
		if s.state.SecurityGroups[id].Name == "default" {
			return id
		}
	}
	return ""
}

func (s *Sim) seedFloatingLocked(sv *Server, ports []*Port, netName, addr string) error {
	var port *Port
	for _, p := range ports {
		if n := s.state.Networks[p.NetworkID]; n != nil && n.Name == netName && port == nil {
			port = p
		}
	}
	if port == nil && len(ports) > 0 {
		port = ports[0]
	}
	var ext *Network
	var sb *Subnet
	ip, _ := netip.ParseAddr(addr)
	for _, id := range sortedKeys(s.state.Networks) {
		n := s.state.Networks[id]
		for i := range n.Subnets {
			if p, err := netip.ParsePrefix(n.Subnets[i].CIDR); err == nil && n.External && p.Contains(ip) && ext == nil {
				ext, sb = n, &n.Subnets[i]
			}
		}
	}
	if ext == nil || port == nil {
		return fmt.Errorf("server %s: floating address %s needs an external network containing it and a fixed port", sv.Name, addr)
	}
	if _, code, msg := s.allocateIPLocked(sb, addr); code != 0 {
		return fmt.Errorf("server %s: floating address %s: %s", sv.Name, addr, msg)
	}
	now := s.now()
	f := &FloatingIP{ID: newUUID(), FloatingNetworkID: ext.ID, FloatingIPAddress: addr, ProjectID: sv.ProjectID, Created: now, Updated: now}
	if code, _, msg := s.associateLocked(f, port.ID, ""); code != 0 {
		return fmt.Errorf("server %s: %s", sv.Name, msg)
	}
	s.state.FloatingIPs[f.ID] = f
	return nil
}

// serverAddressesLocked is the Nova addresses map: the fixed addresses plus
// floating IPs associated with the server's ports (under the port's network).
func (s *Sim) serverAddressesLocked(sv *Server) map[string][]Address {
	out := map[string][]Address{}
	for k, v := range sv.Addresses {
		out[k] = append([]Address(nil), v...)
	}
	ids := sortedKeys(s.state.FloatingIPs)
	for _, id := range ids {
		f := s.state.FloatingIPs[id]
		p := s.state.Ports[f.PortID]
		if p == nil || p.DeviceID != sv.ID {
			continue
		}
		name := p.NetworkID
		if n := s.state.Networks[p.NetworkID]; n != nil {
			name = n.Name
		}
		out[name] = append(out[name], Address{Addr: f.FloatingIPAddress, Version: 4, Type: "floating"})
	}
	return out
}

func (s *Sim) serverCopyLocked(sv *Server) Server {
	cp := *sv
	cp.Addresses = s.serverAddressesLocked(sv)
	cp.Metadata = map[string]string{}
	for k, v := range sv.Metadata {
		cp.Metadata[k] = v
	}
	return cp
}

// AddNetwork creates a network with its subnets (IDs generated when empty).
func (s *Sim) AddNetwork(n Network) (Network, error) {
	var out Network
	var err error
	s.mutate(func() { out, err = s.addNetworkLocked(n) })
	return out, err
}

// SetServerStatus sets a server's status (ACTIVE, SHUTOFF, …).
func (s *Sim) SetServerStatus(id, status string) error {
	var err error
	s.mutate(func() {
		sv := s.state.Servers[id]
		if sv == nil || status == "" {
			err = fmt.Errorf("openstacksim: server %q not found or empty status", id)
			return
		}
		sv.Status, sv.Updated = status, s.now()
	})
	return err
}

// DeleteServer removes a server like Nova does: its volumes are detached
// and its ports deleted.
func (s *Sim) DeleteServer(id string) error {
	var err error
	s.mutate(func() {
		if s.state.Servers[id] == nil {
			err = fmt.Errorf("openstacksim: server %q not found", id)
			return
		}
		for _, vid := range sortedKeys(s.state.Volumes) {
			v := s.state.Volumes[vid]
			var kept []VolumeAttachment
			for _, a := range v.Attachments {
				if a.ServerID != id {
					kept = append(kept, a)
				}
			}
			if len(kept) == len(v.Attachments) {
				continue
			}
			wasLocal := s.local[id]
			v.Attachments = kept
			if wasLocal {
				s.localDetachLocked(v)
			}
			if len(kept) == 0 && (v.Status == "in-use" || v.Status == "attaching" || v.Status == "detaching") {
				v.Status, v.Pending, v.Updated = "available", nil, s.now()
			}
		}
		for pid, p := range s.state.Ports {
			if p.DeviceID == id {
				s.deletePortLocked(pid)
			}
		}
		delete(s.state.Servers, id)
	})
	return err
}

// SetMetadataServer selects the server the metadata service describes.
func (s *Sim) SetMetadataServer(id string) {
	s.mutate(func() { s.state.MetadataServer = id })
}

// LoadSeed reads a JSON seed file {"servers":[…],"networks":[…],
// "volume_types":[…]} and adds what is not there yet (each by ID or name), so
// loading it again after a restart is harmless.
func (s *Sim) LoadSeed(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var seed Seed
	if err := json.Unmarshal(data, &seed); err != nil {
		return fmt.Errorf("openstacksim: seed %s: %w", path, err)
	}
	return s.applySeed(seed)
}

func (s *Sim) applySeed(seed Seed) error {
	var err error
	s.mutate(func() {
		for _, n := range seed.Networks {
			if s.state.Networks[n.ID] != nil || (n.ID == "" && s.networkByNameLocked(n.Name) != nil) {
				continue
			}
			if _, err = s.addNetworkLocked(n); err != nil {
				return
			}
		}
		for _, vt := range seed.VolumeTypes {
			if s.state.VolumeTypes[vt.ID] != nil || s.volumeTypeLocked(vt.Name) != nil {
				continue
			}
			if _, err = s.addVolumeTypeLocked(vt); err != nil {
				return
			}
		}
		if len(seed.CinderZones) > 0 {
			s.state.CinderZones = slices.Clone(seed.CinderZones)
		}
		for _, sv := range seed.Servers {
			if s.state.Servers[sv.ID] != nil || (sv.ID == "" && s.serverByNameLocked(sv.Name) != nil) {
				continue
			}
			if _, err = s.addServerLocked(sv); err != nil {
				return
			}
		}
	})
	return err
}

func (s *Sim) serverByNameLocked(name string) *Server {
	for _, sv := range s.state.Servers {
		if sv.Name == name {
			return sv
		}
	}
	return nil
}

func (s *Sim) adminRoutes(mux *http.ServeMux) {
	p := AdminPrefix
	core := simcore.AdminHandler(p, s.controls)
	mux.Handle(p, core)
	bad := func(w http.ResponseWriter, err error) {
		simcore.WriteJSON(w, http.StatusBadRequest, M{"error": err.Error()})
	}
	mux.HandleFunc("POST "+p+"servers", func(w http.ResponseWriter, r *http.Request) {
		var sv Server
		if err := decode(r, &sv); err != nil {
			bad(w, err)
			return
		}
		out, err := s.AddServer(sv)
		if err != nil {
			bad(w, err)
			return
		}
		simcore.WriteJSON(w, http.StatusCreated, out)
	})
	mux.HandleFunc("DELETE "+p+"servers/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.DeleteServer(r.PathValue("id")); err != nil {
			simcore.WriteJSON(w, http.StatusNotFound, M{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PUT "+p+"servers/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Status string `json:"status"`
		}
		if err := decode(r, &body); err != nil {
			bad(w, err)
			return
		}
		if err := s.SetServerStatus(r.PathValue("id"), body.Status); err != nil {
			simcore.WriteJSON(w, http.StatusNotFound, M{"error": err.Error()})
			return
		}
		simcore.WriteJSON(w, http.StatusOK, body)
	})
	mux.HandleFunc("POST "+p+"networks", func(w http.ResponseWriter, r *http.Request) {
		var n Network
		if err := decode(r, &n); err != nil {
			bad(w, err)
			return
		}
		out, err := s.AddNetwork(n)
		if err != nil {
			bad(w, err)
			return
		}
		simcore.WriteJSON(w, http.StatusCreated, out)
	})
	mux.HandleFunc("POST "+p+"volume-types", func(w http.ResponseWriter, r *http.Request) {
		var vt VolumeType
		if err := decode(r, &vt); err != nil {
			bad(w, err)
			return
		}
		out, err := s.AddVolumeType(vt)
		if err != nil {
			bad(w, err)
			return
		}
		simcore.WriteJSON(w, http.StatusCreated, out)
	})
	mux.HandleFunc("POST "+p+"seed", func(w http.ResponseWriter, r *http.Request) {
		var seed Seed
		if err := decode(r, &seed); err != nil {
			bad(w, err)
			return
		}
		if err := s.applySeed(seed); err != nil {
			bad(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+p+"state", func(w http.ResponseWriter, r *http.Request) {
		simcore.WriteJSON(w, http.StatusOK, s.Snapshot())
	})
	mux.HandleFunc("POST "+p+"local-servers", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Servers []string `json:"servers"`
		}
		if err := decode(r, &body); err != nil {
			bad(w, err)
			return
		}
		sort.Strings(body.Servers)
		s.SetLocalServers(body.Servers...)
		simcore.WriteJSON(w, http.StatusOK, body)
	})
	mux.HandleFunc("PUT "+p+"volume-quota", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Gigabytes int `json:"gigabytes"`
		}
		if err := decode(r, &body); err != nil || body.Gigabytes < 0 {
			bad(w, fmt.Errorf("want {\"gigabytes\": N >= 0}: %v", err))
			return
		}
		s.SetVolumeQuotaGB(body.Gigabytes)
		simcore.WriteJSON(w, http.StatusOK, body)
	})
	mux.HandleFunc("PUT "+p+"cinder-zones", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Zones []string `json:"zones"`
		}
		if err := decode(r, &body); err != nil {
			bad(w, err)
			return
		}
		s.SetCinderZones(body.Zones...)
		simcore.WriteJSON(w, http.StatusOK, body)
	})
	// An older Octavia: {"version":"v2.11"} ("" the newest).
	mux.HandleFunc("PUT "+p+"octavia-version", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Version string `json:"version"`
		}
		if err := decode(r, &body); err != nil {
			bad(w, err)
			return
		}
		if err := s.SetOctaviaVersion(body.Version); err != nil {
			bad(w, err)
			return
		}
		simcore.WriteJSON(w, http.StatusOK, body)
	})
	mux.HandleFunc("PUT "+p+"metadata-server", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ID string `json:"id"`
		}
		if err := decode(r, &body); err != nil {
			bad(w, err)
			return
		}
		s.SetMetadataServer(body.ID)
		simcore.WriteJSON(w, http.StatusOK, body)
	})
}
