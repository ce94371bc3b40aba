package openstacksim

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

func (s *Sim) neutronSGRoutes(mux *http.ServeMux) {
	p := neutronPrefix
	s.handle(mux, "GET "+p+"/security-groups", svcNeutron, "neutron.security_group_list", true, s.sgList)
	s.handle(mux, "POST "+p+"/security-groups", svcNeutron, "neutron.security_group_create", true, s.sgCreate)
	s.handle(mux, "GET "+p+"/security-groups/{id}", svcNeutron, "neutron.security_group_get", true, s.sgGet)
	s.handle(mux, "PUT "+p+"/security-groups/{id}", svcNeutron, "neutron.security_group_update", true, s.sgUpdate)
	s.handle(mux, "DELETE "+p+"/security-groups/{id}", svcNeutron, "neutron.security_group_delete", true, s.sgDelete)
	s.handle(mux, "GET "+p+"/security-group-rules", svcNeutron, "neutron.security_group_rule_list", true, s.ruleList)
	s.handle(mux, "POST "+p+"/security-group-rules", svcNeutron, "neutron.security_group_rule_create", true, s.ruleCreate)
	s.handle(mux, "GET "+p+"/security-group-rules/{id}", svcNeutron, "neutron.security_group_rule_get", true, s.ruleGet)
	s.handle(mux, "DELETE "+p+"/security-group-rules/{id}", svcNeutron, "neutron.security_group_rule_delete", true, s.ruleDelete)
}

func intPtrView(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func ruleView(r *SecurityGroupRule) M {
	return neutronCommon(M{"id": r.ID, "security_group_id": r.SecurityGroupID, "direction": r.Direction,
		"ethertype": r.EtherType, "protocol": nullable(r.Protocol), "port_range_min": intPtrView(r.PortRangeMin),
		"port_range_max": intPtrView(r.PortRangeMax), "remote_ip_prefix": nullable(r.RemoteIPPrefix),
		"remote_group_id": nullable(r.RemoteGroupID), "remote_address_group_id": nil,
		"description": r.Description, "normalized_cidr": nullable(r.RemoteIPPrefix)}, r.ProjectID, r.Created, r.Created)
}

func (s *Sim) sgRulesLocked(sgID string) []*SecurityGroupRule {
	var out []*SecurityGroupRule
	for _, r := range byCreated(s.state.SecurityGroupRules, func(v *SecurityGroupRule) time.Time { return v.Created }, func(v *SecurityGroupRule) string { return v.ID }) {
		if r.SecurityGroupID == sgID {
			out = append(out, r)
		}
	}
	return out
}

func (s *Sim) sgViewLocked(g *SecurityGroup) M {
	rules := []M{}
	for _, r := range s.sgRulesLocked(g.ID) {
		rules = append(rules, ruleView(r))
	}
	return neutronCommon(M{"id": g.ID, "name": g.Name, "description": g.Description,
		"security_group_rules": rules, "stateful": true, "tags": strs(g.Tags)}, g.ProjectID, g.Created, g.Created)
}

// createSGLocked makes a group with Neutron's default egress rules.
func (s *Sim) createSGLocked(name, desc, projectID string) *SecurityGroup {
	now := s.now()
	g := &SecurityGroup{ID: newUUID(), Name: name, Description: desc, ProjectID: projectID, Created: now}
	s.state.SecurityGroups[g.ID] = g
	for _, et := range []string{"IPv4", "IPv6"} {
		r := &SecurityGroupRule{ID: newUUID(), SecurityGroupID: g.ID, Direction: "egress", EtherType: et,
			ProjectID: projectID, Created: now}
		s.state.SecurityGroupRules[r.ID] = r
	}
	return g
}

func (s *Sim) sgList(w http.ResponseWriter, r *http.Request, _ *Token) {
	var views []M
	s.read(func() {
		for _, g := range byCreated(s.state.SecurityGroups, func(v *SecurityGroup) time.Time { return v.Created }, func(v *SecurityGroup) string { return v.ID }) {
			views = append(views, s.sgViewLocked(g))
		}
	})
	s.writeList(w, r, svcNeutron, views, listOpts{key: "security_groups"})
}

func (s *Sim) sgGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if g := s.state.SecurityGroups[r.PathValue("id")]; g != nil {
			out = s.sgViewLocked(g)
		}
	})
	if out == nil {
		s.neutronError(w, 404, "SecurityGroupNotFound", "Security group "+r.PathValue("id")+" does not exist")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"security_group": out})
}

