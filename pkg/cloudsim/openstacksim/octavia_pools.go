package openstacksim

import (
	"encoding/json"
	"net/http"
	"sort"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

type poolRequest struct {
	LoadBalancerID     string              `json:"loadbalancer_id"`
	ListenerID         string              `json:"listener_id"`
	Name               string              `json:"name"`
	Description        string              `json:"description"`
	Protocol           string              `json:"protocol"`
	LBMethod           string              `json:"lb_algorithm"`
	SessionPersistence *SessionPersistence `json:"session_persistence"`
	Members            []memberRequest     `json:"members"`
	HealthMonitor      *monitorRequest     `json:"healthmonitor"`
	Tags               []string            `json:"tags"`
	AdminStateUp       *bool               `json:"admin_state_up"`
}

type monitorRequest struct {
	PoolID         string   `json:"pool_id"`
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	Delay          int      `json:"delay"`
	Timeout        int      `json:"timeout"`
	MaxRetries     int      `json:"max_retries"`
	MaxRetriesDown int      `json:"max_retries_down"`
	URLPath        string   `json:"url_path"`
	HTTPMethod     string   `json:"http_method"`
	ExpectedCodes  string   `json:"expected_codes"`
	DomainName     string   `json:"domain_name"`
	Tags           []string `json:"tags"`
	AdminStateUp   *bool    `json:"admin_state_up"`
}

var lbAlgorithms = map[string]bool{"ROUND_ROBIN": true, "LEAST_CONNECTIONS": true, "SOURCE_IP": true, "SOURCE_IP_PORT": true}

// poolProtocolsFor lists the pool protocols a listener protocol accepts.
var poolProtocolsFor = map[string][]string{
	"":                 {"TCP", "UDP", "SCTP", "HTTP", "HTTPS", "PROXY", "PROXYV2"},
	"TCP":              {"TCP", "HTTP", "HTTPS", "PROXY", "PROXYV2"},
	"HTTP":             {"HTTP", "PROXY", "PROXYV2"},
	"HTTPS":            {"HTTPS", "TCP", "PROXY", "PROXYV2"},
	"TERMINATED_HTTPS": {"HTTP", "PROXY", "PROXYV2"},
	"UDP":              {"UDP"},
	"SCTP":             {"SCTP"},
}

var monitorTypes = map[string]bool{"PING": true, "TCP": true, "HTTP": true, "HTTPS": true,
	"TLS-HELLO": true, "UDP-CONNECT": true, "SCTP": true}

func validatePool(p poolRequest, listenerProtocol string) (int, string) {
	if !contains(poolProtocolsFor[listenerProtocol], p.Protocol) {
		return 400, "Validation failure: The pool protocol '" + p.Protocol + "' is invalid while the listener protocol is '" + listenerProtocol + "'."
	}
	if !lbAlgorithms[p.LBMethod] {
		return 400, "Invalid input for field/attribute lb_algorithm. Value: '" + p.LBMethod + "'."
	}
	if sp := p.SessionPersistence; sp != nil && sp.Type != "" {
		if sp.Type != "SOURCE_IP" && sp.Type != "HTTP_COOKIE" && sp.Type != "APP_COOKIE" {
			return 400, "Invalid input for field/attribute session_persistence.type. Value: '" + sp.Type + "'."
		}
		if sp.Type == "APP_COOKIE" && sp.CookieName == "" {
			return 400, "Validation failure: Field cookie_name can not be empty when persistence type is APP_COOKIE."
		}
	}
	for _, m := range p.Members {
		if code, msg := validateMember(m); code != 0 {
			return code, msg
		}
	}
	if p.HealthMonitor != nil {
		return validateMonitor(*p.HealthMonitor)
	}
	return 0, ""
}

func validateMonitor(m monitorRequest) (int, string) {
	switch {
	case !monitorTypes[m.Type]:
		return 400, "Invalid input for field/attribute type. Value: '" + m.Type + "'."
	case m.Delay < 1 || m.Timeout < 1:
		return 400, "Invalid input for field/attribute delay/timeout: must be >= 1."
	case m.Timeout > m.Delay:
		return 400, "Validation failure: The timeout must be less than or equal to the delay."
	case m.MaxRetries < 1 || m.MaxRetries > 10:
		return 400, "Invalid input for field/attribute max_retries: must be between 1 and 10."
	case m.MaxRetriesDown != 0 && (m.MaxRetriesDown < 1 || m.MaxRetriesDown > 10):
		return 400, "Invalid input for field/attribute max_retries_down: must be between 1 and 10."
	}
	return 0, ""
}

func (s *Sim) poolRoutes(mux *http.ServeMux) {
	p := octaviaPrefix
	s.handle(mux, "GET "+p+"/pools", svcOctavia, "octavia.pool_list", true, s.poolList)
	s.handle(mux, "POST "+p+"/pools", svcOctavia, "octavia.pool_create", true, s.poolCreate)
	s.handle(mux, "GET "+p+"/pools/{id}", svcOctavia, "octavia.pool_get", true, s.poolGet)
	s.handle(mux, "PUT "+p+"/pools/{id}", svcOctavia, "octavia.pool_update", true, s.poolUpdate)
	s.handle(mux, "DELETE "+p+"/pools/{id}", svcOctavia, "octavia.pool_delete", true, s.poolDelete)
	s.monitorRoutes(mux)
}

func (s *Sim) sortedPoolsLocked(lbID string) []*Pool {
	var out []*Pool
	for _, p := range s.state.Pools {
		if lbID == "" || p.LoadBalancerID == lbID {
			out = append(out, p)
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

// poolViewLocked renders a pool; full expands members and health monitor
// as in a fully-populated load balancer response.
func (s *Sim) poolViewLocked(p *Pool, full bool) M {
	lb := s.state.LoadBalancers[p.LoadBalancerID]
	var listeners []string
	for _, l := range s.sortedListenersLocked(p.LoadBalancerID) {
		if l.DefaultPoolID == p.ID || p.ListenerID == l.ID {
			listeners = append(listeners, l.ID)
		}
	}
	var memberIDs []string
	var memberViews []M
	for _, m := range s.sortedMembersLocked(p.ID) {
		memberIDs = append(memberIDs, m.ID)
		memberViews = append(memberViews, s.memberViewLocked(m))
	}
	var sp any
	if p.SessionPersistence != nil && p.SessionPersistence.Type != "" {
		sp = p.SessionPersistence
	}
	v := M{
		"id": p.ID, "name": p.Name, "description": p.Description, "protocol": p.Protocol,
		"lb_algorithm": p.LBMethod, "session_persistence": sp, "healthmonitor_id": nullable(p.MonitorID),
		"loadbalancers": ids([]string{p.LoadBalancerID}), "listeners": ids(listeners), "members": ids(memberIDs),
		"tags": strs(p.Tags), "admin_state_up": p.AdminStateUp, "provisioning_status": childStatus(lb),
		"operating_status": operating(lb), "project_id": lbProject(lb), "tenant_id": lbProject(lb),
		"tls_enabled": false, "created_at": p.Created.Format(timeOctavia), "updated_at": p.Updated.Format(timeOctavia),
	}
	if full {
		v["members"] = orEmpty(memberViews)
		if hm := s.state.HealthMonitors[p.MonitorID]; hm != nil {
			v["healthmonitor"] = s.monitorViewLocked(hm)
		}
	}
	return v
}

func (s *Sim) createPoolLocked(lb *LoadBalancer, listenerID string, in poolRequest) *Pool {
	now := s.now()
	p := &Pool{ID: newUUID(), LoadBalancerID: lb.ID, ListenerID: listenerID, Name: in.Name, Description: in.Description,
		Protocol: in.Protocol, LBMethod: in.LBMethod, SessionPersistence: in.SessionPersistence, Tags: in.Tags,
		AdminStateUp: in.AdminStateUp == nil || *in.AdminStateUp, Created: now, Updated: now}
	s.state.Pools[p.ID] = p
	if l := s.state.Listeners[listenerID]; l != nil && l.DefaultPoolID == "" {
		l.DefaultPoolID = p.ID
	}
	for _, m := range in.Members {
		s.createMemberLocked(p, m)
	}
	if in.HealthMonitor != nil {
		s.createMonitorLocked(p, *in.HealthMonitor)
	}
	return p
}

func (s *Sim) deletePoolLocked(p *Pool) {
	for _, m := range s.sortedMembersLocked(p.ID) {
		delete(s.state.Members, m.ID)
	}
	delete(s.state.HealthMonitors, p.MonitorID)
	for _, l := range s.state.Listeners {
		if l.DefaultPoolID == p.ID {
			l.DefaultPoolID = ""
		}
	}
	delete(s.state.Pools, p.ID)
}

func (s *Sim) poolList(w http.ResponseWriter, r *http.Request, _ *Token) {
	lbID := r.URL.Query().Get("loadbalancer_id")
	var views []M
	s.read(func() {
		for _, p := range s.sortedPoolsLocked(lbID) {
			views = append(views, s.poolViewLocked(p, false))
		}
	})
	s.writeList(w, r, svcOctavia, views, listOpts{key: "pools", skip: map[string]bool{"loadbalancer_id": true}})
}

func (s *Sim) poolGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if p := s.state.Pools[r.PathValue("id")]; p != nil {
			out = s.poolViewLocked(p, false)
		}
	})
	if out == nil {
		s.fail(w, svcOctavia, http.StatusNotFound, "Pool "+r.PathValue("id")+" not found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"pool": out})
}

func (s *Sim) poolCreate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		Pool poolRequest `json:"pool"`
	}
	if !s.octaviaAccepts(w, r, "pool_", "pool", octaviaPool) {
		return
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcOctavia, http.StatusBadRequest, err.Error())
		return
	}
	in := req.Pool
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		lbID, proto := in.LoadBalancerID, ""
		if in.ListenerID != "" {
			l := s.state.Listeners[in.ListenerID]
			if l == nil {
				code, msg = 404, "Listener "+in.ListenerID+" not found."
				return
			}
			if l.DefaultPoolID != "" {
				code, msg = 409, "Listener "+l.ID+" is already using default pool "+l.DefaultPoolID+"."
				return
			}
			lbID, proto = l.LoadBalancerID, l.Protocol
		}
		if lbID == "" {
			code, msg = 400, "Validation failure: Either loadbalancer_id or listener_id must be specified."
			return
		}
		var lb *LoadBalancer
		if lb, code, msg = s.lbWritableLocked(lbID); code != 0 {
			return
		}
		if code, msg = validatePool(in, proto); code != 0 {
			return
		}
		if code, msg = s.poolRefusal(in); code != 0 {
			return
		}
		if in.HealthMonitor != nil {
			if code, msg = s.udpMonitorRefusal(in.Protocol, in.HealthMonitor.Type); code != 0 {
				return
			}
		}
		if lb.Provider == providerOVN {
			if code, msg = ovnPool(in); code != 0 {
				return
			}
		}
		p := s.createPoolLocked(lb, in.ListenerID, in)
		s.markUpdateLocked(lb)
		out = s.poolViewLocked(p, false)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusCreated, M{"pool": out})
}

