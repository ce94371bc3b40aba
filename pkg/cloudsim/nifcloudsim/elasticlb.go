package nifcloudsim

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	elbVIPBase     = "198.51.100." // VIPs and system IPs on net-COMMON_GLOBAL
	elbPrivateBase = "10.200.0."   // on net-COMMON_PRIVATE
	netGlobal      = "net-COMMON_GLOBAL"
	netPrivate     = "net-COMMON_PRIVATE"
)

// elbFromParams resolves ElasticLoadBalancerName, or ElasticLoadBalancerId
// when no name is given (both must agree when both are).
func (s *Sim) elbFromParams(p params) (*ElasticLB, *apiError) {
	name, id := p.str("ElasticLoadBalancerName"), p.str("ElasticLoadBalancerId")
	if name == "" && id == "" {
		return nil, errMissing("ElasticLoadBalancerName")
	}
	if name != "" {
		elb, ok := s.st.ElasticLBs[name]
		if !ok || (id != "" && elb.ID != id) {
			return nil, clientErr(CodeELBNotFound, "The ElasticLoadBalancerName '%s' does not exist.", name)
		}
		return elb, nil
	}
	for _, elb := range s.st.ElasticLBs {
		if elb.ID == id {
			return elb, nil
		}
	}
	return nil, clientErr(CodeELBNotFound, "The ElasticLoadBalancerId '%s' does not exist.", id)
}

// mutableELB refuses changes while a previous one is still being applied.
func (s *Sim) mutableELB(p params) (*ElasticLB, *apiError) {
	elb, e := s.elbFromParams(p)
	if e != nil {
		return nil, e
	}
	if elb.State != "available" {
		return nil, clientErr(CodeELBProcessing, "The ElasticLoadBalancer '%s' is %s; wait until it is available.", elb.Name, elb.State)
	}
	return elb, nil
}

func (s *Sim) markPending(elb *ElasticLB, now time.Time) {
	elb.State = "pending"
	elb.ReadyAt = now.Add(s.controls.TransitionDelay("elb.apply"))
}

func (elb *ElasticLB) listener(proto string, port, instancePort int) *ELBListener {
	for _, l := range elb.Listeners {
		if (proto == "" || l.Protocol == proto) && l.Port == port && l.InstancePort == instancePort {
			return l
		}
	}
	return nil
}

func (elb *ElasticLB) portTaken(proto string, port int, except *ELBListener) bool {
	for _, l := range elb.Listeners {
		if l != except && l.Protocol == proto && l.Port == port {
			return true
		}
	}
	return false
}

func parseELBListener(p params, prefix string) (*ELBListener, *apiError) {
	port, e := p.reqInt(key(prefix, "ElasticLoadBalancerPort"), 1, 65535)
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
	return &ELBListener{Protocol: proto, Port: port, InstancePort: ip, BalancingType: bt, Instances: []string{},
		HealthCheck: HealthCheck{Target: "TCP:" + strconv.Itoa(ip), Interval: 5, UnhealthyThreshold: 1, Timeout: 5, HealthyThreshold: 1}}, nil
}

// elbListenerFromParams resolves ElasticLoadBalancerName +
// ElasticLoadBalancerPort + InstancePort (+ optional Protocol).
func (s *Sim) elbListenerFromParams(p params) (*ElasticLB, *ELBListener, *apiError) {
	elb, e := s.mutableELB(p)
	if e != nil {
		return nil, nil, e
	}
	port, e := p.reqInt("ElasticLoadBalancerPort", 1, 65535)
	if e != nil {
		return nil, nil, e
	}
	ip, e := p.reqInt("InstancePort", 1, 65535)
	if e != nil {
		return nil, nil, e
	}
	proto := strings.ToUpper(p.str("Protocol"))
	l := elb.listener(proto, port, ip)
	if l == nil {
		return nil, nil, clientErr(CodeELBPortNotFound, "The requested ElasticLoadBalancerName ('%s') does not have this protocol and port (Protocol: '%s',ElasticLoadBalancerPort: '%d',InstancePort: '%d').", elb.Name, proto, port, ip)
	}
	return elb, l, nil
}

