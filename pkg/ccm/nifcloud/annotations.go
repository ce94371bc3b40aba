package nifcloud

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// Service annotations (prefix service.beta.kubernetes.io/).
const (
	annotationPrefix = "service.beta.kubernetes.io/"

	AnnotationLBType                = annotationPrefix + "nifcloud-load-balancer-type"
	AnnotationNetworkVolume         = annotationPrefix + "nifcloud-load-balancer-network-volume"
	AnnotationAccountingType        = annotationPrefix + "nifcloud-load-balancer-accounting-type"
	AnnotationPolicyType            = annotationPrefix + "nifcloud-load-balancer-policy-type"
	AnnotationBalancingType         = annotationPrefix + "nifcloud-load-balancer-balancing-type"
	AnnotationHealthCheckProtocol   = annotationPrefix + "nifcloud-load-balancer-healthcheck-protocol"
	AnnotationHealthCheckInterval   = annotationPrefix + "nifcloud-load-balancer-healthcheck-interval"
	AnnotationHealthCheckUnhealthy  = annotationPrefix + "nifcloud-load-balancer-healthcheck-unhealthy-threshold"
	AnnotationNIC1NetworkID         = annotationPrefix + "nifcloud-load-balancer-network-interface-1-network-id"
	AnnotationNIC1IPAddress         = annotationPrefix + "nifcloud-load-balancer-network-interface-1-ip-address"
	AnnotationNIC1SystemIPAddresses = annotationPrefix + "nifcloud-load-balancer-network-interface-1-system-ip-addresses"
	AnnotationNIC2NetworkID         = annotationPrefix + "nifcloud-load-balancer-network-interface-2-network-id"
	AnnotationNIC2IPAddress         = annotationPrefix + "nifcloud-load-balancer-network-interface-2-ip-address"
	AnnotationNIC2SystemIPAddresses = annotationPrefix + "nifcloud-load-balancer-network-interface-2-system-ip-addresses"
	AnnotationVIPNetwork            = annotationPrefix + "nifcloud-load-balancer-vip-network"
	annotationLegacySourceRanges    = annotationPrefix + "load-balancer-source-ranges"
	fieldLoadBalancerSourceRanges   = "spec.loadBalancerSourceRanges"
	fieldLoadBalancerIP             = "spec.loadBalancerIP"
	fieldPorts                      = "spec.ports"
)

// Load balancer types.
const (
	LBTypeL4      = "lb"
	LBTypeElastic = "elb"
)

// Defaults applied when the corresponding annotation is absent.
const (
	defaultBalancingType      = 1
	defaultHealthCheckInt     = 10
	defaultHealthCheckUnhlthy = 1
	maxL4Ports                = 3
)

// privateLANPattern is a private LAN network id (net-xxxxxxxx).
var privateLANPattern = regexp.MustCompile(`^net-[0-9A-Za-z]+$`)

// AnnotationError is an invalid Service setting: the annotation (or spec
// field) name, the offending value and what is allowed.
type AnnotationError struct {
	Annotation string
	Value      string
	Allowed    string
}

func (e *AnnotationError) Error() string {
	return fmt.Sprintf("invalid %s %q: allowed %s", e.Annotation, e.Value, e.Allowed)
}

// lbSpec is the validated desired state of a Service's load balancer.
type lbSpec struct {
	Type string
	// NetworkVolume (Mbps), AccountingType ("1"/"2") and PolicyType are
	// managed only when annotated (0/"" = leave as is).
	NetworkVolume  int
	AccountingType string
	PolicyType     string
	BalancingType  int
	HealthCheck    hcSpec
	Ports          []portSpec
	// Filters are the allowed source addresses (IP or CIDR, /32 stripped);
	// empty means allow all.
	Filters []string
	// NICs and VIPNetwork (1-based index into NICs) are elb only.
	NICs       []nicSpec
	VIPNetwork int
}

