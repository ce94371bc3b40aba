package nifcloudsim

import (
	"net"
	"slices"
	"strings"
	"time"
)

// portedProtocol reports whether a protocol takes FromPort/ToPort.
func portedProtocol(p string) bool { return p == "TCP" || p == "UDP" }

func validSGProtocol(p string) bool {
	switch p {
	case "TCP", "UDP", "ICMP", "ICMPV6-ALL", "SSH", "HTTP", "HTTPS", "SMTP", "POP3", "IMAP", "SUBMISSION",
		"SMTPS", "POP3S", "IMAPS", "RDP", "GRE", "ESP", "AH", "VRRP", "L2TP", "ANY":
		return true
	}
	return false
}

func (s *Sim) groupFromParams(p params) (*SecurityGroup, *apiError) {
	name, e := p.req("GroupName")
	if e != nil {
		return nil, e
	}
	g, ok := s.st.SecurityGroups[name]
	if !ok {
		return nil, clientErr(CodeSGNotFound, "The groupName '%s' does not exist.", name)
	}
	return g, nil
}

// parseRules expands IpPermissions.N.* into one Rule per source.
func (s *Sim) parseRules(p params, now time.Time) ([]Rule, *apiError) {
	idx := p.indices("IpPermissions")
	if len(idx) == 0 {
		return nil, errMissing("IpPermissions.1.IpProtocol")
	}
	var out []Rule
	for _, n := range idx {
		k := key("IpPermissions", n)
		proto, e := p.req(key(k, "IpProtocol"))
		if e != nil {
			return nil, e
		}
		proto = strings.ToUpper(proto)
		if !validSGProtocol(proto) {
			return nil, errInvalid(key(k, "IpProtocol"), proto)
		}
		base := Rule{IPProtocol: proto, InOut: strings.ToUpper(p.str(key(k, "InOut"))),
			Description: p.Get(key(k, "Description")), AddDatetime: now}
		if base.InOut == "" {
			base.InOut = "IN"
		}
		if base.InOut != "IN" && base.InOut != "OUT" {
			return nil, errInvalid(key(k, "InOut"), base.InOut)
		}
		if portedProtocol(proto) {
			if base.FromPort, e = p.reqInt(key(k, "FromPort"), 1, 65535); e != nil {
				return nil, e
			}
			if base.ToPort, e = p.optInt(key(k, "ToPort"), base.FromPort, base.FromPort, 65535); e != nil {
				return nil, e
			}
		}
		var sources []Rule
		for _, m := range p.indices(key(k, "IpRanges")) {
			cidr := p.str(key(k, "IpRanges", m, "CidrIp"))
			if cidr == "" {
				continue
			}
			if _, _, err := net.ParseCIDR(cidr); err != nil && net.ParseIP(cidr) == nil {
				return nil, errInvalid(key(k, "IpRanges", m, "CidrIp"), cidr)
			}
			r := base
			r.CidrIP = cidr
			sources = append(sources, r)
		}
		for _, m := range p.indices(key(k, "Groups")) {
			gn := p.str(key(k, "Groups", m, "GroupName"))
			if gn == "" {
				continue
			}
			if _, ok := s.st.SecurityGroups[gn]; !ok {
				return nil, clientErr(CodeSGNotFound, "The groupName '%s' does not exist.", gn)
			}
			r := base
			r.GroupName = gn
			sources = append(sources, r)
		}
		if len(sources) == 0 {
			r := base
			r.CidrIP = "0.0.0.0/0"
			sources = append(sources, r)
		}
		out = append(out, sources...)
	}
	return out, nil
}

func (s *Sim) markApplying(g *SecurityGroup, now time.Time) {
	g.Status = "applying"
	g.ReadyAt = now.Add(s.controls.TransitionDelay("sg.apply"))
}

func (s *Sim) authorizeSecurityGroupIngress(p params, now time.Time) (*node, *apiError) {
	g, e := s.groupFromParams(p)
	if e != nil {
		return nil, e
	}
	rules, e := s.parseRules(p, now)
	if e != nil {
		return nil, e
	}
	next := slices.Clone(g.Rules)
	for _, r := range rules {
		if slices.ContainsFunc(next, r.sameAs) {
			return nil, clientErr(CodeSGRuleDuplicate, "The rule (%s %d-%d %s %s%s) already exists in the group '%s'.",
				r.IPProtocol, r.FromPort, r.ToPort, r.InOut, r.CidrIP, r.GroupName, g.Name)
		}
		next = append(next, r)
	}
	g.Rules = next
	s.markApplying(g, now)
	return group(tx("return", true)), nil
}

func (s *Sim) revokeSecurityGroupIngress(p params, now time.Time) (*node, *apiError) {
	g, e := s.groupFromParams(p)
	if e != nil {
		return nil, e
	}
	rules, e := s.parseRules(p, now)
	if e != nil {
		return nil, e
	}
	next := slices.Clone(g.Rules)
	for _, r := range rules {
		i := slices.IndexFunc(next, r.sameAs)
		if i < 0 {
			return nil, clientErr(CodeSGIngressNotFound, "The rule (%s %d-%d %s %s%s) does not exist in the group '%s'.",
				r.IPProtocol, r.FromPort, r.ToPort, r.InOut, r.CidrIP, r.GroupName, g.Name)
		}
		next = slices.Delete(next, i, i+1)
	}
	g.Rules = next
	s.markApplying(g, now)
	return group(tx("return", true)), nil
}

func ruleNode(r Rule) *node {
	n := group(tx("ipProtocol", r.IPProtocol))
	if portedProtocol(r.IPProtocol) {
		n.add(tx("fromPort", r.FromPort), tx("toPort", r.ToPort))
	}
	n.add(tx("inOut", r.InOut))
	if r.CidrIP != "" {
		n.add(items("ipRanges", []*node{group(tx("cidrIp", r.CidrIP))}))
	}
	if r.GroupName != "" {
		n.add(items("groups", []*node{group(tx("userId", ""), tx("groupName", r.GroupName))}))
	}
	return n.add(tx("description", r.Description), tx("addDatetime", r.AddDatetime))
}

func (s *Sim) describeSecurityGroups(p params, _ time.Time) (*node, *apiError) {
	names := p.list("GroupName")
	if len(names) == 0 {
		names = sortedKeys(s.st.SecurityGroups)
	}
	var out []*node
	for _, name := range names {
		g, ok := s.st.SecurityGroups[name]
		if !ok {
			return nil, clientErr(CodeSGNotFound, "The groupName '%s' does not exist.", name)
		}
		var perms, insts, uids []*node
		for _, r := range g.Rules {
			perms = append(perms, ruleNode(r))
		}
		for _, id := range sortedKeys(s.st.Instances) {
			if in := s.st.Instances[id]; in.SecurityGroup == name {
				insts = append(insts, group(tx("instanceId", in.InstanceID)))
				uids = append(uids, group(tx("instanceUniqueId", in.InstanceUniqueID)))
			}
		}
		out = append(out, group(
			tx("ownerId", ""),
			tx("groupName", g.Name),
			tx("groupDescription", ""),
			tx("groupStatus", g.Status),
			items("ipPermissions", perms),
			items("instancesSet", insts),
			items("instanceUniqueIdsSet", uids),
			tx("groupRuleLimit", 100),
			tx("availabilityZone", g.Zone),
		))
	}
	return group(items("securityGroupInfo", out)), nil
}
