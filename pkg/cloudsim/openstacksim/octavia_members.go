package openstacksim

import (
	"fmt"
	"net/http"
	"net/netip"
	"sort"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

type memberRequest struct {
	Name           string   `json:"name"`
	Address        string   `json:"address"`
	ProtocolPort   int      `json:"protocol_port"`
	SubnetID       string   `json:"subnet_id"`
	Weight         *int     `json:"weight"`
	Backup         *bool    `json:"backup"`
	MonitorAddress string   `json:"monitor_address"`
	MonitorPort    *int     `json:"monitor_port"`
	Tags           []string `json:"tags"`
	AdminStateUp   *bool    `json:"admin_state_up"`
}

func validateMember(m memberRequest) (int, string) {
	if _, err := netip.ParseAddr(m.Address); err != nil {
		return 400, "Invalid input for field/attribute address. Value: '" + m.Address + "'."
	}
	if m.ProtocolPort < 1 || m.ProtocolPort > 65535 {
		return 400, fmt.Sprintf("Invalid input for field/attribute protocol_port. Value: '%d'.", m.ProtocolPort)
	}
	if m.MonitorPort != nil && (*m.MonitorPort < 1 || *m.MonitorPort > 65535) {
		return 400, fmt.Sprintf("Invalid input for field/attribute monitor_port. Value: '%d'.", *m.MonitorPort)
	}
	return 0, ""
}

func (s *Sim) octaviaMemberRoutes(mux *http.ServeMux) {
	p := octaviaPrefix + "/pools/{pool}/members"
	s.handle(mux, "GET "+p, svcOctavia, "octavia.member_list", true, s.memberList)
	s.handle(mux, "POST "+p, svcOctavia, "octavia.member_create", true, s.memberCreate)
	s.handle(mux, "PUT "+p, svcOctavia, "octavia.member_batch_update", true, s.memberBatchUpdate)
	s.handle(mux, "GET "+p+"/{id}", svcOctavia, "octavia.member_get", true, s.memberGet)
	s.handle(mux, "PUT "+p+"/{id}", svcOctavia, "octavia.member_update", true, s.memberUpdate)
	s.handle(mux, "DELETE "+p+"/{id}", svcOctavia, "octavia.member_delete", true, s.memberDelete)
}

func (s *Sim) sortedMembersLocked(poolID string) []*Member {
	var out []*Member
	for _, m := range s.state.Members {
		if m.PoolID == poolID {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (s *Sim) memberViewLocked(m *Member) M {
	var lb *LoadBalancer
	opStatus := "NO_MONITOR"
	if p := s.state.Pools[m.PoolID]; p != nil {
		lb = s.state.LoadBalancers[p.LoadBalancerID]
		if p.MonitorID != "" {
			opStatus = "ONLINE"
		}
	}
	var mp any
	if m.MonitorPort != nil {
		mp = *m.MonitorPort
	}
	return M{
		"id": m.ID, "name": m.Name, "address": m.Address, "protocol_port": m.ProtocolPort,
		"subnet_id": nullable(m.SubnetID), "weight": m.Weight, "backup": m.Backup,
		"monitor_address": nullable(m.MonitorAddress), "monitor_port": mp, "tags": strs(m.Tags),
		"admin_state_up": m.AdminStateUp, "provisioning_status": childStatus(lb), "operating_status": opStatus,
		"project_id": lbProject(lb), "tenant_id": lbProject(lb), "pool_id": m.PoolID,
		"created_at": m.Created.Format(timeOctavia), "updated_at": m.Updated.Format(timeOctavia),
	}
}

func (s *Sim) createMemberLocked(p *Pool, in memberRequest) *Member {
	now := s.now()
	m := &Member{ID: newUUID(), PoolID: p.ID, Created: now}
	applyMember(m, in)
	m.Updated = now
	s.state.Members[m.ID] = m
	return m
}

func applyMember(m *Member, in memberRequest) {
	m.Name, m.Address, m.ProtocolPort, m.SubnetID = in.Name, in.Address, in.ProtocolPort, in.SubnetID
	m.Weight, m.Backup, m.AdminStateUp = intOr(in.Weight, 1), in.Backup != nil && *in.Backup, in.AdminStateUp == nil || *in.AdminStateUp
	m.MonitorAddress, m.MonitorPort, m.Tags = in.MonitorAddress, in.MonitorPort, in.Tags
}

// poolWritableLocked finds the pool and checks its load balancer is writable.
func (s *Sim) poolWritableLocked(poolID string) (*Pool, *LoadBalancer, int, string) {
	p := s.state.Pools[poolID]
	if p == nil {
		return nil, nil, 404, "Pool " + poolID + " not found."
	}
	lb, code, msg := s.lbWritableLocked(p.LoadBalancerID)
	return p, lb, code, msg
}

func (s *Sim) memberList(w http.ResponseWriter, r *http.Request, _ *Token) {
	found := false
	var views []M
	s.read(func() {
		if s.state.Pools[r.PathValue("pool")] == nil {
			return
		}
		found = true
		for _, m := range s.sortedMembersLocked(r.PathValue("pool")) {
			views = append(views, s.memberViewLocked(m))
		}
	})
	if !found {
		s.fail(w, svcOctavia, http.StatusNotFound, "Pool "+r.PathValue("pool")+" not found.")
		return
	}
	s.writeList(w, r, svcOctavia, views, listOpts{key: "members"})
}

func (s *Sim) memberGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if m := s.state.Members[r.PathValue("id")]; m != nil && m.PoolID == r.PathValue("pool") {
			out = s.memberViewLocked(m)
		}
	})
	if out == nil {
		s.fail(w, svcOctavia, http.StatusNotFound, "Member "+r.PathValue("id")+" not found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"member": out})
}

func (s *Sim) memberCreate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		Member memberRequest `json:"member"`
	}
	if !s.octaviaAccepts(w, r, "member_", "member", octaviaMember) {
		return
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcOctavia, http.StatusBadRequest, err.Error())
		return
	}
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		p, lb, c, m := s.poolWritableLocked(r.PathValue("pool"))
		if code, msg = c, m; code != 0 {
			return
		}
		if code, msg = validateMember(req.Member); code != 0 {
			return
		}
		for _, other := range s.sortedMembersLocked(p.ID) {
			if other.Address == req.Member.Address && other.ProtocolPort == req.Member.ProtocolPort {
				code, msg = 409, fmt.Sprintf("Duplicate member with IP address %s and port %d", other.Address, other.ProtocolPort)
				return
			}
		}
		mem := s.createMemberLocked(p, req.Member)
		s.markUpdateLocked(lb)
		out = s.memberViewLocked(mem)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusCreated, M{"member": out})
}

