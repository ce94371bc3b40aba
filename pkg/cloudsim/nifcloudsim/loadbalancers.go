package nifcloudsim

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	lbVIPBase     = "203.0.113." // L4 VIPs (DNSName), stable per name
	allowAllIP    = "*.*.*.*"
	defaultNetVol = 10
)

func validNetworkVolume(n int, elb bool) bool {
	if n == 10 || n == 20 || n == 30 || n == 40 {
		return true
	}
	limit := 2000
	if elb {
		limit = 500
	}
	return n >= 100 && n <= limit && n%100 == 0
}

func validProtocol(p string) bool {
	switch p {
	case "TCP", "UDP", "HTTP", "HTTPS", "FTP":
		return true
	}
	return false
}

// parseL4Listener reads prefix.{Protocol,LoadBalancerPort,InstancePort,BalancingType}.
func parseL4Listener(p params, prefix string) (*Listener, *apiError) {
	lp, e := p.reqInt(key(prefix, "LoadBalancerPort"), 1, 65535)
	if e != nil {
		return nil, e
	}
	ip, e := p.reqInt(key(prefix, "InstancePort"), 1, 65535)
	if e != nil {
		return nil, e
	}
	bt, e := p.optInt(key(prefix, "BalancingType"), 1, 1, 2)
	if e != nil {
		return nil, e
	}
	proto := strings.ToUpper(p.str(key(prefix, "Protocol")))
	if proto == "" {
		proto = "TCP"
	}
	if !validProtocol(proto) {
		return nil, errInvalid(key(prefix, "Protocol"), proto)
	}
	return &Listener{
		Protocol: proto, LoadBalancerPort: lp, InstancePort: ip, BalancingType: bt,
		HealthCheck: HealthCheck{Target: "TCP:" + strconv.Itoa(ip), Interval: 5, UnhealthyThreshold: 1, Timeout: 5, HealthyThreshold: 1},
		Instances:   []string{}, FilterType: "1", IPAddresses: []string{},
	}, nil
}

func (lb *LoadBalancer) listener(lp, ip int) *Listener {
	for _, l := range lb.Listeners {
		if l.LoadBalancerPort == lp && l.InstancePort == ip {
			return l
		}
	}
	return nil
}

func (s *Sim) lbFromParams(p params) (*LoadBalancer, *apiError) {
	name, e := p.req("LoadBalancerName")
	if e != nil {
		return nil, e
	}
	lb, ok := s.st.LoadBalancers[name]
	if !ok {
		return nil, clientErr(CodeLBNotFound, "The LoadBalancerName '%s' does not exist.", name)
	}
	return lb, nil
}

// listenerFromParams resolves the (LoadBalancerName, LoadBalancerPort,
// InstancePort) triple.
func (s *Sim) listenerFromParams(p params) (*LoadBalancer, *Listener, *apiError) {
	lb, e := s.lbFromParams(p)
	if e != nil {
		return nil, nil, e
	}
	lp, e := p.reqInt("LoadBalancerPort", 1, 65535)
	if e != nil {
		return nil, nil, e
	}
	ip, e := p.reqInt("InstancePort", 1, 65535)
	if e != nil {
		return nil, nil, e
	}
	l := lb.listener(lp, ip)
	if l == nil {
		return nil, nil, clientErr(CodeLBPortNotFound, "The requested LoadBalancer '%s' does not have this port (loadBalancerPort:%d,instancePort:%d).", lb.Name, lp, ip)
	}
	return lb, l, nil
}

