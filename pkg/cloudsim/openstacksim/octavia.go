package openstacksim

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

const octaviaPrefix = "/load-balancer/v2.0/lbaas"

// octaviaMaxMinor is the newest API version simulated (v2.N, CURRENT
// unless Options.OctaviaVersion announces an older one).
const octaviaMaxMinor = 27

type lbRequest struct {
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	VipSubnetID  string            `json:"vip_subnet_id"`
	VipNetworkID string            `json:"vip_network_id"`
	VipPortID    string            `json:"vip_port_id"`
	VipAddress   string            `json:"vip_address"`
	Provider     string            `json:"provider"`
	FlavorID     string            `json:"flavor_id"`
	AZ           string            `json:"availability_zone"`
	Listeners    []listenerRequest `json:"listeners"`
	Pools        []poolRequest     `json:"pools"`
	Tags         []string          `json:"tags"`
	AdminStateUp *bool             `json:"admin_state_up"`
}

func (s *Sim) octaviaRoutes(mux *http.ServeMux) {
	p := octaviaPrefix
	s.handle(mux, "GET /load-balancer/{$}", svcOctavia, "octavia.version_list", false, s.octaviaVersions)
	s.handle(mux, "GET "+p+"/loadbalancers", svcOctavia, "octavia.loadbalancer_list", true, s.lbList)
	s.handle(mux, "POST "+p+"/loadbalancers", svcOctavia, "octavia.loadbalancer_create", true, s.lbCreate)
	s.handle(mux, "GET "+p+"/loadbalancers/{id}", svcOctavia, "octavia.loadbalancer_get", true, s.lbGet)
	s.handle(mux, "GET "+p+"/loadbalancers/{id}/status", svcOctavia, "octavia.loadbalancer_status", true, s.lbStatus)
	s.handle(mux, "PUT "+p+"/loadbalancers/{id}", svcOctavia, "octavia.loadbalancer_update", true, s.lbUpdate)
	s.handle(mux, "DELETE "+p+"/loadbalancers/{id}", svcOctavia, "octavia.loadbalancer_delete", true, s.lbDelete)
}

func (s *Sim) octaviaVersions(w http.ResponseWriter, r *http.Request, _ *Token) {
	var newest int
	s.read(func() { newest = s.octaviaMinorLocked() })
	var vs []M
	for i := 0; i <= newest; i++ {
		st := "SUPPORTED"
		if i == newest {
			st = "CURRENT"
		}
		vs = append(vs, M{"id": fmt.Sprintf("v2.%d", i), "status": st, "updated": "2023-01-01T00:00:00Z",
			"links": []M{{"rel": "self", "href": baseURL(r) + "/load-balancer/v2"}}})
	}
	simcore.WriteJSON(w, http.StatusOK, M{"versions": vs})
}

// childStatus is the provisioning status children of lb report.
func childStatus(lb *LoadBalancer) string {
	if lb != nil && strings.HasPrefix(lb.ProvisioningStatus, "PENDING_") {
		return lb.ProvisioningStatus
	}
	return "ACTIVE"
}

func operating(lb *LoadBalancer) string {
	if lb == nil || lb.ProvisioningStatus == "PENDING_CREATE" {
		return "OFFLINE"
	}
	return "ONLINE"
}

func ids(list []string) []M {
	out := []M{}
	for _, id := range list {
		out = append(out, M{"id": id})
	}
	return out
}