// memberBatchUpdate replaces the pool's member set: members matching an
// (address, port) keep their ID, others are created or deleted → 202.
func (s *Sim) memberBatchUpdate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		Members []memberRequest `json:"members"`
	}
	if !s.octaviaAccepts(w, r, "members_", "members", octaviaMember) {
		return
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcOctavia, http.StatusBadRequest, err.Error())
		return
	}
	code, msg := 0, ""
	s.mutate(func() {
		p, lb, c, m := s.poolWritableLocked(r.PathValue("pool"))
		if code, msg = c, m; code != 0 {
			return
		}
		seen := map[string]bool{}
		for _, in := range req.Members {
			if code, msg = validateMember(in); code != 0 {
				return
			}
			key := fmt.Sprintf("%s/%d", in.Address, in.ProtocolPort)
			if seen[key] {
				code, msg = 400, "Duplicate member "+key+" in batch update"
				return
			}
			seen[key] = true
		}
		existing := map[string]*Member{}
		for _, mem := range s.sortedMembersLocked(p.ID) {
			key := fmt.Sprintf("%s/%d", mem.Address, mem.ProtocolPort)
			if !seen[key] {
				delete(s.state.Members, mem.ID)
				continue
			}
			existing[key] = mem
		}
		for _, in := range req.Members {
			if mem := existing[fmt.Sprintf("%s/%d", in.Address, in.ProtocolPort)]; mem != nil {
				applyMember(mem, in)
				mem.Updated = s.now()
			} else {
				s.createMemberLocked(p, in)
			}
		}
		s.markUpdateLocked(lb)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Sim) memberUpdate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		Member struct {
			Name           *string  `json:"name"`
			Weight         *int     `json:"weight"`
			AdminStateUp   *bool    `json:"admin_state_up"`
			Backup         *bool    `json:"backup"`
			MonitorAddress *string  `json:"monitor_address"`
			MonitorPort    *int     `json:"monitor_port"`
			Tags           []string `json:"tags"`
		} `json:"member"`
	}
	if !s.octaviaAccepts(w, r, "member_", "member", octaviaMember) {
		return
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcOctavia, http.StatusBadRequest, err.Error())
		return
	}
	in := req.Member
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		_, lb, c, m := s.poolWritableLocked(r.PathValue("pool"))
		if code, msg = c, m; code != 0 {
			return
		}
		mem := s.state.Members[r.PathValue("id")]
		if mem == nil || mem.PoolID != r.PathValue("pool") {
			code, msg = 404, "Member "+r.PathValue("id")+" not found."
			return
		}
		setIf(&mem.Name, in.Name)
		setIf(&mem.Weight, in.Weight)
		setIf(&mem.AdminStateUp, in.AdminStateUp)
		setIf(&mem.Backup, in.Backup)
		setIf(&mem.MonitorAddress, in.MonitorAddress)
		if in.MonitorPort != nil {
			mem.MonitorPort = in.MonitorPort
		}
		if in.Tags != nil {
			mem.Tags = cleanTags(in.Tags)
		}
		mem.Updated = s.now()
		s.markUpdateLocked(lb)
		out = s.memberViewLocked(mem)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"member": out})
}

func (s *Sim) memberDelete(w http.ResponseWriter, r *http.Request, _ *Token) {
	code, msg := 0, ""
	s.mutate(func() {
		_, lb, c, m := s.poolWritableLocked(r.PathValue("pool"))
		if code, msg = c, m; code != 0 {
			return
		}
		mem := s.state.Members[r.PathValue("id")]
		if mem == nil || mem.PoolID != r.PathValue("pool") {
			code, msg = 404, "Member "+r.PathValue("id")+" not found."
			return
		}
		delete(s.state.Members, mem.ID)
		s.markUpdateLocked(lb)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