func (s *Sim) parseNICs(p params, name string) ([]NetworkInterface, *apiError) {
	var nics []NetworkInterface
	var taken []string
	for _, n := range p.indices("NetworkInterface") {
		k := key("NetworkInterface", n)
		id, e := p.req(key(k, "NetworkId"))
		if e != nil {
			return nil, e
		}
		vip, _, e := p.optBool(key(k, "IsVipNetwork"))
		if e != nil {
			return nil, e
		}
		ni := NetworkInterface{NetworkID: id, IsVipNetwork: vip, IPAddress: p.str(key(k, "IpAddress"))}
		for _, m := range p.indices(key(k, "SystemIpAddresses")) {
			if v := p.str(key(k, "SystemIpAddresses", m, "SystemIpAddress")); v != "" {
				ni.SystemIPAddresses = append(ni.SystemIPAddresses, v)
			}
		}
		for _, ip := range append([]string{ni.IPAddress}, ni.SystemIPAddresses...) {
			if ip != "" && net.ParseIP(ip) == nil {
				return nil, errInvalid(key(k, "IpAddress"), ip)
			}
		}
		switch id {
		case netGlobal, netPrivate:
			base := elbVIPBase
			if id == netPrivate {
				base = elbPrivateBase
			}
			if ni.IPAddress == "" {
				ni.IPAddress = s.allocIPLocked(base, "elb:"+name+":"+id, taken...)
				taken = append(taken, ni.IPAddress)
			}
			for len(ni.SystemIPAddresses) < 2 {
				ip := s.allocIPLocked(base, "elb:"+name+":"+id+":sys"+strconv.Itoa(len(ni.SystemIPAddresses)), taken...)
				taken = append(taken, ip)
				ni.SystemIPAddresses = append(ni.SystemIPAddresses, ip)
			}
		default:
			if ni.IPAddress == "" {
				return nil, errMissing(key(k, "IpAddress"))
			}
			if len(ni.SystemIPAddresses) != 2 {
				return nil, errInvalid(key(k, "SystemIpAddresses"), strings.Join(ni.SystemIPAddresses, ","))
			}
			if _, ok := s.st.PrivateLans[id]; !ok {
				return nil, errNetworkNotFound(id)
			}
		}
		nics = append(nics, ni)
	}
	if len(nics) == 0 {
		return s.parseNICs(params{map[string][]string{
			"NetworkInterface.1.NetworkId": {netGlobal}, "NetworkInterface.1.IsVipNetwork": {"true"},
		}}, name)
	}
	vips := 0
	for _, ni := range nics {
		if ni.IsVipNetwork {
			vips++
		}
	}
	if vips == 0 {
		nics[0].IsVipNetwork = true
	} else if vips > 1 {
		return nil, errInvalid("NetworkInterface.N.IsVipNetwork", "true")
	}
	return nics, nil
}

func (s *Sim) createELB(p params, now time.Time) (*node, *apiError) {
	name, e := p.req("ElasticLoadBalancerName")
	if e != nil {
		return nil, e
	}
	if _, ok := s.st.ElasticLBs[name]; ok {
		return nil, clientErr(CodeELBDuplicate, "The ElasticLoadBalancerName '%s' already exists.", name)
	}
	elb := &ElasticLB{Name: name, NetworkVolume: defaultNetVol, AccountingType: "1", Zone: defaultZone(s.region), CreatedTime: now}
	idx := p.indices("Listeners.member")
	if len(idx) == 0 {
		return nil, errMissing("Listeners.member.1.ElasticLoadBalancerPort")
	}
	for _, n := range idx {
		l, e := parseELBListener(p, key("Listeners.member", n))
		if e != nil {
			return nil, e
		}
		if elb.portTaken(l.Protocol, l.Port, nil) {
			return nil, clientErr(CodeELBPortDuplicate, "The requested is Listeners_member_Protocol and Listeners_member_ElasticLoadBalancerPort Specified Duplicated.")
		}
		elb.Listeners = append(elb.Listeners, l)
	}
	if e := applyELBAttrs(p, elb, "NetworkVolume", "AccountingType"); e != nil {
		return nil, e
	}
	if z := p.str("AvailabilityZones.member.1"); z != "" {
		elb.Zone = z
	}
	nics, e := s.parseNICs(p, name)
	if e != nil {
		return nil, e
	}
	elb.NetworkInterfaces = nics
	for _, ni := range nics {
		if ni.IsVipNetwork {
			elb.DNSName = ni.IPAddress
		}
	}
	elb.ID = uniqueID("elb-", func(id string) bool {
		for _, o := range s.st.ElasticLBs {
			if o.ID == id {
				return true
			}
		}
		return false
	})
	s.markPending(elb, now)
	s.st.ElasticLBs[name] = elb
	// NIFCLOUD answers before the VIP is assigned; clients re-describe.
	return group(tx("DNSName", "")), nil
}

