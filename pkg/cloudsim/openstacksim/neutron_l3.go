package openstacksim

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

func (s *Sim) neutronL3Routes(mux *http.ServeMux) {
	p := neutronPrefix
	s.handle(mux, "GET "+p+"/floatingips", svcNeutron, "neutron.floatingip_list", true, s.fipList)
	s.handle(mux, "POST "+p+"/floatingips", svcNeutron, "neutron.floatingip_create", true, s.fipCreate)
	s.handle(mux, "GET "+p+"/floatingips/{id}", svcNeutron, "neutron.floatingip_get", true, s.fipGet)
	s.handle(mux, "PUT "+p+"/floatingips/{id}", svcNeutron, "neutron.floatingip_update", true, s.fipUpdate)
	s.handle(mux, "DELETE "+p+"/floatingips/{id}", svcNeutron, "neutron.floatingip_delete", true, s.fipDelete)
	s.handle(mux, "GET "+p+"/routers", svcNeutron, "neutron.router_list", true, s.routerList)
	s.handle(mux, "GET "+p+"/routers/{id}", svcNeutron, "neutron.router_get", true, s.routerGet)
	s.handle(mux, "PUT "+p+"/routers/{id}", svcNeutron, "neutron.router_update", true, s.routerUpdate("set"))
	s.handle(mux, "PUT "+p+"/routers/{id}/add_extraroutes", svcNeutron, "neutron.router_add_extraroutes", true, s.routerUpdate("add"))
	s.handle(mux, "PUT "+p+"/routers/{id}/remove_extraroutes", svcNeutron, "neutron.router_remove_extraroutes", true, s.routerUpdate("remove"))
}

func fipView(f *FloatingIP) M {
	status := "DOWN"
	if f.PortID != "" {
		status = "ACTIVE"
	}
	return neutronCommon(M{"id": f.ID, "floating_network_id": f.FloatingNetworkID,
		"floating_ip_address": f.FloatingIPAddress, "port_id": nullable(f.PortID),
		"fixed_ip_address": nullable(f.FixedIPAddress), "description": f.Description,
		"router_id": nullable(f.RouterID), "status": status, "tags": strs(f.Tags),
		"port_details": nil, "dns_domain": "", "dns_name": ""}, f.ProjectID, f.Created, f.Updated)
}

func (s *Sim) fipList(w http.ResponseWriter, r *http.Request, _ *Token) {
	var views []M
	s.read(func() {
		for _, f := range byCreated(s.state.FloatingIPs, func(v *FloatingIP) time.Time { return v.Created }, func(v *FloatingIP) string { return v.ID }) {
			views = append(views, fipView(f))
		}
	})
	s.writeList(w, r, svcNeutron, views, listOpts{key: "floatingips"})
}

func (s *Sim) fipGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if f := s.state.FloatingIPs[r.PathValue("id")]; f != nil {
			out = fipView(f)
		}
	})
	if out == nil {
		s.neutronError(w, 404, "FloatingIPNotFound", "Floating IP "+r.PathValue("id")+" could not be found")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"floatingip": out})
}

// associateLocked binds f to a port (fixed address validated or chosen).
func (s *Sim) associateLocked(f *FloatingIP, portID, fixed string) (int, string, string) {
	p := s.state.Ports[portID]
	if p == nil {
		return 404, "PortNotFound", "Port " + portID + " could not be found."
	}
	if fixed == "" {
		for _, ip := range p.FixedIPs {
			if a, err := netip.ParseAddr(ip.IPAddress); err == nil && a.Is4() {
				fixed = ip.IPAddress
				break
			}
		}
		if fixed == "" {
			return 400, "BadRequest", "Port " + portID + " does not have any fixed IPv4 address."
		}
	} else if !matchFixedIPs(p, []string{"ip_address=" + fixed}) {
		return 400, "BadRequest", "Port " + portID + " does not have fixed ip " + fixed + "."
	}
	for _, other := range s.state.FloatingIPs {
		if other.ID != f.ID && other.PortID == portID && other.FixedIPAddress == fixed {
			return 409, "FloatingIPPortAlreadyAssociated", "Cannot associate floating IP " + f.FloatingIPAddress +
				" with port " + portID + " using fixed IP " + fixed + ", as that fixed IP already has a floating IP on external network " + other.FloatingNetworkID + "."
		}
	}
	f.PortID, f.FixedIPAddress = portID, fixed
	for _, id := range sortedKeys(s.state.Routers) {
		if s.state.Routers[id].ExternalNetworkID == f.FloatingNetworkID {
			f.RouterID = id
			break
		}
	}
	return 0, "", ""
}

