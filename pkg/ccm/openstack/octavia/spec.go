package octavia

import (
	"net/netip"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// The desired Octavia tree of one Service: a listener per Service port,
// each with its own pool, members (one per node) and optional monitor.
type listenerSpec struct {
	name          string
	protocol      string
	port          int
	connLimit     int
	insertHeaders map[string]string
	timeouts      timeouts
	noTimeouts    bool   // the provider has no listener timeouts
	tlsRef        string // default_tls_container_ref of TERMINATED_HTTPS
	cidrs         []string
	pool          poolSpec
}

type poolSpec struct {
	name        string
	protocol    string
	method      string
	persistence string // "" or SOURCE_IP
	members     []memberSpec
	monitor     *monitorSpec
}

type memberSpec struct {
	name, address string
	port          int
	subnetID      string
	monitorPort   int // 0 = none
}

// key identifies a member for comparison with the actual set: any
// difference in these fields needs a batch update.
func (m memberSpec) key() string {
	return strings.Join([]string{m.name, m.address, itoa(m.port), m.subnetID, itoa(m.monitorPort)}, "|")
}

type monitorSpec struct {
	name, typ                          string
	delay, timeout, retries, retriesDn int
	urlPath, httpMethod, codes         string
}

// desiredTree builds the listeners of svc for nodes. memberSubnet may be ""
// (Octavia then uses the VIP subnet).
func desiredTree(name string, svc *v1.Service, sc *svcConfig, nodes []*v1.Node, memberSubnet string) []listenerSpec {
	out := make([]listenerSpec, 0, len(svc.Spec.Ports))
	for i, p := range svc.Spec.Ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = "TCP"
		}
		ls := listenerSpec{
			name: listenerName(i, name), protocol: proto, port: int(p.Port),
			connLimit: sc.connLimit, timeouts: sc.timeouts, cidrs: sc.sourceRanges, noTimeouts: sc.noTimeouts,
		}
		if sc.noACL {
			ls.cidrs = nil
		}
		poolProto := proto
		if proto == "TCP" {
			switch {
			case sc.tlsRef != "":
				// TLS terminates on the load balancer; HTTP to the nodes.
				ls.protocol, poolProto, ls.tlsRef = "TERMINATED_HTTPS", orDefault(sc.proxy, "HTTP"), sc.tlsRef
				if sc.xff {
					ls.insertHeaders = map[string]string{"X-Forwarded-For": "true"}
				}
			case sc.xff:
				ls.protocol, poolProto = "HTTP", "HTTP"
				ls.insertHeaders = map[string]string{"X-Forwarded-For": "true"}
			case sc.proxy != "":
				poolProto = sc.proxy
			}
		}
		if proto != "TCP" {
			// Octavia only accepts TCP timeouts and inspect on TCP-based listeners.
			ls.timeouts = timeouts{}
		}
		ls.pool = poolSpec{name: poolName(i, name), protocol: poolProto, method: sc.lbMethod}
		if sc.affinity {
			ls.pool.persistence = "SOURCE_IP"
		}
		if p.NodePort > 0 {
			for _, n := range nodes {
				addr := nodeAddress(n, sc.family)
				if addr == "" {
					continue
				}
				ms := memberSpec{name: n.Name, address: addr, port: int(p.NodePort), subnetID: memberSubnet, monitorPort: sc.localHealthPort}
				if sc.tcpMonitorOnly || (proto == "UDP" && sc.noUDPHTTPMonitor) {
					// A TCP (UDP-CONNECT) check of the NodePort itself:
					// with externalTrafficPolicy Local only nodes with
					// endpoints accept the connection.
					ms.monitorPort = 0
				}
				ls.pool.members = append(ls.pool.members, ms)
			}
			sort.Slice(ls.pool.members, func(a, b int) bool { return ls.pool.members[a].key() < ls.pool.members[b].key() })
		}
		if sc.monitor {
			ls.pool.monitor = monitorFor(monitorName(i, name), proto, sc)
		}
		out = append(out, ls)
	}
	return out
}

func monitorFor(name, proto string, sc *svcConfig) *monitorSpec {
	m := &monitorSpec{name: name, delay: sc.hmDelay, timeout: sc.hmTimeout, retries: sc.hmRetries, retriesDn: sc.hmRetriesDown}
	switch {
	case sc.localHealthPort > 0 && !sc.tcpMonitorOnly && (proto != "UDP" || !sc.noUDPHTTPMonitor):
		// kube-proxy answers /healthz on healthCheckNodePort only on nodes
		// with local endpoints: the check OCCM uses for eTP=Local.
		m.typ, m.urlPath, m.httpMethod, m.codes = "HTTP", "/healthz", "GET", "200"
	case proto == "UDP":
		m.typ = "UDP-CONNECT"
	case proto == "SCTP":
		m.typ = "SCTP"
	default:
		m.typ = "TCP"
	}
	return m
}

// nodeAddress is the node's InternalIP of the family, else its ExternalIP.
func nodeAddress(n *v1.Node, family v1.IPFamily) string {
	for _, t := range []v1.NodeAddressType{v1.NodeInternalIP, v1.NodeExternalIP} {
		for _, a := range n.Status.Addresses {
			if a.Type != t {
				continue
			}
			ip, err := netip.ParseAddr(a.Address)
			if err != nil {
				continue
			}
			if ip.Is4() == (family != v1.IPv6Protocol) {
				return ip.String()
			}
		}
	}
	return ""
}
