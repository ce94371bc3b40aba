package openstacksim

import (
	"net/http"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

func (s *Sim) monitorRoutes(mux *http.ServeMux) {
	p := octaviaPrefix + "/healthmonitors"
	s.handle(mux, "GET "+p, svcOctavia, "octavia.healthmonitor_list", true, s.monitorList)
	s.handle(mux, "POST "+p, svcOctavia, "octavia.healthmonitor_create", true, s.monitorCreate)
	s.handle(mux, "GET "+p+"/{id}", svcOctavia, "octavia.healthmonitor_get", true, s.monitorGet)
	s.handle(mux, "PUT "+p+"/{id}", svcOctavia, "octavia.healthmonitor_update", true, s.monitorUpdate)
	s.handle(mux, "DELETE "+p+"/{id}", svcOctavia, "octavia.healthmonitor_delete", true, s.monitorDelete)
}

func isHTTPMonitor(t string) bool { return t == "HTTP" || t == "HTTPS" }

func (s *Sim) monitorViewLocked(hm *HealthMonitor) M {
	var lb *LoadBalancer
	if p := s.state.Pools[hm.PoolID]; p != nil {
		lb = s.state.LoadBalancers[p.LoadBalancerID]
	}
	v := M{
		"id": hm.ID, "name": hm.Name, "type": hm.Type, "delay": hm.Delay, "timeout": hm.Timeout,
		"max_retries": hm.MaxRetries, "max_retries_down": hm.MaxRetriesDown,
		"url_path": nil, "http_method": nil, "expected_codes": nil, "domain_name": nullable(hm.DomainName),
		"pools": ids([]string{hm.PoolID}), "tags": strs(hm.Tags), "admin_state_up": hm.AdminStateUp,
		"provisioning_status": childStatus(lb), "operating_status": operating(lb),
		"project_id": lbProject(lb), "tenant_id": lbProject(lb),
		"created_at": hm.Created.Format(timeOctavia), "updated_at": hm.Updated.Format(timeOctavia),
	}
	if isHTTPMonitor(hm.Type) {
		v["url_path"], v["http_method"], v["expected_codes"] = hm.URLPath, hm.HTTPMethod, hm.ExpectedCodes
	}
	return v
}

func (s *Sim) createMonitorLocked(p *Pool, in monitorRequest) *HealthMonitor {
	now := s.now()
	hm := &HealthMonitor{ID: newUUID(), PoolID: p.ID, Name: in.Name, Type: in.Type, Delay: in.Delay,
		Timeout: in.Timeout, MaxRetries: in.MaxRetries, MaxRetriesDown: in.MaxRetriesDown,
		URLPath: in.URLPath, HTTPMethod: in.HTTPMethod, ExpectedCodes: in.ExpectedCodes, DomainName: in.DomainName,
		Tags: in.Tags, AdminStateUp: in.AdminStateUp == nil || *in.AdminStateUp, Created: now, Updated: now}
	if hm.MaxRetriesDown == 0 {
		hm.MaxRetriesDown = 3
	}
	if isHTTPMonitor(hm.Type) {
		hm.URLPath = orDefault(hm.URLPath, "/")
		hm.HTTPMethod = orDefault(hm.HTTPMethod, "GET")
		hm.ExpectedCodes = orDefault(hm.ExpectedCodes, "200")
	}
	s.state.HealthMonitors[hm.ID] = hm
	p.MonitorID = hm.ID
	return hm
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (s *Sim) monitorList(w http.ResponseWriter, r *http.Request, _ *Token) {
	poolID := r.URL.Query().Get("pool_id")
	var views []M
	s.read(func() {
		for _, hm := range byCreated(s.state.HealthMonitors, func(v *HealthMonitor) time.Time { return v.Created }, func(v *HealthMonitor) string { return v.ID }) {
			if poolID == "" || hm.PoolID == poolID {
				views = append(views, s.monitorViewLocked(hm))
			}
		}
	})
	s.writeList(w, r, svcOctavia, views, listOpts{key: "healthmonitors", skip: map[string]bool{"pool_id": true}})
}

func (s *Sim) monitorGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if hm := s.state.HealthMonitors[r.PathValue("id")]; hm != nil {
			out = s.monitorViewLocked(hm)
		}
	})
	if out == nil {
		s.fail(w, svcOctavia, http.StatusNotFound, "Health Monitor "+r.PathValue("id")+" not found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"healthmonitor": out})
}

func (s *Sim) monitorCreate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		HealthMonitor monitorRequest `json:"healthmonitor"`
	}
	if !s.octaviaAccepts(w, r, "health_monitor_", "healthmonitor", octaviaMonitor) {
		return
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcOctavia, http.StatusBadRequest, err.Error())
		return
	}
	in := req.HealthMonitor
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		p, lb, c, m := s.poolWritableLocked(in.PoolID)
		if code, msg = c, m; code != 0 {
			return
		}
		if p.MonitorID != "" {
			code, msg = 409, "This pool already has a health monitor"
			return
		}
		if code, msg = validateMonitor(in); code != 0 {
			return
		}
		if code, msg = s.udpMonitorRefusal(p.Protocol, in.Type); code != 0 {
			return
		}
		if lb.Provider == providerOVN {
			if code, msg = ovnMonitor(in.Type); code != 0 {
				return
			}
		}
		hm := s.createMonitorLocked(p, in)
		s.markUpdateLocked(lb)
		out = s.monitorViewLocked(hm)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusCreated, M{"healthmonitor": out})
}