func (s *Sim) createLoadBalancer(p params, now time.Time) (*node, *apiError) {
	name, e := p.req("LoadBalancerName")
	if e != nil {
		return nil, e
	}
	if _, ok := s.st.LoadBalancers[name]; ok {
		return nil, clientErr(CodeLBDuplicate, "The LoadBalancerName '%s' already exists.", name)
	}
	idx := p.indices("Listeners.member")
	if len(idx) == 0 {
		return nil, errMissing("Listeners.member.1.LoadBalancerPort")
	}
	lb := &LoadBalancer{Name: name, PolicyType: "standard", AccountingType: "1", NetworkVolume: defaultNetVol,
		Zone: defaultZone(s.region), CreatedTime: now}
	for _, n := range idx {
		l, e := parseL4Listener(p, key("Listeners.member", n))
		if e != nil {
			return nil, e
		}
		if lb.listener(l.LoadBalancerPort, l.InstancePort) != nil {
			return nil, clientErr(CodeLBPortExists, "The requested LoadBalancerPort '%d' already exists.", l.LoadBalancerPort)
		}
		lb.Listeners = append(lb.Listeners, l)
	}
	if e := applyLBAttrs(p, lb, "NetworkVolume", "AccountingType"); e != nil {
		return nil, e
	}
	if pt := p.str("PolicyType"); pt != "" {
		if pt != "standard" && pt != "ats" {
			return nil, errInvalid("PolicyType", pt)
		}
		lb.PolicyType = pt
	}
	if z := p.str("AvailabilityZones.member.1"); z != "" {
		lb.Zone = z
	}
	lb.DNSName = s.allocIPLocked(lbVIPBase, "lb:"+name)
	s.st.LoadBalancers[name] = lb
	return group(tx("DNSName", lb.DNSName)), nil
}

// applyLBAttrs reads the network volume and accounting type keys.
func applyLBAttrs(p params, lb *LoadBalancer, nvKey, acctKey string) *apiError {
	if v := p.str(nvKey); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !validNetworkVolume(n, false) {
			return clientErr(CodeInvalidNetworkVolume, "The %s '%s' is invalid.", nvKey, v)
		}
		lb.NetworkVolume = n
	}
	if v := p.str(acctKey); v != "" {
		if v != "1" && v != "2" {
			return clientErr(CodeInvalidAccountingType, "The %s '%s' is invalid.", acctKey, v)
		}
		lb.AccountingType = v
	}
	return nil
}

func listenerNode(l *Listener) *node {
	return group(tx("Protocol", l.Protocol), tx("LoadBalancerPort", l.LoadBalancerPort),
		tx("InstancePort", l.InstancePort), tx("BalancingType", l.BalancingType))
}

func (s *Sim) registerPortWithLoadBalancer(p params, _ time.Time) (*node, *apiError) {
	lb, e := s.lbFromParams(p)
	if e != nil {
		return nil, e
	}
	idx := p.indices("Listeners.member")
	if len(idx) == 0 {
		return nil, errMissing("Listeners.member.1.LoadBalancerPort")
	}
	var added []*Listener
	for _, n := range idx {
		l, e := parseL4Listener(p, key("Listeners.member", n))
		if e != nil {
			return nil, e
		}
		dup := lb.listener(l.LoadBalancerPort, l.InstancePort) != nil
		for _, a := range added {
			dup = dup || (a.LoadBalancerPort == l.LoadBalancerPort && a.InstancePort == l.InstancePort)
		}
		if dup {
			return nil, clientErr(CodeLBPortExists, "The requested LoadBalancerPort '%d' already exists.", l.LoadBalancerPort)
		}
		added = append(added, l)
	}
	lb.Listeners = append(lb.Listeners, added...)
	var out []*node
	for _, l := range added {
		out = append(out, listenerNode(l))
	}
	return group(members("Listeners", out)), nil
}

// parseHealthCheck updates hc from HealthCheck.* keys.
func parseHealthCheck(p params, hc *HealthCheck, requireTarget bool) *apiError {
	target := p.str("HealthCheck.Target")
	if target == "" && requireTarget {
		return errMissing("HealthCheck.Target")
	}
	if target != "" {
		port, isTCP := strings.CutPrefix(strings.ToUpper(target), "TCP:")
		if n, err := strconv.Atoi(port); target != "ICMP" && (!isTCP || err != nil || n < 1 || n > 65535) {
			return errInvalid("HealthCheck.Target", target)
		}
		hc.Target = target
	}
	var e *apiError
	if hc.Interval, e = p.optInt("HealthCheck.Interval", hc.Interval, 5, 300); e != nil {
		return e
	}
	if hc.UnhealthyThreshold, e = p.optInt("HealthCheck.UnhealthyThreshold", hc.UnhealthyThreshold, 1, 10); e != nil {
		return e
	}
	if hc.HealthyThreshold, e = p.optInt("HealthCheck.HealthyThreshold", hc.HealthyThreshold, 1, 10); e != nil {
		return e
	}
	if hc.Timeout, e = p.optInt("HealthCheck.Timeout", hc.Timeout, 1, 300); e != nil {
		return e
	}
	return nil
}

