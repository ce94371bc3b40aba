package octavia

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// Service annotations understood (same names and semantics as OCCM).
const (
	annPrefix               = "loadbalancer.openstack.org/"
	AnnFloatingNetworkID    = annPrefix + "floating-network-id"
	AnnFloatingSubnet       = annPrefix + "floating-subnet"
	AnnFloatingSubnetID     = annPrefix + "floating-subnet-id"
	AnnFloatingSubnetTags   = annPrefix + "floating-subnet-tags"
	AnnSubnetID             = annPrefix + "subnet-id"
	AnnMemberSubnetID       = annPrefix + "member-subnet-id"
	AnnNetworkID            = annPrefix + "network-id"
	AnnPortID               = annPrefix + "port-id"
	AnnKeepFloatingIP       = annPrefix + "keep-floatingip"
	AnnLBMethod             = annPrefix + "lb-method"
	AnnProxyProtocol        = annPrefix + "proxy-protocol"
	AnnXForwardedFor        = annPrefix + "x-forwarded-for"
	AnnTimeoutClientData    = annPrefix + "timeout-client-data"
	AnnTimeoutMemberConnect = annPrefix + "timeout-member-connect"
	AnnTimeoutMemberData    = annPrefix + "timeout-member-data"
	AnnTimeoutTCPInspect    = annPrefix + "timeout-tcp-inspect"
	AnnEnableHealthMonitor  = annPrefix + "enable-health-monitor"
	AnnHMDelay              = annPrefix + "health-monitor-delay"
	AnnHMTimeout            = annPrefix + "health-monitor-timeout"
	AnnHMMaxRetries         = annPrefix + "health-monitor-max-retries"
	AnnHMMaxRetriesDown     = annPrefix + "health-monitor-max-retries-down"
	AnnConnectionLimit      = annPrefix + "connection-limit"
	AnnLoadBalancerID       = annPrefix + "load-balancer-id"
	AnnHostname             = annPrefix + "hostname"
	AnnInternal             = "service.beta.kubernetes.io/openstack-internal-load-balancer"
	AnnSourceRanges         = "service.beta.kubernetes.io/load-balancer-source-ranges"
)

// Octavia listener timeouts are bounded by 365 days in milliseconds.
const maxTimeoutMS = 31536000000

var lbMethods = []string{"ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"}

// annotationError names the offending annotation (or field) and what it
// accepts; it is reported as a Warning event on the Service.
type annotationError struct {
	key, value, allowed string
}

func (e *annotationError) Error() string {
	return fmt.Sprintf("invalid value %q for %s: allowed values are %s", e.value, e.key, e.allowed)
}

// svcConfig is the per-Service configuration: annotations over cloud.conf.
type svcConfig struct {
	internal                                            bool
	floatingNetworkID, floatingSubnetID, floatingSubnet string
	floatingSubnetTags                                  string
	subnetID, memberSubnetID, networkID, portID         string
	keepFIP                                             bool
	lbMethod                                            string
	proxy                                               string // "", PROXY or PROXYV2
	xff                                                 bool
	timeouts                                            timeouts
	monitor                                             bool
	hmDelay, hmTimeout, hmRetries, hmRetriesDown        int
	connLimit                                           int
	lbID, hostname, loadBalancerIP                      string
	sourceRanges                                        []string
	affinity                                            bool
	family                                              v1.IPFamily
	localHealthPort                                     int // healthCheckNodePort when eTP=Local
	flavorID, availabilityZone                          string
	tlsRef                                              string // default-tls-container-ref
	nodeSelector                                        map[string]string
	// className and classConf are the [LoadBalancerClass] the Service
	// picks with the class annotation (classConf nil: none).
	className string
	classConf *config.LoadBalancerClass
	// Set by fitProvider for providers or Octavia API versions without
	// listener timeouts, allowed_cidrs, HTTP monitors (on UDP pools) or
	// tags; unsupported lists what the Service asks for that the cloud
	// cannot do and why (for a Warning event).
	noTimeouts, noACL, tcpMonitorOnly, noUDPHTTPMonitor bool
	unsupported                                         []string
	// noTags says why load balancers cannot have tags ("" they can).
	noTags string
	// annotated holds the annotations the Service sets, to tell errors
	// about their values from errors about cloud.conf defaults.
	annotated map[string]bool
}

type timeouts struct{ clientData, memberConnect, memberData, tcpInspect int }

// annotations reads annotation values with validation; the first error
// wins so the event names exactly one bad annotation.
type annotations struct {
	m   map[string]string
	err error
}