func (s *Sim) fipCreate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		FloatingIP struct {
			FloatingNetworkID string   `json:"floating_network_id"`
			SubnetID          string   `json:"subnet_id"`
			FloatingIPAddress string   `json:"floating_ip_address"`
			PortID            string   `json:"port_id"`
			FixedIPAddress    string   `json:"fixed_ip_address"`
			Description       string   `json:"description"`
			Tags              []string `json:"tags"`
		} `json:"floatingip"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcNeutron, 400, err.Error())
		return
	}
	in := req.FloatingIP
	code, typ, msg := 0, "", ""
	var out M
	s.mutate(func() {
		n := s.state.Networks[in.FloatingNetworkID]
		switch {
		case n == nil:
			code, typ, msg = 404, "NetworkNotFound", "Network "+in.FloatingNetworkID+" could not be found."
			return
		case !n.External:
			code, typ, msg = 400, "BadRequest", "Network "+n.ID+" is not a valid external network."
			return
		}
		var sb *Subnet
		for i := range n.Subnets {
			c := &n.Subnets[i]
			if (in.SubnetID != "" && c.ID == in.SubnetID) || (in.SubnetID == "" && sb == nil && c.IPVersion == 4) {
				sb = c
			}
		}
		if sb == nil {
			code, typ, msg = 400, "BadRequest", "Subnet "+in.SubnetID+" is not on external network "+n.ID+"."
			return
		}
		addr, c, m := s.allocateIPLocked(sb, in.FloatingIPAddress)
		if c != 0 {
			code, msg = c, m
			typ = map[int]string{400: "InvalidIpForSubnet", 409: "IpAddressGenerationFailure"}[c]
			if c == 409 && in.FloatingIPAddress != "" {
				typ = "IpAddressAlreadyAllocated"
			}
			return
		}
		now := s.now()
		f := &FloatingIP{ID: newUUID(), FloatingNetworkID: n.ID, FloatingIPAddress: addr, Description: in.Description,
			Tags: in.Tags, ProjectID: s.users[0].ProjectID, Created: now, Updated: now}
		if in.PortID != "" {
			if code, typ, msg = s.associateLocked(f, in.PortID, in.FixedIPAddress); code != 0 {
				return
			}
		}
		s.state.FloatingIPs[f.ID] = f
		out = fipView(f)
	})
	if code != 0 {
		s.neutronError(w, code, typ, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusCreated, M{"floatingip": out})
}

func (s *Sim) fipUpdate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		FloatingIP map[string]json.RawMessage `json:"floatingip"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcNeutron, 400, err.Error())
		return
	}
	code, typ, msg := 0, "", ""
	var out M
	s.mutate(func() {
		f := s.state.FloatingIPs[r.PathValue("id")]
		if f == nil {
			code, typ, msg = 404, "FloatingIPNotFound", "Floating IP "+r.PathValue("id")+" could not be found"
			return
		}
		var fixed, desc string
		if raw, ok := req.FloatingIP["fixed_ip_address"]; ok {
			_ = json.Unmarshal(raw, &fixed)
		}
		if raw, ok := req.FloatingIP["description"]; ok {
			_ = json.Unmarshal(raw, &desc)
			f.Description = desc
		}
		if raw, ok := req.FloatingIP["port_id"]; ok {
			var portID *string
			if err := json.Unmarshal(raw, &portID); err != nil {
				code, typ, msg = 400, "BadRequest", "Invalid input for port_id: "+err.Error()
				return
			}
			if portID == nil || *portID == "" {
				f.PortID, f.FixedIPAddress, f.RouterID = "", "", ""
			} else if code, typ, msg = s.associateLocked(f, *portID, fixed); code != 0 {
				return
			}
		}
		f.Updated = s.now()
		out = fipView(f)
	})
	if code != 0 {
		s.neutronError(w, code, typ, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"floatingip": out})
}