func healthCheckNode(hc HealthCheck, states []*node) *node {
	return el("HealthCheck", tx("Target", hc.Target), tx("Interval", hc.Interval), tx("Timeout", hc.Timeout),
		tx("UnhealthyThreshold", hc.UnhealthyThreshold), tx("HealthyThreshold", hc.HealthyThreshold),
		members("InstanceStates", states))
}

func (s *Sim) configureHealthCheck(p params, _ time.Time) (*node, *apiError) {
	_, l, e := s.listenerFromParams(p)
	if e != nil {
		return nil, e
	}
	hc := l.HealthCheck
	if e := parseHealthCheck(p, &hc, true); e != nil {
		return nil, e
	}
	l.HealthCheck = hc
	// ConfigureHealthCheckResult's HealthCheck shape has no Timeout and no
	// InstanceStates (those exist only in DescribeLoadBalancers).
	return group(el("HealthCheck", tx("Target", hc.Target), tx("Interval", hc.Interval),
		tx("UnhealthyThreshold", hc.UnhealthyThreshold), tx("HealthyThreshold", hc.HealthyThreshold))), nil
}

func validFilterAddress(a string) bool {
	if a == allowAllIP || net.ParseIP(a) != nil {
		return true
	}
	_, _, err := net.ParseCIDR(a)
	return err == nil
}

func filterNode(l *Listener) *node {
	var ips []*node
	for _, ip := range l.IPAddresses {
		ips = append(ips, group(tx("IPAddress", ip)))
	}
	if len(ips) == 0 {
		ips = append(ips, group(tx("IPAddress", allowAllIP)))
	}
	return el("Filter", tx("FilterType", l.FilterType), members("IPAddresses", ips))
}

func (s *Sim) setFilterForLoadBalancer(p params, _ time.Time) (*node, *apiError) {
	_, l, e := s.listenerFromParams(p)
	if e != nil {
		return nil, e
	}
	ft := p.str("FilterType")
	if ft != "" && ft != "1" && ft != "2" {
		return nil, errInvalid("FilterType", ft)
	}
	ips := slices.Clone(l.IPAddresses)
	for _, n := range p.indices("IPAddresses.member") {
		k := key("IPAddresses.member", n)
		ip, e := p.req(key(k, "IPAddress"))
		if e != nil {
			return nil, e
		}
		if !validFilterAddress(ip) {
			return nil, errInvalid(key(k, "IPAddress"), ip)
		}
		add, present, e := p.optBool(key(k, "AddOnFilter"))
		if e != nil {
			return nil, e
		}
		if !present {
			add = true
		}
		switch {
		case ip == allowAllIP:
			ips = ips[:0]
		case add && slices.Contains(ips, ip):
			return nil, clientErr(CodeIPAddressDuplicate, "The IPAddress '%s' is already in the filter.", ip)
		case add:
			ips = append(ips, ip)
		case !slices.Contains(ips, ip):
			return nil, clientErr(CodeIPAddressNotFound, "The IPAddress '%s' is not in the filter.", ip)
		default:
			ips = slices.DeleteFunc(ips, func(x string) bool { return x == ip })
		}
	}
	l.IPAddresses = ips
	if ft != "" {
		l.FilterType = ft
	}
	return group(filterNode(l)), nil
}

// instancesFromMembers resolves Instances.member.N.InstanceId.
func (s *Sim) instancesFromMembers(p params) ([]*Instance, *apiError) {
	var out []*Instance
	for _, n := range p.indices("Instances.member") {
		id, e := p.req(key("Instances.member", n, "InstanceId"))
		if e != nil {
			return nil, e
		}
		in, ok := s.st.Instances[id]
		if !ok {
			return nil, errInstanceNotFound(id)
		}
		out = append(out, in)
	}
	if len(out) == 0 {
		return nil, errMissing("Instances.member.1.InstanceId")
	}
	return out, nil
}