type hcSpec struct {
	Protocol           string // TCP or ICMP
	Interval           int
	UnhealthyThreshold int
}

// target is the HealthCheck.Target for a listener's instance port.
func (h hcSpec) target(instancePort int) string {
	if h.Protocol == "ICMP" {
		return "ICMP"
	}
	return "TCP:" + strconv.Itoa(instancePort)
}

type portSpec struct {
	Name         string
	Port         int // LoadBalancerPort / ElasticLoadBalancerPort
	InstancePort int // the NodePort
}

type nicSpec struct {
	NetworkID         string
	IPAddress         string
	SystemIPAddresses []string
}

// parseService validates every load-balancer setting of svc and returns
// the desired state. It makes no cloud call. All problems are reported
// together; each names the annotation (or field) and the allowed values.
func parseService(svc *v1.Service) (*lbSpec, error) {
	a := svc.Annotations
	var errs []error
	bad := func(name, value, allowed string) {
		errs = append(errs, &AnnotationError{Annotation: name, Value: value, Allowed: allowed})
	}
	spec := &lbSpec{
		Type:          LBTypeL4,
		BalancingType: defaultBalancingType,
		HealthCheck:   hcSpec{Protocol: "TCP", Interval: defaultHealthCheckInt, UnhealthyThreshold: defaultHealthCheckUnhlthy},
	}
	get := func(name string) (string, bool) {
		v, ok := a[name]
		return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
	}

	if v, ok := get(AnnotationLBType); ok {
		switch v {
		case LBTypeL4, LBTypeElastic:
			spec.Type = v
		default:
			bad(AnnotationLBType, v, `"lb" (default) or "elb"`)
		}
	}
	elb := spec.Type == LBTypeElastic

	if v, ok := get(AnnotationNetworkVolume); ok {
		allowed := "10, 20, 30, 40 or 100-2000 in steps of 100 (Mbps)"
		limit := 2000
		if elb {
			allowed, limit = "10, 20, 30, 40 or 100-500 in steps of 100 (Mbps) for elb", 500
		}
		n, err := strconv.Atoi(v)
		if err != nil || !validNetworkVolume(n, limit) {
			bad(AnnotationNetworkVolume, v, allowed)
		} else {
			spec.NetworkVolume = n
		}
	}
	if v, ok := get(AnnotationAccountingType); ok {
		if v != "1" && v != "2" {
			bad(AnnotationAccountingType, v, `"1" (monthly) or "2" (pay per use)`)
		} else {
			spec.AccountingType = v
		}
	}
	if v, ok := get(AnnotationPolicyType); ok {
		switch {
		case elb:
			bad(AnnotationPolicyType, v, `nothing with nifcloud-load-balancer-type "elb" (policy type is lb only)`)
		case v != "standard" && v != "ats":
			bad(AnnotationPolicyType, v, `"standard" or "ats"`)
		default:
			spec.PolicyType = v
		}
	}
	if v, ok := get(AnnotationBalancingType); ok {
		if v != "1" && v != "2" {
			bad(AnnotationBalancingType, v, `"1" (round robin) or "2" (least connection)`)
		} else {
			spec.BalancingType, _ = strconv.Atoi(v)
		}
	}
	if v, ok := get(AnnotationHealthCheckProtocol); ok {
		switch strings.ToUpper(v) {
		case "TCP", "ICMP":
			spec.HealthCheck.Protocol = strings.ToUpper(v)
		default:
			bad(AnnotationHealthCheckProtocol, v, `"TCP" or "ICMP"`)
		}
	}
	intRange := func(name string, lo, hi int, dst *int) {
		if v, ok := get(name); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				bad(name, v, fmt.Sprintf("an integer from %d to %d", lo, hi))
				return
			}
			*dst = n
		}
	}
	intRange(AnnotationHealthCheckInterval, 5, 300, &spec.HealthCheck.Interval)
	intRange(AnnotationHealthCheckUnhealthy, 1, 10, &spec.HealthCheck.UnhealthyThreshold)

	errs = append(errs, parseNICs(a, spec, bad)...)
	errs = append(errs, parsePorts(svc, spec)...)
	errs = append(errs, parseSourceRanges(svc, spec)...)

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return spec, nil
}

