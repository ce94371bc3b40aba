package octavia

import (
	"fmt"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
)

const (
	// maxNameLen is Octavia's and Neutron's name/description limit.
	maxNameLen = 255
	// namePrefix marks load balancers owned by a Kubernetes Service.
	namePrefix = "kube_service_"
)

// lbName is OCCM's name: kube_service_<cluster>_<ns>_<name>, cut to 255.
func lbName(cluster string, svc *v1.Service) string {
	return cut(fmt.Sprintf("%s%s_%s_%s", namePrefix, cluster, svc.Namespace, svc.Name))
}

func listenerName(i int, lb string) string { return cut(fmt.Sprintf("listener_%d_%s", i, lb)) }
func poolName(i int, lb string) string     { return cut(fmt.Sprintf("pool_%d_%s", i, lb)) }
func monitorName(i int, lb string) string  { return cut(fmt.Sprintf("monitor_%d_%s", i, lb)) }

func lbDescription(cluster string, svc *v1.Service) string {
	return cut(fmt.Sprintf("Kubernetes external service %s/%s from cluster %s", svc.Namespace, svc.Name, cluster))
}

// fipDescription marks floating IPs we created: only FIPs carrying exactly
// this text are ever released.
func fipDescription(cluster string, svc *v1.Service) string {
	return cut(fmt.Sprintf("Floating IP for Kubernetes external service %s/%s from cluster %s", svc.Namespace, svc.Name, cluster))
}

func cut(s string) string {
	if len(s) > maxNameLen {
		return s[:maxNameLen]
	}
	return s
}

func itoa(i int) string { return fmt.Sprint(i) }

// childOf says whether a listener, pool or monitor name is one of the
// load balancer name's children (listener_<i>_<name>, cut to 255).
func childOf(child, name string) bool {
	for _, kind := range []string{"listener_", "pool_", "monitor_"} {
		rest, ok := strings.CutPrefix(child, kind)
		if !ok {
			continue
		}
		i := strings.IndexByte(rest, '_')
		if i <= 0 {
			return false
		}
		if _, err := strconv.Atoi(rest[:i]); err != nil {
			return false
		}
		rest = rest[i+1:]
		return rest == name || (len(child) == maxNameLen && strings.HasPrefix(name, rest))
	}
	return false
}