func (s *Sim) sgCreate(w http.ResponseWriter, r *http.Request, tok *Token) {
	var req struct {
		SG struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"security_group"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcNeutron, 400, err.Error())
		return
	}
	var out M
	s.mutate(func() {
		out = s.sgViewLocked(s.createSGLocked(req.SG.Name, req.SG.Description, tok.ProjectID))
	})
	simcore.WriteJSON(w, http.StatusCreated, M{"security_group": out})
}

func (s *Sim) sgUpdate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		SG struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
		} `json:"security_group"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcNeutron, 400, err.Error())
		return
	}
	var out M
	s.mutate(func() {
		if g := s.state.SecurityGroups[r.PathValue("id")]; g != nil {
			setIf(&g.Name, req.SG.Name)
			setIf(&g.Description, req.SG.Description)
			out = s.sgViewLocked(g)
		}
	})
	if out == nil {
		s.neutronError(w, 404, "SecurityGroupNotFound", "Security group "+r.PathValue("id")+" does not exist")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"security_group": out})
}

func (s *Sim) sgDelete(w http.ResponseWriter, r *http.Request, _ *Token) {
	id := r.PathValue("id")
	code, typ, msg := 0, "", ""
	s.mutate(func() {
		if s.state.SecurityGroups[id] == nil {
			code, typ, msg = 404, "SecurityGroupNotFound", "Security group "+id+" does not exist"
			return
		}
		for _, p := range s.state.Ports {
			if contains(p.SecurityGroups, id) {
				code, typ, msg = 409, "SecurityGroupInUse", "Security Group "+id+" in use."
				return
			}
		}
		for rid, rule := range s.state.SecurityGroupRules {
			if rule.SecurityGroupID == id {
				delete(s.state.SecurityGroupRules, rid)
			}
		}
		delete(s.state.SecurityGroups, id)
	})
	if code != 0 {
		s.neutronError(w, code, typ, msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) ruleList(w http.ResponseWriter, r *http.Request, _ *Token) {
	var views []M
	s.read(func() {
		for _, rule := range byCreated(s.state.SecurityGroupRules, func(v *SecurityGroupRule) time.Time { return v.Created }, func(v *SecurityGroupRule) string { return v.ID }) {
			views = append(views, ruleView(rule))
		}
	})
	s.writeList(w, r, svcNeutron, views, listOpts{key: "security_group_rules"})
}

func (s *Sim) ruleGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if rule := s.state.SecurityGroupRules[r.PathValue("id")]; rule != nil {
			out = ruleView(rule)
		}
	})
	if out == nil {
		s.neutronError(w, 404, "SecurityGroupRuleNotFound", "Security group rule "+r.PathValue("id")+" does not exist")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"security_group_rule": out})
}

type ruleRequest struct {
	SecurityGroupID string `json:"security_group_id"`
	Direction       string `json:"direction"`
	EtherType       string `json:"ethertype"`
	Protocol        string `json:"protocol"`
	PortRangeMin    *int   `json:"port_range_min"`
	PortRangeMax    *int   `json:"port_range_max"`
	RemoteIPPrefix  string `json:"remote_ip_prefix"`
	RemoteGroupID   string `json:"remote_group_id"`
	Description     string `json:"description"`
}

// normalizeRule validates a rule request like Neutron and canonicalises
// the remote prefix; it returns a Neutron error type on failure.
func normalizeRule(in *ruleRequest) (string, string) {
	if in.Direction != "ingress" && in.Direction != "egress" {
		return "InvalidInput", "Invalid input for direction. Reason: '" + in.Direction + "' is not in ['ingress', 'egress']."
	}
	if in.EtherType == "" {
		in.EtherType = "IPv4"
	}
	if in.EtherType != "IPv4" && in.EtherType != "IPv6" {
		return "InvalidInput", "Invalid input for ethertype. Reason: '" + in.EtherType + "' is not in ['IPv4', 'IPv6']."
	}
	in.Protocol = strings.ToLower(in.Protocol)
	if in.Protocol == "any" {
		in.Protocol = ""
	}
	if _, err := strconv.Atoi(in.Protocol); err != nil && in.Protocol != "" &&
		!contains([]string{"tcp", "udp", "icmp", "icmpv6", "ipv6-icmp", "sctp", "gre", "esp", "ah", "vrrp"}, in.Protocol) {
		return "SecurityGroupRuleInvalidProtocol", "Security group rule protocol " + in.Protocol + " not supported."
	}
	if (in.PortRangeMin != nil || in.PortRangeMax != nil) && in.Protocol == "" {
		return "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given."
	}
	if in.PortRangeMin != nil && in.PortRangeMax != nil && *in.PortRangeMin > *in.PortRangeMax &&
		in.Protocol != "icmp" && in.Protocol != "icmpv6" {
		return "SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max"
	}
	if in.RemoteIPPrefix != "" {
		p, err := netip.ParsePrefix(in.RemoteIPPrefix)
		if err != nil {
			a, err2 := netip.ParseAddr(in.RemoteIPPrefix)
			if err2 != nil {
				return "InvalidInput", "Invalid input for remote_ip_prefix: '" + in.RemoteIPPrefix + "' is not a valid IP prefix."
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4() != (in.EtherType == "IPv4") {
			return "SecurityGroupRuleParameterConflict", "Conflicting value ethertype " + in.EtherType + " for CIDR " + in.RemoteIPPrefix
		}
		in.RemoteIPPrefix = p.Masked().String()
	}
	return "", ""
}

func sameRule(a *SecurityGroupRule, b ruleRequest) bool {
	eq := func(x, y *int) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return a.SecurityGroupID == b.SecurityGroupID && a.Direction == b.Direction && a.EtherType == b.EtherType &&
		a.Protocol == b.Protocol && eq(a.PortRangeMin, b.PortRangeMin) && eq(a.PortRangeMax, b.PortRangeMax) &&
		a.RemoteIPPrefix == b.RemoteIPPrefix && a.RemoteGroupID == b.RemoteGroupID
}

func (s *Sim) ruleCreate(w http.ResponseWriter, r *http.Request, tok *Token) {
	var req struct {
		Rule ruleRequest `json:"security_group_rule"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcNeutron, 400, err.Error())
		return
	}
	in := req.Rule
	if typ, msg := normalizeRule(&in); typ != "" {
		s.neutronError(w, 400, typ, msg)
		return
	}
	code, typ, msg := 0, "", ""
	var out M
	s.mutate(func() {
		if s.state.SecurityGroups[in.SecurityGroupID] == nil {
			code, typ, msg = 404, "SecurityGroupNotFound", "Security group "+in.SecurityGroupID+" does not exist"
			return
		}
		if in.RemoteGroupID != "" && s.state.SecurityGroups[in.RemoteGroupID] == nil {
			code, typ, msg = 404, "SecurityGroupNotFound", "Security group "+in.RemoteGroupID+" does not exist"
			return
		}
		for _, other := range s.state.SecurityGroupRules {
			if sameRule(other, in) {
				code, typ, msg = 409, "SecurityGroupRuleExists", "Security group rule already exists. Rule id is "+other.ID+"."
				return
			}
		}
		rule := &SecurityGroupRule{ID: newUUID(), SecurityGroupID: in.SecurityGroupID, Direction: in.Direction,
			EtherType: in.EtherType, Protocol: in.Protocol, PortRangeMin: in.PortRangeMin, PortRangeMax: in.PortRangeMax,
			RemoteIPPrefix: in.RemoteIPPrefix, RemoteGroupID: in.RemoteGroupID, Description: in.Description,
			ProjectID: tok.ProjectID, Created: s.now()}
		s.state.SecurityGroupRules[rule.ID] = rule
		out = ruleView(rule)
	})
	if code != 0 {
		s.neutronError(w, code, typ, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusCreated, M{"security_group_rule": out})
}

func (s *Sim) ruleDelete(w http.ResponseWriter, r *http.Request, _ *Token) {
	found := false
	s.mutate(func() {
		if s.state.SecurityGroupRules[r.PathValue("id")] != nil {
			found = true
			delete(s.state.SecurityGroupRules, r.PathValue("id"))
		}
	})
	if !found {
		s.neutronError(w, 404, "SecurityGroupRuleNotFound", "Security group rule "+r.PathValue("id")+" does not exist")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