func (s *Sim) lbViewLocked(lb *LoadBalancer, full bool) M {
	var lis, pools []string
	var lisViews, poolViews []M
	for _, l := range s.sortedListenersLocked(lb.ID) {
		lis = append(lis, l.ID)
		lisViews = append(lisViews, s.listenerViewLocked(l))
	}
	for _, p := range s.sortedPoolsLocked(lb.ID) {
		pools = append(pools, p.ID)
		poolViews = append(poolViews, s.poolViewLocked(p, true))
	}
	v := M{
		"id": lb.ID, "name": lb.Name, "description": lb.Description,
		"provisioning_status": lb.ProvisioningStatus, "operating_status": operating(lb),
		"admin_state_up": lb.AdminStateUp, "project_id": lb.ProjectID, "tenant_id": lb.ProjectID,
		"created_at": lb.Created.Format(timeOctavia), "updated_at": lb.Updated.Format(timeOctavia),
		"vip_address": lb.VipAddress, "vip_port_id": lb.VipPortID, "vip_subnet_id": lb.VipSubnetID,
		"vip_network_id": lb.VipNetworkID, "vip_qos_policy_id": nil, "provider": lb.Provider,
		"flavor_id": nullable(lb.FlavorID), "availability_zone": nullable(lb.AZ),
		"listeners": ids(lis), "pools": ids(pools), "tags": strs(lb.Tags), "additional_vips": []M{},
	}
	if full {
		v["listeners"], v["pools"] = orEmpty(lisViews), orEmpty(poolViews)
	}
	return v
}

func orEmpty(v []M) []M {
	if v == nil {
		return []M{}
	}
	return v
}

// lbWritableLocked checks that lb exists and is not PENDING_* (Octavia
// makes a load balancer and its children immutable meanwhile → 409).
func (s *Sim) lbWritableLocked(id string) (*LoadBalancer, int, string) {
	lb := s.state.LoadBalancers[id]
	if lb == nil {
		return nil, 404, "Load Balancer " + id + " not found."
	}
	if strings.HasPrefix(lb.ProvisioningStatus, "PENDING_") {
		return nil, 409, "Invalid state " + lb.ProvisioningStatus + " of loadbalancer resource " + id
	}
	return lb, 0, ""
}

// markUpdateLocked moves lb to PENDING_UPDATE until "octavia.update" passes.
func (s *Sim) markUpdateLocked(lb *LoadBalancer) {
	lb.ProvisioningStatus, lb.Updated = "PENDING_UPDATE", s.now()
	lb.Pending = &Transition{To: "ACTIVE", At: s.after("octavia.update")}
}

func (s *Sim) lbList(w http.ResponseWriter, r *http.Request, _ *Token) {
	var views []M
	s.read(func() {
		for _, lb := range byCreated(s.state.LoadBalancers, func(v *LoadBalancer) time.Time { return v.Created }, func(v *LoadBalancer) string { return v.ID }) {
			views = append(views, s.lbViewLocked(lb, false))
		}
	})
	s.writeList(w, r, svcOctavia, views, listOpts{key: "loadbalancers"})
}