func (s *Sim) monitorUpdate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		HealthMonitor struct {
			Name           *string  `json:"name"`
			Delay          int      `json:"delay"`
			Timeout        int      `json:"timeout"`
			MaxRetries     int      `json:"max_retries"`
			MaxRetriesDown int      `json:"max_retries_down"`
			URLPath        string   `json:"url_path"`
			HTTPMethod     string   `json:"http_method"`
			ExpectedCodes  string   `json:"expected_codes"`
			DomainName     *string  `json:"domain_name"`
			Tags           []string `json:"tags"`
			AdminStateUp   *bool    `json:"admin_state_up"`
		} `json:"healthmonitor"`
	}
	if !s.octaviaAccepts(w, r, "health_monitor_", "healthmonitor", octaviaMonitor) {
		return
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcOctavia, http.StatusBadRequest, err.Error())
		return
	}
	in := req.HealthMonitor
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		hm := s.state.HealthMonitors[r.PathValue("id")]
		if hm == nil {
			code, msg = 404, "Health Monitor "+r.PathValue("id")+" not found."
			return
		}
		_, lb, c, m := s.poolWritableLocked(hm.PoolID)
		if code, msg = c, m; code != 0 {
			return
		}
		next := monitorRequest{Type: hm.Type, Delay: hm.Delay, Timeout: hm.Timeout, MaxRetries: hm.MaxRetries,
			MaxRetriesDown: hm.MaxRetriesDown}
		for dst, src := range map[*int]int{&next.Delay: in.Delay, &next.Timeout: in.Timeout,
			&next.MaxRetries: in.MaxRetries, &next.MaxRetriesDown: in.MaxRetriesDown} {
			if src != 0 {
				*dst = src
			}
		}
		if code, msg = validateMonitor(next); code != 0 {
			return
		}
		hm.Delay, hm.Timeout, hm.MaxRetries, hm.MaxRetriesDown = next.Delay, next.Timeout, next.MaxRetries, next.MaxRetriesDown
		hm.URLPath = orDefault(in.URLPath, hm.URLPath)
		hm.HTTPMethod = orDefault(in.HTTPMethod, hm.HTTPMethod)
		hm.ExpectedCodes = orDefault(in.ExpectedCodes, hm.ExpectedCodes)
		setIf(&hm.Name, in.Name)
		setIf(&hm.DomainName, in.DomainName)
		setIf(&hm.AdminStateUp, in.AdminStateUp)
		if in.Tags != nil {
			hm.Tags = cleanTags(in.Tags)
		}
		hm.Updated = s.now()
		s.markUpdateLocked(lb)
		out = s.monitorViewLocked(hm)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"healthmonitor": out})
}

func (s *Sim) monitorDelete(w http.ResponseWriter, r *http.Request, _ *Token) {
	code, msg := 0, ""
	s.mutate(func() {
		hm := s.state.HealthMonitors[r.PathValue("id")]
		if hm == nil {
			code, msg = 404, "Health Monitor "+r.PathValue("id")+" not found."
			return
		}
		p, lb, c, m := s.poolWritableLocked(hm.PoolID)
		if code, msg = c, m; code != 0 {
			return
		}
		p.MonitorID = ""
		delete(s.state.HealthMonitors, hm.ID)
		s.markUpdateLocked(lb)
	})
	if code != 0 {
		s.fail(w, svcOctavia, code, msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