func (s *Sim) instanceMembers(ids []string) []*node {
	var out []*node
	for _, id := range ids {
		uid := ""
		if in, ok := s.st.Instances[id]; ok {
			uid = in.InstanceUniqueID
		}
		out = append(out, group(tx("InstanceId", id), tx("InstanceUniqueId", uid)))
	}
	return out
}

func (s *Sim) instanceStates(ids []string) []*node {
	var out []*node
	for _, id := range ids {
		uid, state := "", "OutOfService"
		if in, ok := s.st.Instances[id]; ok {
			uid = in.InstanceUniqueID
			if in.State == "running" {
				state = "InService"
			}
		}
		out = append(out, group(tx("InstanceId", id), tx("InstanceUniqueId", uid), tx("State", state),
			tx("ReasonCode", ""), tx("Description", "")))
	}
	return out
}

func (s *Sim) registerInstancesWithLoadBalancer(p params, _ time.Time) (*node, *apiError) {
	lb, l, e := s.listenerFromParams(p)
	if e != nil {
		return nil, e
	}
	ins, e := s.instancesFromMembers(p)
	if e != nil {
		return nil, e
	}
	next := slices.Clone(l.Instances)
	for _, in := range ins {
		if slices.Contains(next, in.InstanceID) {
			return nil, clientErr(CodeLBInstanceRegistered, "The instance ID '%s' already exists with this LoadBalancer '%s'.", in.InstanceID, lb.Name)
		}
		next = append(next, in.InstanceID)
	}
	l.Instances = next
	return group(members("Instances", s.instanceMembers(l.Instances))), nil
}

func (s *Sim) deregisterInstancesFromLoadBalancer(p params, _ time.Time) (*node, *apiError) {
	lb, l, e := s.listenerFromParams(p)
	if e != nil {
		return nil, e
	}
	ins, e := s.instancesFromMembers(p)
	if e != nil {
		return nil, e
	}
	next := slices.Clone(l.Instances)
	for _, in := range ins {
		if !slices.Contains(next, in.InstanceID) {
			return nil, clientErr(CodeInstanceNotFound, "The instance ID '%s' does not register at the LoadBalancer '%s'.", in.InstanceID, lb.Name)
		}
		next = without(next, in.InstanceID)
	}
	l.Instances = next
	return group(members("Instances", s.instanceMembers(l.Instances))), nil
}

func (s *Sim) deleteLoadBalancer(p params, _ time.Time) (*node, *apiError) {
	lb, l, e := s.listenerFromParams(p)
	if e != nil {
		return nil, e
	}
	lb.Listeners = slices.DeleteFunc(lb.Listeners, func(x *Listener) bool { return x == l })
	if len(lb.Listeners) == 0 {
		delete(s.st.LoadBalancers, lb.Name)
	}
	return group(), nil
}

