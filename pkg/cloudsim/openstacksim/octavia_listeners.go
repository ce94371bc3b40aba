package openstacksim

import (
	"fmt"
	"net/http"
	"sort"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

type listenerRequest struct {
	LoadBalancerID         string            `json:"loadbalancer_id"`
	Name                   string            `json:"name"`
	Description            string            `json:"description"`
	Protocol               string            `json:"protocol"`
	ProtocolPort           int               `json:"protocol_port"`
	DefaultPoolID          string            `json:"default_pool_id"`
	DefaultPool            *poolRequest      `json:"default_pool"`
	ConnLimit              *int              `json:"connection_limit"`
	DefaultTLSContainerRef string            `json:"default_tls_container_ref"`
	SniContainerRefs       []string          `json:"sni_container_refs"`
	InsertHeaders          map[string]string `json:"insert_headers"`
	TimeoutClientData      *int              `json:"timeout_client_data"`
	TimeoutMemberConnect   *int              `json:"timeout_member_connect"`
	TimeoutMemberData      *int              `json:"timeout_member_data"`
	TimeoutTCPInspect      *int              `json:"timeout_tcp_inspect"`
	AllowedCIDRs           []string          `json:"allowed_cidrs"`
	Tags                   []string          `json:"tags"`
	AdminStateUp           *bool             `json:"admin_state_up"`
}

var listenerProtocols = map[string]bool{"TCP": true, "UDP": true, "SCTP": true, "HTTP": true,
	"HTTPS": true, "TERMINATED_HTTPS": true, "PROMETHEUS": true}

// listenerPortKey groups protocols that share a port space on a VIP.
func listenerPortKey(protocol string, port int) string {
	class := "tcp"
	if protocol == "UDP" || protocol == "SCTP" {
		class = protocol
	}
	return fmt.Sprintf("%s/%d", class, port)
}

func (s *Sim) octaviaChildRoutes(mux *http.ServeMux) {
	p := octaviaPrefix
	s.handle(mux, "GET "+p+"/listeners", svcOctavia, "octavia.listener_list", true, s.listenerList)
	s.handle(mux, "POST "+p+"/listeners", svcOctavia, "octavia.listener_create", true, s.listenerCreate)
	s.handle(mux, "GET "+p+"/listeners/{id}", svcOctavia, "octavia.listener_get", true, s.listenerGet)
	s.handle(mux, "PUT "+p+"/listeners/{id}", svcOctavia, "octavia.listener_update", true, s.listenerUpdate)
	s.handle(mux, "DELETE "+p+"/listeners/{id}", svcOctavia, "octavia.listener_delete", true, s.listenerDelete)
	s.poolRoutes(mux)
}

func (s *Sim) sortedListenersLocked(lbID string) []*Listener {
	var out []*Listener
	for _, l := range s.state.Listeners {
		if lbID == "" || l.LoadBalancerID == lbID {
			out = append(out, l)
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

func (s *Sim) listenerViewLocked(l *Listener) M {
	lb := s.state.LoadBalancers[l.LoadBalancerID]
	var pools []string
	for _, p := range s.sortedPoolsLocked(l.LoadBalancerID) {
		if p.ListenerID == l.ID || p.ID == l.DefaultPoolID {
			pools = append(pools, p.ID)
		}
	}
	var cidrs any
	if len(l.AllowedCIDRs) > 0 {
		cidrs = l.AllowedCIDRs
	}
	return M{
		"id": l.ID, "name": l.Name, "description": l.Description, "protocol": l.Protocol,
		"protocol_port": l.ProtocolPort, "default_pool_id": nullable(l.DefaultPoolID),
		"connection_limit": l.ConnLimit, "default_tls_container_ref": nullable(l.DefaultTLSContainerRef),
		"sni_container_refs": strs(l.SniContainerRefs), "insert_headers": strmap(l.InsertHeaders),
		"timeout_client_data": l.TimeoutClientData, "timeout_member_connect": l.TimeoutMemberConnect,
		"timeout_member_data": l.TimeoutMemberData, "timeout_tcp_inspect": l.TimeoutTCPInspect,
		"allowed_cidrs": cidrs, "tags": strs(l.Tags), "admin_state_up": l.AdminStateUp,
		"provisioning_status": childStatus(lb), "operating_status": operating(lb),
		"loadbalancers": ids([]string{l.LoadBalancerID}), "pools": ids(pools), "l7policies": []M{},
		"project_id": lbProject(lb), "tenant_id": lbProject(lb), "client_authentication": "NONE",
		"created_at": l.Created.Format(timeOctavia), "updated_at": l.Updated.Format(timeOctavia),
	}
}

func lbProject(lb *LoadBalancer) string {
	if lb == nil {
		return ""
	}
	return lb.ProjectID
}

// validateListenerLocked checks a listener to be created on lb (nil while
// validating a fully-populated load balancer).
func (s *Sim) validateListenerLocked(lb *LoadBalancer, l listenerRequest) (int, string) {
	if !listenerProtocols[l.Protocol] {
		return 400, "Invalid input for field/attribute protocol. Value: '" + l.Protocol + "'."
	}
	if code, msg := s.valueRefusal("protocol", l.Protocol); code != 0 {
		return code, msg
	}
	if l.ProtocolPort < 1 || l.ProtocolPort > 65535 {
		return 400, fmt.Sprintf("Invalid input for field/attribute protocol_port. Value: '%d'.", l.ProtocolPort)
	}
	if l.Protocol == "TERMINATED_HTTPS" && l.DefaultTLSContainerRef == "" {
		return 400, "Validation failure: An SNI or default certificate container reference must be provided for TERMINATED_HTTPS listeners."
	}
	if ref := l.DefaultTLSContainerRef; ref != "" && !s.tlsRefKnownLocked(ref) {
		// Octavia fetches the certificate from Barbican before accepting it.
		return 400, "Could not retrieve certificate: ['" + ref + "']"
	}
	if l.DefaultPool != nil {
		if code, msg := validatePool(*l.DefaultPool, l.Protocol); code != 0 {
			return code, msg
		}
		if code, msg := s.poolRefusal(*l.DefaultPool); code != 0 {
			return code, msg
		}
		if hm := l.DefaultPool.HealthMonitor; hm != nil {
			if code, msg := s.udpMonitorRefusal(l.DefaultPool.Protocol, hm.Type); code != 0 {
				return code, msg
			}
		}
	}
	if lb == nil {
		return 0, ""
	}
	key := listenerPortKey(l.Protocol, l.ProtocolPort)
	for _, other := range s.sortedListenersLocked(lb.ID) {
		if listenerPortKey(other.Protocol, other.ProtocolPort) == key {
			return 409, fmt.Sprintf("Another Listener on this Load Balancer is already using protocol_port %d", l.ProtocolPort)
		}
	}
	if l.DefaultPoolID != "" {
		p := s.state.Pools[l.DefaultPoolID]
		if p == nil || p.LoadBalancerID != lb.ID {
			return 404, "Pool " + l.DefaultPoolID + " not found."
		}
	}
	return 0, ""
}

func intOr(p *int, def int) int {
	if p != nil {
		return *p
	}
	return def
}

func (s *Sim) createListenerLocked(lb *LoadBalancer, in listenerRequest) *Listener {
	now := s.now()
	l := &Listener{ID: newUUID(), LoadBalancerID: lb.ID, Name: in.Name, Description: in.Description,
		Protocol: in.Protocol, ProtocolPort: in.ProtocolPort, DefaultPoolID: in.DefaultPoolID,
		ConnLimit: intOr(in.ConnLimit, -1), DefaultTLSContainerRef: in.DefaultTLSContainerRef,
		SniContainerRefs: in.SniContainerRefs, InsertHeaders: in.InsertHeaders,
		TimeoutClientData: intOr(in.TimeoutClientData, 50000), TimeoutMemberConnect: intOr(in.TimeoutMemberConnect, 5000),
		TimeoutMemberData: intOr(in.TimeoutMemberData, 50000), TimeoutTCPInspect: intOr(in.TimeoutTCPInspect, 0),
		AllowedCIDRs: in.AllowedCIDRs, Tags: in.Tags, AdminStateUp: in.AdminStateUp == nil || *in.AdminStateUp,
		Created: now, Updated: now}
	s.state.Listeners[l.ID] = l
	if in.DefaultPool != nil {
		p := s.createPoolLocked(lb, l.ID, *in.DefaultPool)
		l.DefaultPoolID = p.ID
	}
	return l
}

func (s *Sim) listenerList(w http.ResponseWriter, r *http.Request, _ *Token) {
	lbID := r.URL.Query().Get("loadbalancer_id")
	var views []M
	s.read(func() {
		for _, l := range s.sortedListenersLocked(lbID) {
			views = append(views, s.listenerViewLocked(l))
		}
	})
	s.writeList(w, r, svcOctavia, views, listOpts{key: "listeners", skip: map[string]bool{"loadbalancer_id": true}})
}

func (s *Sim) listenerGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if l := s.state.Listeners[r.PathValue("id")]; l != nil {
			out = s.listenerViewLocked(l)
		}
	})
	if out == nil {
		s.fail(w, svcOctavia, http.StatusNotFound, "Listener "+r.PathValue("id")+" not found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"listener": out})
}

func (s *Sim) listenerCreate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		Listener listenerRequest `json:"listener"`
	}
	if !s.octaviaAccepts(w, r, "listener_", "listener", octaviaListener) {
		return
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcOctavia, http.StatusBadRequest, err.Error())
		return
	}
	in := req.Listener
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		var lb *LoadBalancer
		if lb, code, msg = s.lbWritableLocked(in.LoadBalancerID); code != 0 {
			if code == 404 {
				code = 400
			}
			return
		}
		if code, msg = s.validateListenerLocked(lb, in); code != 0 {
			return
		}
		if lb.Provider == providerOVN {
			if code, msg = ovnListener(in); code != 0 {
				return
			}
		}
		l := s.createListenerLocked(lb, in)
		s.markUpdateLocked(lb)
		out = s.listenerViewLocked(l)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusCreated, M{"listener": out})
}

