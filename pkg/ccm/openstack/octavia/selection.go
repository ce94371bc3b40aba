package octavia

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	v1 "k8s.io/api/core/v1"

	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// Per-Service choices beyond the listener tree: the [LoadBalancerClass]
// a Service picks, the nodes it serves from, and the Octavia flavor and
// availability zone of a new load balancer.
const (
	AnnClass            = annPrefix + "class"
	AnnNodeSelector     = annPrefix + "node-selector"
	AnnFlavorID         = annPrefix + "flavor-id"
	AnnAvailabilityZone = annPrefix + "availability-zone"
)

// selectClass returns the [LoadBalancerClass "name"] the Service's class
// annotation names (nil without one); an unknown name is an error naming
// the annotation and the configured classes.
func (l *LoadBalancer) selectClass(a *annotations) (string, *config.LoadBalancerClass) {
	name := a.str(AnnClass, "")
	if name == "" {
		return "", nil
	}
	if c := l.classes[name]; c != nil {
		return name, c
	}
	allowed := "none ([LoadBalancerClass \"name\"] sections in cloud.conf define classes)"
	if len(l.classes) > 0 {
		allowed = strings.Join(slices.Sorted(maps.Keys(l.classes)), ", ")
	}
	a.fail(AnnClass, name, allowed)
	return "", nil
}

// classOr is the class's value of a key when the Service's class sets
// it, else the [LoadBalancer] value.
func classOr(cls *config.LoadBalancerClass, field func(*config.LoadBalancerClass) string, conf string) string {
	if cls != nil {
		if v := field(cls); v != "" {
			return v
		}
	}
	return conf
}

// classKey is the cloud.conf key of a class field an annotation
// overrides, "" when the class does not set it.
func (sc *svcConfig) classKey(ann string) string {
	if sc.classConf == nil {
		return ""
	}
	c := sc.classConf
	v := map[string]string{
		AnnFloatingNetworkID: c.FloatingNetworkID, AnnFloatingSubnetID: c.FloatingSubnetID,
		AnnFloatingSubnet: c.FloatingSubnet, AnnFloatingSubnetTags: c.FloatingSubnetTags, AnnSubnetID: c.SubnetID,
		AnnMemberSubnetID: c.MemberSubnetID, AnnNetworkID: c.NetworkID,
	}[ann]
	if v == "" {
		return ""
	}
	return fmt.Sprintf("cloud.conf [LoadBalancerClass %q] %s", sc.className, confKey(ann))
}

// nodeSelector is the Service's node-selector annotation, else the
// [LoadBalancer] node-selector.
func nodeSelector(a *annotations, conf map[string]string) map[string]string {
	v, ok := a.m[AnnNodeSelector]
	if !ok {
		return conf
	}
	sel, err := config.ParseNodeSelector(v)
	if err != nil {
		a.fail(AnnNodeSelector, v, `comma-separated label=value or label items, such as "pool=lb, zone"`)
		return conf
	}
	return sel
}

// selectNodes keeps the nodes matching sel: label=value must match, a
// bare label must exist.
func selectNodes(nodes []*v1.Node, sel map[string]string) []*v1.Node {
	if len(sel) == 0 {
		return nodes
	}
	out := make([]*v1.Node, 0, len(nodes))
	for _, n := range nodes {
		ok := true
		for k, want := range sel {
			got, has := n.Labels[k]
			if !has || (want != "" && got != want) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, n)
		}
	}
	return out
}

// selectorString renders a selector for events, sorted.
func selectorString(sel map[string]string) string {
	parts := make([]string, 0, len(sel))
	for _, k := range slices.Sorted(maps.Keys(sel)) {
		if sel[k] == "" {
			parts = append(parts, k)
		} else {
			parts = append(parts, k+"="+sel[k])
		}
	}
	return strings.Join(parts, ", ")
}

// servingNodes are the nodes the Service's members come from (its node
// selector), with Warning events for choices that lose traffic.
func (l *LoadBalancer) servingNodes(svc *v1.Service, sc *svcConfig, nodes []*v1.Node) []*v1.Node {
	picked := selectNodes(nodes, sc.nodeSelector)
	if len(picked) == 0 && len(nodes) > 0 {
		l.warn(svc, reasonNoMembers, "No node matches node selector %q (annotation %s or [LoadBalancer] node-selector): the load balancer has no members", selectorString(sc.nodeSelector), AnnNodeSelector)
	}
	for _, u := range sc.unsupported {
		l.warn(svc, reasonUnsupported, "Not applied: %s", u)
	}
	if sc.localHealthPort > 0 && !sc.monitor {
		l.warn(svc, reasonNoMonitor, "externalTrafficPolicy Local without a health monitor (%s=false): traffic also goes to nodes without endpoints and is dropped there", AnnEnableHealthMonitor)
	}
	return picked
}

// warnImmutable reports a flavor or availability zone the Service asks
// for that its existing load balancer does not have: Octavia cannot
// change them, only a new load balancer can.
func (l *LoadBalancer) warnImmutable(svc *v1.Service, sc *svcConfig, lb *loadbalancers.LoadBalancer) {
	if sc.flavorID != "" && lb.FlavorID != "" && sc.flavorID != lb.FlavorID {
		l.warn(svc, reasonImmutable, "Load balancer %s has flavor %s; %s %s applies only to a new load balancer (delete and recreate the Service to change it)", lb.ID, lb.FlavorID, AnnFlavorID, sc.flavorID)
	}
	if sc.availabilityZone != "" && lb.AvailabilityZone != "" && sc.availabilityZone != lb.AvailabilityZone {
		l.warn(svc, reasonImmutable, "Load balancer %s is in availability zone %s; %s %s applies only to a new load balancer (delete and recreate the Service to change it)", lb.ID, lb.AvailabilityZone, AnnAvailabilityZone, sc.availabilityZone)
	}
}