func (s *Sim) fipDelete(w http.ResponseWriter, r *http.Request, _ *Token) {
	found := false
	s.mutate(func() {
		if s.state.FloatingIPs[r.PathValue("id")] != nil {
			found = true
			delete(s.state.FloatingIPs, r.PathValue("id"))
		}
	})
	if !found {
		s.neutronError(w, 404, "FloatingIPNotFound", "Floating IP "+r.PathValue("id")+" could not be found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func routerView(rt *Router) M {
	routes := []M{}
	for _, x := range rt.Routes {
		routes = append(routes, M{"destination": x.Destination, "nexthop": x.NextHop})
	}
	var gw any
	if rt.ExternalNetworkID != "" {
		gw = M{"network_id": rt.ExternalNetworkID, "enable_snat": true, "external_fixed_ips": []M{}}
	}
	return neutronCommon(M{"id": rt.ID, "name": rt.Name, "status": "ACTIVE", "admin_state_up": true,
		"external_gateway_info": gw, "routes": routes, "distributed": false, "ha": false,
		"availability_zone_hints": []string{}, "availability_zones": []string{"nova"}}, rt.ProjectID, rt.Created, rt.Updated)
}

func (s *Sim) routerList(w http.ResponseWriter, r *http.Request, _ *Token) {
	var views []M
	s.read(func() {
		for _, rt := range byCreated(s.state.Routers, func(v *Router) time.Time { return v.Created }, func(v *Router) string { return v.ID }) {
			views = append(views, routerView(rt))
		}
	})
	s.writeList(w, r, svcNeutron, views, listOpts{key: "routers"})
}

func (s *Sim) routerGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if rt := s.state.Routers[r.PathValue("id")]; rt != nil {
			out = routerView(rt)
		}
	})
	if out == nil {
		s.neutronError(w, 404, "RouterNotFound", "Router "+r.PathValue("id")+" could not be found")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"router": out})
}

func validRoute(rt Route) bool {
	_, err1 := netip.ParsePrefix(rt.Destination)
	_, err2 := netip.ParseAddr(rt.NextHop)
	return err1 == nil && err2 == nil
}

// routerUpdate handles PUT /routers/{id} (mode "set": routes replace the
// list) and the atomic add_extraroutes / remove_extraroutes.
func (s *Sim) routerUpdate(mode string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *Token) {
		var req struct {
			Router struct {
				Name        *string  `json:"name"`
				Description *string  `json:"description"`
				Routes      *[]Route `json:"routes"`
			} `json:"router"`
		}
		if err := decode(r, &req); err != nil {
			s.fail(w, svcNeutron, 400, err.Error())
			return
		}
		in := req.Router
		code, typ, msg := 0, "", ""
		var out M
		s.mutate(func() {
			rt := s.state.Routers[r.PathValue("id")]
			if rt == nil {
				code, typ, msg = 404, "RouterNotFound", "Router "+r.PathValue("id")+" could not be found"
				return
			}
			if in.Routes != nil {
				for _, x := range *in.Routes {
					if !validRoute(x) {
						code, typ, msg = 400, "InvalidRoutes", "Invalid format for routes: destination "+x.Destination+" nexthop "+x.NextHop
						return
					}
				}
				rt.Routes = mergeRoutes(rt.Routes, *in.Routes, mode)
			} else if mode != "set" {
				code, typ, msg = 400, "BadRequest", "Bad router request: routes is required"
				return
			}
			setIf(&rt.Name, in.Name)
			rt.Updated = s.now()
			out = routerView(rt)
		})
		if code != 0 {
			s.neutronError(w, code, typ, msg)
			return
		}
		simcore.WriteJSON(w, http.StatusOK, M{"router": out})
	}
}

func mergeRoutes(cur, in []Route, mode string) []Route {
	switch mode {
	case "set":
		out := []Route{}
		for _, x := range in {
			if !routeIn(out, x) {
				out = append(out, x)
			}
		}
		return out
	case "add":
		out := append([]Route{}, cur...)
		for _, x := range in {
			if !routeIn(out, x) {
				out = append(out, x)
			}
		}
		return out
	}
	out := []Route{}
	for _, x := range cur {
		if !routeIn(in, x) {
			out = append(out, x)
		}
	}
	return out
}

func routeIn(list []Route, r Route) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}