func (s *Sim) lbGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if lb := s.state.LoadBalancers[r.PathValue("id")]; lb != nil {
			out = s.lbViewLocked(lb, false)
		}
	})
	if out == nil {
		s.fail(w, svcOctavia, http.StatusNotFound, "Load Balancer "+r.PathValue("id")+" not found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"loadbalancer": out})
}

func (s *Sim) lbStatus(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		lb := s.state.LoadBalancers[r.PathValue("id")]
		if lb == nil {
			return
		}
		var lis []M
		for _, l := range s.sortedListenersLocked(lb.ID) {
			var pools []M
			if p := s.state.Pools[l.DefaultPoolID]; p != nil {
				var mem []M
				for _, m := range s.sortedMembersLocked(p.ID) {
					mem = append(mem, M{"id": m.ID, "name": m.Name, "address": m.Address, "protocol_port": m.ProtocolPort,
						"provisioning_status": childStatus(lb), "operating_status": "ONLINE"})
				}
				pools = append(pools, M{"id": p.ID, "name": p.Name, "provisioning_status": childStatus(lb),
					"operating_status": operating(lb), "members": orEmpty(mem)})
			}
			lis = append(lis, M{"id": l.ID, "name": l.Name, "provisioning_status": childStatus(lb),
				"operating_status": operating(lb), "pools": orEmpty(pools)})
		}
		out = M{"loadbalancer": M{"id": lb.ID, "name": lb.Name, "provisioning_status": lb.ProvisioningStatus,
			"operating_status": operating(lb), "listeners": orEmpty(lis)}}
	})
	if out == nil {
		s.fail(w, svcOctavia, http.StatusNotFound, "Load Balancer "+r.PathValue("id")+" not found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"statuses": out})
}

func (s *Sim) lbCreate(w http.ResponseWriter, r *http.Request, tok *Token) {
	var req struct {
		LoadBalancer lbRequest `json:"loadbalancer"`
	}
	if !s.octaviaAccepts(w, r, "load_balancer", "loadbalancer", octaviaLB) {
		return
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcOctavia, http.StatusBadRequest, err.Error())
		return
	}
	in := req.LoadBalancer
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		if code, msg = s.validateLBLocked(in); code != 0 {
			return
		}
		if in.Provider == providerOVN {
			if code, msg = ovnLoadBalancer(in); code != 0 {
				return
			}
		}
		now := s.now()
		lb := &LoadBalancer{ID: newUUID(), Name: in.Name, Description: in.Description, Provider: in.Provider,
			FlavorID: in.FlavorID, AZ: in.AZ, Tags: in.Tags, AdminStateUp: in.AdminStateUp == nil || *in.AdminStateUp,
			ProvisioningStatus: "PENDING_CREATE", ProjectID: tok.ProjectID, Created: now, Updated: now,
			Pending: &Transition{To: "ACTIVE", At: s.after("octavia.create")}}
		if lb.Provider == "" {
			lb.Provider = "amphora"
		}
		if code, msg = s.allocateVIPLocked(lb, in); code != 0 {
			return
		}
		s.state.LoadBalancers[lb.ID] = lb
		for _, l := range in.Listeners {
			s.createListenerLocked(lb, l)
		}
		for _, p := range in.Pools {
			s.createPoolLocked(lb, "", p)
		}
		out = s.lbViewLocked(lb, len(in.Listeners) > 0 || len(in.Pools) > 0)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusCreated, M{"loadbalancer": out})
}

func (s *Sim) validateLBLocked(in lbRequest) (int, string) {
	n := 0
	for _, v := range []string{in.VipSubnetID, in.VipNetworkID, in.VipPortID} {
		if v != "" {
			n++
		}
	}
	if n == 0 {
		return 400, "Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id."
	}
	ports := map[string]bool{}
	for _, l := range in.Listeners {
		if code, msg := s.validateListenerLocked(nil, l); code != 0 {
			return code, msg
		}
		key := listenerPortKey(l.Protocol, l.ProtocolPort)
		if ports[key] {
			return 409, fmt.Sprintf("Another Listener on this Load Balancer is already using protocol_port %d", l.ProtocolPort)
		}
		ports[key] = true
	}
	for _, p := range in.Pools {
		if code, msg := validatePool(p, ""); code != 0 {
			return code, msg
		}
		if code, msg := s.poolRefusal(p); code != 0 {
			return code, msg
		}
		if p.HealthMonitor != nil {
			if code, msg := s.udpMonitorRefusal(p.Protocol, p.HealthMonitor.Type); code != 0 {
				return code, msg
			}
		}
	}
	return 0, ""
}