func (a *annotations) str(key, def string) string {
	if v, ok := a.m[key]; ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func (a *annotations) fail(key, value, allowed string) {
	if a.err == nil {
		a.err = &annotationError{key: key, value: value, allowed: allowed}
	}
}

func (a *annotations) boolean(key string, def bool) bool {
	v, ok := a.m[key]
	if !ok {
		return def
	}
	switch v {
	case "true":
		return true
	case "false":
		return false
	}
	a.fail(key, v, `"true" or "false"`)
	return def
}

func (a *annotations) integer(key string, def, lo, hi int) int {
	v, ok := a.m[key]
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lo || n > hi {
		a.fail(key, v, fmt.Sprintf("integers from %d to %d", lo, hi))
		return def
	}
	return n
}

func (a *annotations) enum(key, def string, allowed []string) string {
	v, ok := a.m[key]
	if !ok {
		return def
	}
	for _, x := range allowed {
		if v == x {
			return v
		}
	}
	a.fail(key, v, strings.Join(allowed, ", "))
	return def
}

// parseService validates the Service and its annotations without any
// cloud call, so that invalid input never causes a cloud write. It fits
// the Service to the provider only; parseServiceFor fits it to what the
// Octavia API version has too.
func (l *LoadBalancer) parseService(svc *v1.Service) (*svcConfig, error) {
	return l.parseServiceFor(svc, l.features)
}

// parseServiceFor is parseService for the features f.
func (l *LoadBalancer) parseServiceFor(svc *v1.Service, f providerFeatures) (*svcConfig, error) {
	if len(svc.Spec.Ports) == 0 {
		return nil, fmt.Errorf("service %s/%s has no ports", svc.Namespace, svc.Name)
	}
	for _, p := range svc.Spec.Ports {
		switch p.Protocol {
		case v1.ProtocolTCP, v1.ProtocolUDP, v1.ProtocolSCTP, "":
		default:
			return nil, &annotationError{key: "spec.ports.protocol", value: string(p.Protocol), allowed: "TCP, UDP, SCTP"}
		}
	}
	c := l.cfg
	a := &annotations{m: svc.Annotations}
	className, cls := l.selectClass(a)
	type lbc = config.LoadBalancerClass
	sc := &svcConfig{
		className: className, classConf: cls,
		floatingNetworkID:  a.str(AnnFloatingNetworkID, classOr(cls, func(x *lbc) string { return x.FloatingNetworkID }, c.FloatingNetworkID)),
		floatingSubnetID:   a.str(AnnFloatingSubnetID, classOr(cls, func(x *lbc) string { return x.FloatingSubnetID }, c.FloatingSubnetID)),
		floatingSubnet:     a.str(AnnFloatingSubnet, classOr(cls, func(x *lbc) string { return x.FloatingSubnet }, c.FloatingSubnet)),
		floatingSubnetTags: a.str(AnnFloatingSubnetTags, classOr(cls, func(x *lbc) string { return x.FloatingSubnetTags }, c.FloatingSubnetTags)),
		subnetID:           a.str(AnnSubnetID, classOr(cls, func(x *lbc) string { return x.SubnetID }, c.SubnetID)),
		memberSubnetID:     a.str(AnnMemberSubnetID, classOr(cls, func(x *lbc) string { return x.MemberSubnetID }, c.MemberSubnetID)),
		networkID:          a.str(AnnNetworkID, classOr(cls, func(x *lbc) string { return x.NetworkID }, c.NetworkID)),
		flavorID:           a.str(AnnFlavorID, c.FlavorID),
		availabilityZone:   a.str(AnnAvailabilityZone, c.AvailabilityZone),
		nodeSelector:       nodeSelector(a, c.NodeSelector),
		tlsRef:             a.str(AnnDefaultTLSContainerRef, c.DefaultTLSContainerRef),
		portID:             a.str(AnnPortID, ""),
		lbID:               a.str(AnnLoadBalancerID, ""),
		hostname:           a.str(AnnHostname, ""),
		loadBalancerIP:     strings.TrimSpace(svc.Spec.LoadBalancerIP),
		affinity:           svc.Spec.SessionAffinity == v1.ServiceAffinityClientIP,
		family:             v1.IPv4Protocol,
		annotated:          map[string]bool{},
	}
	for k := range svc.Annotations {
		if a.str(k, "") != "" {
			sc.annotated[k] = true
		}
	}
	sc.internal = a.boolean(AnnInternal, c.InternalLB) || c.InternalLB
	sc.keepFIP = a.boolean(AnnKeepFloatingIP, false)
	sc.lbMethod = a.enum(AnnLBMethod, orDefault(c.LBMethod, "ROUND_ROBIN"), lbMethods)
	switch v, ok := a.m[AnnProxyProtocol]; {
	case !ok || v == "false":
	case v == "true" || v == "v1":
		sc.proxy = "PROXY"
	case v == "v2":
		sc.proxy = "PROXYV2"
	default:
		a.fail(AnnProxyProtocol, v, `"true", "v1", "v2" or "false"`)
	}
	sc.xff = a.boolean(AnnXForwardedFor, false)
	if sc.xff && sc.proxy != "" && a.err == nil {
		a.err = fmt.Errorf("annotations %s and %s are mutually exclusive", AnnProxyProtocol, AnnXForwardedFor)
	}
	sc.timeouts = timeouts{
		clientData:    a.integer(AnnTimeoutClientData, 50000, 0, maxTimeoutMS),
		memberConnect: a.integer(AnnTimeoutMemberConnect, 5000, 0, maxTimeoutMS),
		memberData:    a.integer(AnnTimeoutMemberData, 50000, 0, maxTimeoutMS),
		tcpInspect:    a.integer(AnnTimeoutTCPInspect, 0, 0, maxTimeoutMS),
	}
	if svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal && svc.Spec.HealthCheckNodePort > 0 {
		sc.localHealthPort = int(svc.Spec.HealthCheckNodePort)
	}
	// With externalTrafficPolicy Local only a monitor keeps traffic off
	// nodes without endpoints: it is on unless the Service turns it off.
	sc.monitor = a.boolean(AnnEnableHealthMonitor, c.CreateMonitor || sc.localHealthPort > 0)
	sc.hmDelay = a.integer(AnnHMDelay, secondsOr(int(c.MonitorDelay.Seconds()), 5), 1, 86400)
	sc.hmTimeout = a.integer(AnnHMTimeout, secondsOr(int(c.MonitorTimeout.Seconds()), 3), 1, 86400)
	sc.hmRetries = a.integer(AnnHMMaxRetries, secondsOr(c.MonitorMaxRetries, 1), 1, 10)
	sc.hmRetriesDown = a.integer(AnnHMMaxRetriesDown, secondsOr(c.MonitorMaxRetriesDown, 3), 1, 10)
	if sc.hmTimeout > sc.hmDelay && a.err == nil {
		a.fail(AnnHMTimeout, strconv.Itoa(sc.hmTimeout), fmt.Sprintf("integers from 1 to the health monitor delay (%d)", sc.hmDelay))
	}
	sc.connLimit = a.integer(AnnConnectionLimit, -1, -1, 1<<31-1)
	if len(svc.Spec.IPFamilies) > 0 {
		sc.family = svc.Spec.IPFamilies[0]
	}
	if a.err != nil {
		return nil, a.err
	}
	if sc.loadBalancerIP != "" {
		if _, err := netip.ParseAddr(sc.loadBalancerIP); err != nil {
			return nil, &annotationError{key: "spec.loadBalancerIP", value: sc.loadBalancerIP, allowed: "an IPv4 or IPv6 address"}
		}
	}
	var err error
	if sc.sourceRanges, err = sourceRanges(svc, sc.family); err != nil {
		return nil, err
	}
	if err := fitProvider(svc, sc, f); err != nil {
		return nil, err
	}
	return sc, nil
}

// sourceRanges returns the listener allowed_cidrs of family: spec field,
// else the legacy annotation, else everything of the family. Octavia
// rejects CIDRs of the other family than the VIP's, so those are left to
// the other family's load balancer; a list without any CIDR of family is
// an error rather than opening that family to everyone.
func sourceRanges(svc *v1.Service, family v1.IPFamily) ([]string, error) {
	key, list := "spec.loadBalancerSourceRanges", svc.Spec.LoadBalancerSourceRanges
	if len(list) == 0 {
		if v := strings.TrimSpace(svc.Annotations[AnnSourceRanges]); v != "" {
			key, list = AnnSourceRanges, strings.Split(v, ",")
		}
	}
	if len(list) == 0 {
		if family == v1.IPv6Protocol {
			return []string{"::/0"}, nil
		}
		return []string{"0.0.0.0/0"}, nil
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, &annotationError{key: key, value: s, allowed: "comma-separated CIDRs such as 10.0.0.0/8"}
		}
		if p.Addr().Is4() == (family != v1.IPv6Protocol) {
			out = append(out, p.Masked().String())
		}
	}
	if len(out) == 0 {
		return nil, &annotationError{key: key, value: strings.Join(list, ","), allowed: fmt.Sprintf("CIDRs including at least one %s CIDR (the Service serves %s)", family, family)}
	}
	return out, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func secondsOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