// parseNICs handles the elb-only network interface and VIP annotations.
func parseNICs(a map[string]string, spec *lbSpec, bad func(name, value, allowed string)) []error {
	elb := spec.Type == LBTypeElastic
	type nicKeys struct{ id, ip, sys string }
	keys := []nicKeys{
		{AnnotationNIC1NetworkID, AnnotationNIC1IPAddress, AnnotationNIC1SystemIPAddresses},
		{AnnotationNIC2NetworkID, AnnotationNIC2IPAddress, AnnotationNIC2SystemIPAddresses},
	}
	elbOnly := `nothing with nifcloud-load-balancer-type "lb" (elb only)`
	get := func(name string) string { return strings.TrimSpace(a[name]) }
	var nics []nicSpec
	for _, k := range keys {
		id, ip, sys := get(k.id), get(k.ip), get(k.sys)
		if !elb {
			for _, kv := range [][2]string{{k.id, id}, {k.ip, ip}, {k.sys, sys}} {
				if kv[1] != "" {
					bad(kv[0], kv[1], elbOnly)
				}
			}
			continue
		}
		if id == "" {
			if ip != "" {
				bad(k.ip, ip, "only together with "+k.id+" set to a private LAN id")
			}
			if sys != "" {
				bad(k.sys, sys, "only together with "+k.id+" set to a private LAN id")
			}
			continue
		}
		nic := nicSpec{NetworkID: id}
		common := id == nifcloud.NetworkCommonGlobal || id == nifcloud.NetworkCommonPrivate
		switch {
		case common:
			if ip != "" {
				bad(k.ip, ip, "nothing for "+id+" (private LAN only)")
			}
			if sys != "" {
				bad(k.sys, sys, "nothing for "+id+" (private LAN only)")
			}
		case privateLANPattern.MatchString(id):
			if net.ParseIP(ip).To4() == nil {
				bad(k.ip, ip, "an IPv4 address (required for a private LAN)")
			}
			nic.IPAddress = ip
			parts := strings.Split(sys, ",")
			okSys := len(parts) == 2
			for j := range parts {
				parts[j] = strings.TrimSpace(parts[j])
				okSys = okSys && net.ParseIP(parts[j]).To4() != nil
			}
			if !okSys {
				bad(k.sys, sys, "exactly 2 comma-separated IPv4 addresses (required for a private LAN)")
			}
			nic.SystemIPAddresses = parts
		default:
			bad(k.id, id, nifcloud.NetworkCommonGlobal+", "+nifcloud.NetworkCommonPrivate+" or a private LAN id (net-xxxxxxxx)")
		}
		for _, o := range nics {
			if o.NetworkID == id {
				bad(k.id, id, "a network different from network-interface-1")
			}
		}
		nics = append(nics, nic)
	}
	if v := get(AnnotationVIPNetwork); v != "" {
		switch {
		case !elb:
			bad(AnnotationVIPNetwork, v, elbOnly)
		case v != "1" && v != "2":
			bad(AnnotationVIPNetwork, v, `"1" or "2" (the network interface carrying the VIP)`)
		case v == "2" && len(nics) < 2:
			bad(AnnotationVIPNetwork, v, `"1" unless network-interface-2 is configured`)
		default:
			spec.VIPNetwork, _ = strconv.Atoi(v)
		}
	}
	if elb {
		if len(nics) == 0 {
			nics = []nicSpec{{NetworkID: nifcloud.NetworkCommonGlobal}}
		}
		if spec.VIPNetwork == 0 {
			spec.VIPNetwork = 1
		}
		spec.NICs = nics
	}
	return nil
}