// allocateVIPLocked picks the VIP subnet/address and creates Octavia's VIP
// port (unless the caller brought vip_port_id).
func (s *Sim) allocateVIPLocked(lb *LoadBalancer, in lbRequest) (int, string) {
	if in.VipPortID != "" {
		p := s.state.Ports[in.VipPortID]
		if p == nil || len(p.FixedIPs) == 0 {
			return 400, "Validation failure: Invalid port: " + in.VipPortID
		}
		lb.VipPortID, lb.VipNetworkID = p.ID, p.NetworkID
		lb.VipSubnetID, lb.VipAddress = p.FixedIPs[0].SubnetID, p.FixedIPs[0].IPAddress
		p.DeviceOwner, p.DeviceID = "Octavia", "lb-"+lb.ID
		return 0, ""
	}
	var sub *Subnet
	if in.VipSubnetID != "" {
		_, sub = s.findSubnetLocked(in.VipSubnetID)
		if sub == nil {
			return 400, "Validation failure: Subnet " + in.VipSubnetID + " not found."
		}
		if in.VipNetworkID != "" && in.VipNetworkID != sub.NetworkID {
			return 400, "Validation failure: vip_subnet_id is not in vip_network_id."
		}
	} else {
		n := s.state.Networks[in.VipNetworkID]
		if n == nil {
			return 400, "Validation failure: Network " + in.VipNetworkID + " not found."
		}
		for i := range n.Subnets {
			if sub == nil || (n.Subnets[i].IPVersion == 4 && sub.IPVersion != 4) {
				sub = &n.Subnets[i]
			}
		}
		if sub == nil {
			return 400, "Validation failure: Network " + in.VipNetworkID + " has no subnet."
		}
	}
	addr, code, msg := s.allocateIPLocked(sub, in.VipAddress)
	if code != 0 {
		return code, msg
	}
	port := s.newPortLocked(sub.NetworkID, "octavia-lb-"+lb.ID, "lb-"+lb.ID, "Octavia", []FixedIP{{SubnetID: sub.ID, IPAddress: addr}})
	port.Status = "DOWN"
	lb.VipPortID, lb.VipNetworkID, lb.VipSubnetID, lb.VipAddress, lb.VipPortOwned = port.ID, sub.NetworkID, sub.ID, addr, true
	return 0, ""
}

func (s *Sim) lbUpdate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		LoadBalancer struct {
			Name         *string   `json:"name"`
			Description  *string   `json:"description"`
			AdminStateUp *bool     `json:"admin_state_up"`
			Tags         *[]string `json:"tags"`
		} `json:"loadbalancer"`
	}
	if !s.octaviaAccepts(w, r, "load_balancer", "loadbalancer", octaviaLB) {
		return
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcOctavia, http.StatusBadRequest, err.Error())
		return
	}
	in := req.LoadBalancer
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		var lb *LoadBalancer
		if lb, code, msg = s.lbWritableLocked(r.PathValue("id")); code != 0 {
			return
		}
		if in.Name != nil {
			lb.Name = *in.Name
		}
		if in.Description != nil {
			lb.Description = *in.Description
		}
		if in.AdminStateUp != nil {
			lb.AdminStateUp = *in.AdminStateUp
		}
		if in.Tags != nil {
			lb.Tags = cleanTags(*in.Tags)
		}
		s.markUpdateLocked(lb)
		out = s.lbViewLocked(lb, false)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"loadbalancer": out})
}

// cleanTags drops empty tags (OCCM clears a tag list by sending [""]).
func cleanTags(in []string) []string {
	out := []string{}
	for _, t := range in {
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}

func (s *Sim) lbDelete(w http.ResponseWriter, r *http.Request, _ *Token) {
	id := r.PathValue("id")
	cascade := strings.EqualFold(r.URL.Query().Get("cascade"), "true")
	code, msg := 0, ""
	s.mutate(func() {
		var lb *LoadBalancer
		if lb, code, msg = s.lbWritableLocked(id); code != 0 {
			return
		}
		if !cascade && (len(s.sortedListenersLocked(id)) > 0 || len(s.sortedPoolsLocked(id)) > 0) {
			code, msg = 400, "Cannot delete Load Balancer "+id+" - it has children"
			return
		}
		lb.ProvisioningStatus, lb.Updated = "PENDING_DELETE", s.now()
		lb.Pending = &Transition{To: "DELETED", At: s.after("octavia.delete")}
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removeLBLocked deletes a load balancer, its children and its VIP port.
func (s *Sim) removeLBLocked(id string) {
	lb := s.state.LoadBalancers[id]
	if lb == nil {
		return
	}
	for _, p := range s.sortedPoolsLocked(id) {
		s.deletePoolLocked(p)
	}
	for _, l := range s.sortedListenersLocked(id) {
		delete(s.state.Listeners, l.ID)
	}
	if lb.VipPortOwned {
		s.deletePortLocked(lb.VipPortID)
	} else if p := s.state.Ports[lb.VipPortID]; p != nil {
		p.DeviceOwner, p.DeviceID = "", ""
	}
	delete(s.state.LoadBalancers, id)
}