func applyELBAttrs(p params, elb *ElasticLB, nvKey, acctKey string) *apiError {
	if v := p.str(nvKey); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !validNetworkVolume(n, true) {
			return clientErr(CodeInvalidNetworkVolume, "The %s '%s' is invalid.", nvKey, v)
		}
		elb.NetworkVolume = n
	}
	if v := p.str(acctKey); v != "" {
		if v != "1" && v != "2" {
			return clientErr(CodeInvalidAccountingType, "The %s '%s' is invalid.", acctKey, v)
		}
		elb.AccountingType = v
	}
	return nil
}

func (s *Sim) registerPortWithELB(p params, now time.Time) (*node, *apiError) {
	elb, e := s.mutableELB(p)
	if e != nil {
		return nil, e
	}
	idx := p.indices("Listeners.member")
	if len(idx) == 0 {
		return nil, errMissing("Listeners.member.1.ElasticLoadBalancerPort")
	}
	next := slices.Clone(elb.Listeners)
	var out []*node
	for _, n := range idx {
		l, e := parseELBListener(p, key("Listeners.member", n))
		if e != nil {
			return nil, e
		}
		probe := &ElasticLB{Listeners: next}
		if probe.portTaken(l.Protocol, l.Port, nil) {
			return nil, clientErr(CodeELBPortDuplicate, "The requested is Listeners_member_Protocol and Listeners_member_ElasticLoadBalancerPort Specified Duplicated.")
		}
		next = append(next, l)
		out = append(out, group(tx("Protocol", l.Protocol), tx("ElasticLoadBalancerPort", l.Port),
			tx("InstancePort", l.InstancePort), tx("BalancingType", l.BalancingType)))
	}
	elb.Listeners = next
	s.markPending(elb, now)
	return group(members("Listeners", out)), nil
}

func (s *Sim) configureELBHealthCheck(p params, now time.Time) (*node, *apiError) {
	elb, l, e := s.elbListenerFromParams(p)
	if e != nil {
		return nil, e
	}
	hc := l.HealthCheck
	if e := parseHealthCheck(p, &hc, true); e != nil {
		return nil, e
	}
	l.HealthCheck = hc
	s.markPending(elb, now)
	// HealthCheckOfNiftyConfigureElasticLoadBalancerHealthCheck: no
	// Timeout, HealthyThreshold or InstanceStates.
	return group(el("HealthCheck", tx("Target", hc.Target), tx("Interval", hc.Interval),
		tx("UnhealthyThreshold", hc.UnhealthyThreshold))), nil
}

func (s *Sim) registerInstancesWithELB(p params, now time.Time) (*node, *apiError) {
	elb, l, e := s.elbListenerFromParams(p)
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
			return nil, clientErr(CodeELBInstanceRegistered, "The Instances_member_InstanceId '%s' already exists with this ElasticLoadBalancer.", in.InstanceID)
		}
		next = append(next, in.InstanceID)
	}
	l.Instances = next
	s.markPending(elb, now)
	// The model types this Result as a string: nothing inside.
	return group(), nil
}