func parsePorts(svc *v1.Service, spec *lbSpec) []error {
	var errs []error
	if svc.Spec.LoadBalancerIP != "" {
		errs = append(errs, &AnnotationError{Annotation: fieldLoadBalancerIP, Value: svc.Spec.LoadBalancerIP,
			Allowed: "empty (NIFCLOUD assigns the VIP)"})
	}
	if len(svc.Spec.Ports) == 0 {
		errs = append(errs, &AnnotationError{Annotation: fieldPorts, Value: "", Allowed: "at least one TCP port"})
	}
	if spec.Type == LBTypeL4 && len(svc.Spec.Ports) > maxL4Ports {
		errs = append(errs, &AnnotationError{Annotation: fieldPorts, Value: strconv.Itoa(len(svc.Spec.Ports)) + " ports",
			Allowed: fmt.Sprintf("at most %d ports for an lb load balancer", maxL4Ports)})
	}
	seen := map[int]bool{}
	for _, p := range svc.Spec.Ports {
		if p.Protocol != "" && p.Protocol != v1.ProtocolTCP {
			errs = append(errs, &AnnotationError{Annotation: fieldPorts + "[" + p.Name + "].protocol", Value: string(p.Protocol), Allowed: "TCP"})
			continue
		}
		if p.NodePort == 0 {
			errs = append(errs, &AnnotationError{Annotation: fieldPorts + "[" + p.Name + "].nodePort", Value: "0",
				Allowed: "an allocated node port (allocateLoadBalancerNodePorts must not be false)"})
			continue
		}
		if seen[int(p.Port)] {
			errs = append(errs, &AnnotationError{Annotation: fieldPorts + "[" + p.Name + "].port", Value: strconv.Itoa(int(p.Port)), Allowed: "a port not used twice"})
			continue
		}
		seen[int(p.Port)] = true
		spec.Ports = append(spec.Ports, portSpec{Name: p.Name, Port: int(p.Port), InstancePort: int(p.NodePort)})
	}
	return errs
}

// parseSourceRanges turns loadBalancerSourceRanges (or the legacy
// annotation) into filter entries: /32 is stripped, an allow-all range
// means no entries.
func parseSourceRanges(svc *v1.Service, spec *lbSpec) []error {
	ranges, field := svc.Spec.LoadBalancerSourceRanges, fieldLoadBalancerSourceRanges
	if len(ranges) == 0 {
		if v := strings.TrimSpace(svc.Annotations[annotationLegacySourceRanges]); v != "" {
			ranges, field = strings.Split(v, ","), annotationLegacySourceRanges
		}
	}
	if len(ranges) == 0 {
		return nil
	}
	set := map[string]bool{}
	allowAll := false
	for _, r := range ranges {
		r = strings.TrimSpace(r)
		_, n, err := net.ParseCIDR(r)
		if err != nil || n.IP.To4() == nil {
			return []error{&AnnotationError{Annotation: field, Value: r, Allowed: "IPv4 CIDRs such as 203.0.113.0/24"}}
		}
		ones, _ := n.Mask.Size()
		switch ones {
		case 0:
			allowAll = true
		case 32:
			set[n.IP.String()] = true
		default:
			set[n.String()] = true
		}
	}
	if allowAll {
		return nil
	}
	if spec.Type == LBTypeElastic {
		return []error{&AnnotationError{Annotation: field, Value: strings.Join(ranges, ","),
			Allowed: `empty or 0.0.0.0/0 with nifcloud-load-balancer-type "elb" (source filters are lb only)`}}
	}
	for ip := range set {
		spec.Filters = append(spec.Filters, ip)
	}
	sort.Strings(spec.Filters)
	return nil
}

// validNetworkVolume reports whether n Mbps is a bandwidth NIFCLOUD sells:
// 10-40 in steps of 10, then multiples of 100 up to limit.
func validNetworkVolume(n, limit int) bool {
	switch n {
	case 10, 20, 30, 40:
		return true
	}
	return n >= 100 && n <= limit && n%100 == 0
}