func (s *Sim) updateLoadBalancer(p params, _ time.Time) (*node, *apiError) {
	lb, e := s.lbFromParams(p)
	if e != nil {
		return nil, e
	}
	updated := *lb
	if e := applyLBAttrs(p, &updated, "NetworkVolumeUpdate", "AccountingTypeUpdate"); e != nil {
		return nil, e
	}
	var target *Listener
	var repl Listener
	if p.str("ListenerUpdate.LoadBalancerPort") != "" || p.str("ListenerUpdate.InstancePort") != "" {
		lp, e := p.reqInt("ListenerUpdate.LoadBalancerPort", 1, 65535)
		if e != nil {
			return nil, e
		}
		ip, e := p.reqInt("ListenerUpdate.InstancePort", 1, 65535)
		if e != nil {
			return nil, e
		}
		if target = lb.listener(lp, ip); target == nil {
			return nil, clientErr(CodeLBPortNotFound, "The requested LoadBalancer '%s' does not have this port (loadBalancerPort:%d,instancePort:%d).", lb.Name, lp, ip)
		}
		repl = *target
		if v := strings.ToUpper(p.str("ListenerUpdate.Listener.Protocol")); v != "" {
			if !validProtocol(v) {
				return nil, errInvalid("ListenerUpdate.Listener.Protocol", v)
			}
			repl.Protocol = v
		}
		if repl.LoadBalancerPort, e = p.optInt("ListenerUpdate.Listener.LoadBalancerPort", repl.LoadBalancerPort, 1, 65535); e != nil {
			return nil, e
		}
		if repl.InstancePort, e = p.optInt("ListenerUpdate.Listener.InstancePort", repl.InstancePort, 1, 65535); e != nil {
			return nil, e
		}
		if repl.BalancingType, e = p.optInt("ListenerUpdate.Listener.BalancingType", repl.BalancingType, 1, 2); e != nil {
			return nil, e
		}
		if o := lb.listener(repl.LoadBalancerPort, repl.InstancePort); o != nil && o != target {
			return nil, clientErr(CodeLBPortExists, "The requested LoadBalancerPort '%d' already exists.", repl.LoadBalancerPort)
		}
	}
	rename := p.str("LoadBalancerNameUpdate")
	if rename != "" && rename != lb.Name {
		if _, taken := s.st.LoadBalancers[rename]; taken {
			return nil, clientErr(CodeLBDuplicate, "The LoadBalancerName '%s' already exists.", rename)
		}
	}
	lb.NetworkVolume, lb.AccountingType = updated.NetworkVolume, updated.AccountingType
	if target != nil {
		*target = repl
	}
	if rename != "" && rename != lb.Name {
		delete(s.st.LoadBalancers, lb.Name)
		lb.Name = rename
		s.st.LoadBalancers[rename] = lb
	}
	return nil, nil // UpdateLoadBalancerResult has only ResponseMetadata
}

func (s *Sim) lbMember(lb *LoadBalancer, l *Listener) *node {
	return group(
		tx("LoadBalancerName", lb.Name),
		tx("DNSName", lb.DNSName),
		tx("NetworkVolume", lb.NetworkVolume),
		tx("PolicyType", lb.PolicyType),
		members("ListenerDescriptions", []*node{group(el("Listener", listenerNode(l).kids...))}),
		members("AvailabilityZones", []*node{tx("member", lb.Zone)}),
		members("Instances", s.instanceMembers(l.Instances)),
		healthCheckNode(l.HealthCheck, s.instanceStates(l.Instances)),
		filterNode(l),
		tx("CreatedTime", lb.CreatedTime),
		tx("AccountingType", lb.AccountingType),
		tx("NextMonthAccountingType", lb.AccountingType),
		tx("Description", ""),
	)
}

func (s *Sim) describeLoadBalancers(p params, _ time.Time) (*node, *apiError) {
	var out []*node
	idx := p.indices("LoadBalancerNames.member")
	if len(idx) == 0 {
		for _, name := range sortedKeys(s.st.LoadBalancers) {
			lb := s.st.LoadBalancers[name]
			for _, l := range lb.Listeners {
				out = append(out, s.lbMember(lb, l))
			}
		}
		return group(members("LoadBalancerDescriptions", out)), nil
	}
	for _, n := range idx {
		name := p.str(key("LoadBalancerNames.member", n))
		lb, ok := s.st.LoadBalancers[name]
		if !ok {
			return nil, clientErr(CodeLBNotFound, "The LoadBalancerName '%s' does not exist.", name)
		}
		lp, e := p.optInt(key("LoadBalancerNames.LoadBalancerPort", n), 0, 1, 65535)
		if e != nil {
			return nil, e
		}
		ip, e := p.optInt(key("LoadBalancerNames.InstancePort", n), 0, 1, 65535)
		if e != nil {
			return nil, e
		}
		found := false
		for _, l := range lb.Listeners {
			if (lp == 0 || l.LoadBalancerPort == lp) && (ip == 0 || l.InstancePort == ip) {
				out = append(out, s.lbMember(lb, l))
				found = true
			}
		}
		if !found {
			return nil, clientErr(CodeLBPortNotFound, "The requested LoadBalancer '%s' does not have this port (loadBalancerPort:%d,instancePort:%d).", name, lp, ip)
		}
	}
	return group(members("LoadBalancerDescriptions", out)), nil
}