func (s *Sim) deregisterInstancesFromELB(p params, now time.Time) (*node, *apiError) {
	elb, l, e := s.elbListenerFromParams(p)
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
			return nil, clientErr(CodeInstanceNotFound, "The instance ID '%s' does not register at the ElasticLoadBalancer '%s'.", in.InstanceID, elb.Name)
		}
		next = without(next, in.InstanceID)
	}
	l.Instances = next
	s.markPending(elb, now)
	// The model types this Result as a string: nothing inside.
	return group(), nil
}

func (s *Sim) deleteELB(p params, now time.Time) (*node, *apiError) {
	elb, l, e := s.elbListenerFromParams(p)
	if e != nil {
		return nil, e
	}
	elb.Listeners = slices.DeleteFunc(elb.Listeners, func(x *ELBListener) bool { return x == l })
	if len(elb.Listeners) == 0 {
		delete(s.st.ElasticLBs, elb.Name)
	} else {
		s.markPending(elb, now)
	}
	return group(), nil
}

func (s *Sim) updateELB(p params, now time.Time) (*node, *apiError) {
	elb, e := s.mutableELB(p)
	if e != nil {
		return nil, e
	}
	updated := *elb
	if e := applyELBAttrs(p, &updated, "NetworkVolumeUpdate", "AccountingTypeUpdate"); e != nil {
		return nil, e
	}
	rename := p.str("ElasticLoadBalancerNameUpdate")
	if rename != "" && rename != elb.Name {
		if _, taken := s.st.ElasticLBs[rename]; taken {
			return nil, clientErr(CodeELBDuplicate, "The ElasticLoadBalancerName '%s' already exists.", rename)
		}
	}
	elb.NetworkVolume, elb.AccountingType = updated.NetworkVolume, updated.AccountingType
	if rename != "" && rename != elb.Name {
		delete(s.st.ElasticLBs, elb.Name)
		elb.Name = rename
		s.st.ElasticLBs[rename] = elb
	}
	s.markPending(elb, now)
	return nil, nil // NiftyUpdateElasticLoadBalancerResult has only ResponseMetadata
}