func (s *Sim) listenerUpdate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		Listener struct {
			Name                   *string            `json:"name"`
			Description            *string            `json:"description"`
			DefaultPoolID          *string            `json:"default_pool_id"`
			ConnLimit              *int               `json:"connection_limit"`
			DefaultTLSContainerRef *string            `json:"default_tls_container_ref"`
			SniContainerRefs       *[]string          `json:"sni_container_refs"`
			InsertHeaders          *map[string]string `json:"insert_headers"`
			TimeoutClientData      *int               `json:"timeout_client_data"`
			TimeoutMemberConnect   *int               `json:"timeout_member_connect"`
			TimeoutMemberData      *int               `json:"timeout_member_data"`
			TimeoutTCPInspect      *int               `json:"timeout_tcp_inspect"`
			AllowedCIDRs           *[]string          `json:"allowed_cidrs"`
			Tags                   *[]string          `json:"tags"`
			AdminStateUp           *bool              `json:"admin_state_up"`
		} `json:"listener"`
	}
	if !s.octaviaAccepts(w, r, "listener_", "listener", octaviaListener) {
		return
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcOctavia, http.StatusBadRequest, err.Error())
		return
	}
	in := req.Listener
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		l := s.state.Listeners[r.PathValue("id")]
		if l == nil {
			code, msg = 404, "Listener "+r.PathValue("id")+" not found."
			return
		}
		var lb *LoadBalancer
		if lb, code, msg = s.lbWritableLocked(l.LoadBalancerID); code != 0 {
			return
		}
		if ref := derefOr(in.DefaultTLSContainerRef); ref != "" && !s.tlsRefKnownLocked(ref) {
			code, msg = 400, "Could not retrieve certificate: ['"+ref+"']"
			return
		}
		if lb.Provider == providerOVN {
			if code, msg = ovnListener(listenerRequest{Protocol: l.Protocol, AllowedCIDRs: derefOr(in.AllowedCIDRs),
				TimeoutClientData: in.TimeoutClientData, TimeoutMemberConnect: in.TimeoutMemberConnect,
				TimeoutMemberData: in.TimeoutMemberData, TimeoutTCPInspect: in.TimeoutTCPInspect, InsertHeaders: derefOr(in.InsertHeaders)}); code != 0 {
				return
			}
		}
		if in.DefaultPoolID != nil && *in.DefaultPoolID != "" {
			if p := s.state.Pools[*in.DefaultPoolID]; p == nil || p.LoadBalancerID != lb.ID {
				code, msg = 404, "Pool "+*in.DefaultPoolID+" not found."
				return
			}
		}
		setIf(&l.Name, in.Name)
		setIf(&l.Description, in.Description)
		setIf(&l.DefaultPoolID, in.DefaultPoolID)
		setIf(&l.ConnLimit, in.ConnLimit)
		setIf(&l.DefaultTLSContainerRef, in.DefaultTLSContainerRef)
		setIf(&l.SniContainerRefs, in.SniContainerRefs)
		setIf(&l.InsertHeaders, in.InsertHeaders)
		setIf(&l.TimeoutClientData, in.TimeoutClientData)
		setIf(&l.TimeoutMemberConnect, in.TimeoutMemberConnect)
		setIf(&l.TimeoutMemberData, in.TimeoutMemberData)
		setIf(&l.TimeoutTCPInspect, in.TimeoutTCPInspect)
		setIf(&l.AllowedCIDRs, in.AllowedCIDRs)
		setIf(&l.AdminStateUp, in.AdminStateUp)
		if in.Tags != nil {
			l.Tags = cleanTags(*in.Tags)
		}
		l.Updated = s.now()
		s.markUpdateLocked(lb)
		out = s.listenerViewLocked(l)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"listener": out})
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func (s *Sim) listenerDelete(w http.ResponseWriter, r *http.Request, _ *Token) {
	code, msg := 0, ""
	s.mutate(func() {
		l := s.state.Listeners[r.PathValue("id")]
		if l == nil {
			code, msg = 404, "Listener "+r.PathValue("id")+" not found."
			return
		}
		var lb *LoadBalancer
		if lb, code, msg = s.lbWritableLocked(l.LoadBalancerID); code != 0 {
			return
		}
		for _, p := range s.state.Pools {
			if p.ListenerID == l.ID {
				p.ListenerID = ""
			}
		}
		delete(s.state.Listeners, l.ID)
		s.markUpdateLocked(lb)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