func (s *Sim) poolUpdate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		Pool struct {
			Name               *string         `json:"name"`
			Description        *string         `json:"description"`
			LBMethod           string          `json:"lb_algorithm"`
			SessionPersistence json.RawMessage `json:"session_persistence"`
			Tags               *[]string       `json:"tags"`
			AdminStateUp       *bool           `json:"admin_state_up"`
		} `json:"pool"`
	}
	if !s.octaviaAccepts(w, r, "pool_", "pool", octaviaPool) {
		return
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcOctavia, http.StatusBadRequest, err.Error())
		return
	}
	in := req.Pool
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		p := s.state.Pools[r.PathValue("id")]
		if p == nil {
			code, msg = 404, "Pool "+r.PathValue("id")+" not found."
			return
		}
		var lb *LoadBalancer
		if lb, code, msg = s.lbWritableLocked(p.LoadBalancerID); code != 0 {
			return
		}
		if in.LBMethod != "" && !lbAlgorithms[in.LBMethod] {
			code, msg = 400, "Invalid input for field/attribute lb_algorithm. Value: '"+in.LBMethod+"'."
			return
		}
		if code, msg = s.valueRefusal("lb_algorithm", in.LBMethod); code != 0 {
			return
		}
		if lb.Provider == providerOVN {
			if code, msg = ovnAlgorithm(in.LBMethod); code != 0 {
				return
			}
		}
		if len(in.SessionPersistence) > 0 {
			var sp *SessionPersistence
			if err := json.Unmarshal(in.SessionPersistence, &sp); err != nil {
				code, msg = 400, "Invalid input for field/attribute session_persistence: "+err.Error()
				return
			}
			if sp != nil && sp.Type == "" {
				sp = nil
			}
			p.SessionPersistence = sp
		}
		if in.LBMethod != "" {
			p.LBMethod = in.LBMethod
		}
		setIf(&p.Name, in.Name)
		setIf(&p.Description, in.Description)
		setIf(&p.AdminStateUp, in.AdminStateUp)
		if in.Tags != nil {
			p.Tags = cleanTags(*in.Tags)
		}
		p.Updated = s.now()
		s.markUpdateLocked(lb)
		out = s.poolViewLocked(p, false)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"pool": out})
}

func (s *Sim) poolDelete(w http.ResponseWriter, r *http.Request, _ *Token) {
	code, msg := 0, ""
	s.mutate(func() {
		p := s.state.Pools[r.PathValue("id")]
		if p == nil {
			code, msg = 404, "Pool "+r.PathValue("id")+" not found."
			return
		}
		var lb *LoadBalancer
		if lb, code, msg = s.lbWritableLocked(p.LoadBalancerID); code != 0 {
			return
		}
		s.deletePoolLocked(p)
		s.markUpdateLocked(lb)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