func mergeIndices(a, b []int) []int {
	out := slices.Clone(a)
	for _, n := range b {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// modifyELBAttributes changes one listener's attributes
// (NiftyModifyElasticLoadBalancerAttributesRequest:
// LoadBalancerAttributes.AdditionalAttributes.member.N.{Key,Value}, keys
// from KeyOfLoadBalancerAttributesForNiftyModifyElasticLoadBalancerAttributes).
func (s *Sim) modifyELBAttributes(p params, now time.Time) (*node, *apiError) {
	elb, l, e := s.elbListenerFromParams(p)
	if e != nil {
		return nil, e
	}
	repl := *l
	const attrs = "LoadBalancerAttributes.AdditionalAttributes.member"
	for _, n := range p.indices(attrs) {
		k, v := p.str(key(attrs, n, "Key")), p.str(key(attrs, n, "Value"))
		vkey := key(attrs, n, "Value")
		var err *apiError
		switch k {
		case "balancingType":
			repl.BalancingType, err = p.reqInt(vkey, 1, 2)
		case "elasticLoadBalancerPort":
			repl.Port, err = p.reqInt(vkey, 1, 65535)
		case "instancePort":
			repl.InstancePort, err = p.reqInt(vkey, 1, 65535)
		case "protocol":
			if !validProtocol(strings.ToUpper(v)) {
				err = errInvalid(vkey, v)
			}
			repl.Protocol = strings.ToUpper(v)
		case "description", "sslCertificateId":
			// accepted; the simulator does not keep them
		default:
			err = errInvalid(key(attrs, n, "Key"), k)
		}
		if err != nil {
			return nil, err
		}
	}
	if elb.portTaken(repl.Protocol, repl.Port, l) {
		return nil, clientErr(CodeELBPortDuplicate, "The requested is Protocol and ElasticLoadBalancerPort Specified Duplicated.")
	}
	*l = repl
	s.markPending(elb, now)
	return nil, nil // the Result shape has only ResponseMetadata
}

func (s *Sim) elbMember(elb *ElasticLB, ls []*ELBListener) *node {
	var lds []*node
	for _, l := range ls {
		lds = append(lds, group(el("Listener",
			tx("Protocol", l.Protocol), tx("ElasticLoadBalancerPort", l.Port), tx("InstancePort", l.InstancePort),
			tx("BalancingType", l.BalancingType), tx("Description", ""),
			members("Instances", s.instanceMembers(l.Instances)),
			// HealthCheckOfNiftyDescribeElasticLoadBalancers has no Timeout
			// or HealthyThreshold.
			el("HealthCheck", tx("Target", l.HealthCheck.Target), tx("Interval", l.HealthCheck.Interval),
				tx("UnhealthyThreshold", l.HealthCheck.UnhealthyThreshold),
				members("InstanceStates", s.instanceStates(l.Instances))),
		)))
	}
	var nics []*node
	for i, ni := range elb.NetworkInterfaces {
		var sys []*node
		for _, ip := range ni.SystemIPAddresses {
			sys = append(sys, group(tx("SystemIpAddress", ip)))
		}
		nics = append(nics, group(tx("NetworkId", ni.NetworkID), tx("NetworkName", ""), tx("DeviceIndex", i+1),
			tx("IpAddress", ni.IPAddress), tx("IsVipNetwork", ni.IsVipNetwork), tx("Description", ""),
			members("SystemIpAddresses", sys)))
	}
	return group(
		tx("ElasticLoadBalancerId", elb.ID),
		tx("ElasticLoadBalancerName", elb.Name),
		tx("DNSName", elb.DNSName),
		tx("NetworkVolume", strconv.Itoa(elb.NetworkVolume)),
		tx("State", elb.State),
		tx("AccountingType", elb.AccountingType),
		tx("NextMonthAccountingType", elb.AccountingType),
		members("ElasticLoadBalancerListenerDescriptions", lds),
		members("AvailabilityZones", []*node{tx("member", elb.Zone)}),
		members("NetworkInterfaces", nics),
		tx("CreatedTime", elb.CreatedTime),
	)
}

func (s *Sim) describeELBs(p params, _ time.Time) (*node, *apiError) {
	const f = "ElasticLoadBalancers"
	// Entry N selects by ElasticLoadBalancerName.N and/or
	// ElasticLoadBalancerId.N (NiftyDescribeElasticLoadBalancersRequest's
	// RequestElasticLoadBalancers); an unknown one is not found.
	idx := mergeIndices(p.indices(f+".ElasticLoadBalancerName"), p.indices(f+".ElasticLoadBalancerId"))
	var out []*node
	if len(idx) == 0 {
		for _, name := range sortedKeys(s.st.ElasticLBs) {
			elb := s.st.ElasticLBs[name]
			out = append(out, s.elbMember(elb, elb.Listeners))
		}
		return group(members("ElasticLoadBalancerDescriptions", out)), nil
	}
	for _, n := range idx {
		sel := params{map[string][]string{
			"ElasticLoadBalancerName": {p.str(key(f+".ElasticLoadBalancerName", n))},
			"ElasticLoadBalancerId":   {p.str(key(f+".ElasticLoadBalancerId", n))},
		}}
		elb, e := s.elbFromParams(sel)
		if e != nil {
			return nil, e
		}
		port, e := p.optInt(key(f+".ElasticLoadBalancerPort", n), 0, 1, 65535)
		if e != nil {
			return nil, e
		}
		ip, e := p.optInt(key(f+".InstancePort", n), 0, 1, 65535)
		if e != nil {
			return nil, e
		}
		proto := strings.ToUpper(p.str(key(f+".Protocol", n)))
		var ls []*ELBListener
		for _, l := range elb.Listeners {
			if (port == 0 || l.Port == port) && (ip == 0 || l.InstancePort == ip) && (proto == "" || l.Protocol == proto) {
				ls = append(ls, l)
			}
		}
		out = append(out, s.elbMember(elb, ls))
	}
	return group(members("ElasticLoadBalancerDescriptions", out)), nil
}
