package chaos

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
)

// kumoRulePrefix marks the security group rules the NIFCLOUD provider
// makes for elastic load balancers (see pkg/ccm/nifcloud/secgroups.go).
const kumoRulePrefix = "kumo:"

// leak is one kind of cloud object left behind.
type leak struct {
	Cloud, Kind string
	IDs         []string
}

func (l leak) String() string {
	return fmt.Sprintf("%s: %d leaked %s (%s)", l.Cloud, len(l.IDs), l.Kind, strings.Join(first(l.IDs, 5), ", "))
}

// osBaseline is the OpenStack state before the run: objects seeded or
// added by the test, which the audit does not count.
type osBaseline struct {
	ports, fips, rules map[string]bool
}

func takeOSBaseline(st openstacksim.State) osBaseline {
	return osBaseline{ports: keys(st.Ports), fips: keys(st.FloatingIPs), rules: keys(st.SecurityGroupRules)}
}

// auditOpenStack lists every Cinder volume, Octavia object, and floating
// IP, port or security group rule that did not exist before the run.
func auditOpenStack(st openstacksim.State, base osBaseline) []leak {
	var out []leak
	add := func(kind string, ids []string) {
		if len(ids) > 0 {
			sort.Strings(ids)
			out = append(out, leak{Cloud: "openstack", Kind: kind, IDs: ids})
		}
	}
	add("volumes", sortedKeys(st.Volumes))
	add("load balancers", sortedKeys(st.LoadBalancers))
	add("listeners", sortedKeys(st.Listeners))
	add("pools", sortedKeys(st.Pools))
	add("members", sortedKeys(st.Members))
	add("health monitors", sortedKeys(st.HealthMonitors))
	add("floating IPs", newKeys(st.FloatingIPs, base.fips))
	add("ports", newKeys(st.Ports, base.ports))
	add("security group rules", newKeys(st.SecurityGroupRules, base.rules))
	return out
}

// auditNIFCLOUD lists every disk, L4 and elastic load balancer, and every
// security group rule made by kumo (or added since baselineRules).
func auditNIFCLOUD(st nifcloudsim.State, baselineRules int) []leak {
	var out []leak
	add := func(kind string, ids []string) {
		if len(ids) > 0 {
			sort.Strings(ids)
			out = append(out, leak{Cloud: "nifcloud", Kind: kind, IDs: ids})
		}
	}
	add("volumes", sortedKeys(st.Volumes))
	add("L4 load balancers", sortedKeys(st.LoadBalancers))
	add("elastic load balancers", sortedKeys(st.ElasticLBs))
	var tagged []string
	for name, g := range st.SecurityGroups {
		for _, r := range g.Rules {
			if strings.HasPrefix(r.Description, kumoRulePrefix) {
				tagged = append(tagged, fmt.Sprintf("%s:%s %d-%d from %s%s", name, r.IPProtocol, r.FromPort, r.ToPort, r.CidrIP, r.GroupName))
			}
		}
	}
	add("kumo security group rules", tagged)
	if n := nifcloudRules(st); n > baselineRules && len(tagged) == 0 {
		add("untagged security group rules", []string{fmt.Sprintf("%d rules, %d before the run", n, baselineRules)})
	}
	return out
}

func nifcloudRules(st nifcloudsim.State) int {
	n := 0
	for _, g := range st.SecurityGroups {
		n += len(g.Rules)
	}
	return n
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func newKeys[V any](m map[string]V, before map[string]bool) []string {
	var out []string
	for k := range m {
		if !before[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
