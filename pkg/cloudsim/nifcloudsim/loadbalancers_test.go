package nifcloudsim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestL4LoadBalancer(t *testing.T) {
	h := newHarness(t, Options{})
	seed(t, h.sim, Instance{InstanceID: "n1", InstanceUniqueID: "i-aaaa0001"}, Instance{InstanceID: "n2", State: "stopped"})
	lis := func(lp, ip string) []string {
		return []string{"Listeners.member.1.Protocol", "TCP", "Listeners.member.1.LoadBalancerPort", lp,
			"Listeners.member.1.InstancePort", ip, "Listeners.member.1.BalancingType", "1"}
	}
	triple := func(lp, ip string, kv ...string) []string {
		return append([]string{"LoadBalancerName", "lb1", "LoadBalancerPort", lp, "InstancePort", ip}, kv...)
	}
	n := h.ok("CreateLoadBalancer", append([]string{"LoadBalancerName", "lb1", "AccountingType", "2",
		"NetworkVolume", "100", "PolicyType", "ats"}, lis("80", "30080")...)...)
	vip := n.text("CreateLoadBalancerResult/DNSName")
	if !strings.HasPrefix(vip, "203.0.113.") {
		t.Fatalf("VIP = %q", vip)
	}
	h.fail(http.StatusBadRequest, CodeLBDuplicate, "CreateLoadBalancer", append([]string{"LoadBalancerName", "lb1"}, lis("80", "30080")...)...)
	h.fail(http.StatusBadRequest, CodeInvalidNetworkVolume, "CreateLoadBalancer", append([]string{"LoadBalancerName", "lb2", "NetworkVolume", "55"}, lis("80", "1")...)...)
	h.fail(http.StatusBadRequest, CodeMissingParameter, "CreateLoadBalancer", "LoadBalancerName", "lb2")

	h.ok("RegisterPortWithLoadBalancer", append([]string{"LoadBalancerName", "lb1"}, lis("443", "30443")...)...)
	h.fail(http.StatusBadRequest, CodeLBPortExists, "RegisterPortWithLoadBalancer", append([]string{"LoadBalancerName", "lb1"}, lis("443", "30443")...)...)
	h.fail(http.StatusBadRequest, CodeLBNotFound, "RegisterPortWithLoadBalancer", append([]string{"LoadBalancerName", "nope"}, lis("1", "2")...)...)

	hc := h.ok("ConfigureHealthCheck", triple("80", "30080", "HealthCheck.Target", "TCP:30080", "HealthCheck.Interval", "10",
		"HealthCheck.UnhealthyThreshold", "1", "HealthCheck.Timeout", "11", "HealthCheck.HealthyThreshold", "2")...)
	if hc.text("ConfigureHealthCheckResult/HealthCheck/Interval") != "10" {
		t.Fatalf("health check result: %+v", hc)
	}
	h.fail(http.StatusBadRequest, CodeInvalidParameterValue+".HealthCheck.Interval", "ConfigureHealthCheck", triple("80", "30080", "HealthCheck.Target", "ICMP", "HealthCheck.Interval", "1")...)
	h.fail(http.StatusBadRequest, CodeInvalidParameterValue+".HealthCheck.Target", "ConfigureHealthCheck", triple("80", "30080", "HealthCheck.Target", "UDP:1")...)
	h.fail(http.StatusBadRequest, CodeLBPortNotFound, "ConfigureHealthCheck", triple("81", "30080", "HealthCheck.Target", "ICMP")...)

	h.ok("SetFilterForLoadBalancer", triple("80", "30080", "FilterType", "1",
		"IPAddresses.member.1.IPAddress", "198.51.100.1", "IPAddresses.member.1.AddOnFilter", "true",
		"IPAddresses.member.2.IPAddress", "198.51.100.0/24", "IPAddresses.member.2.AddOnFilter", "true")...)
	h.fail(http.StatusBadRequest, CodeIPAddressDuplicate, "SetFilterForLoadBalancer", triple("80", "30080",
		"IPAddresses.member.1.IPAddress", "198.51.100.1", "IPAddresses.member.1.AddOnFilter", "true")...)
	h.fail(http.StatusBadRequest, CodeIPAddressNotFound, "SetFilterForLoadBalancer", triple("80", "30080",
		"IPAddresses.member.1.IPAddress", "192.0.2.1", "IPAddresses.member.1.AddOnFilter", "false")...)

	h.ok("RegisterInstancesWithLoadBalancer", triple("80", "30080", "Instances.member.1.InstanceId", "n1", "Instances.member.2.InstanceId", "n2")...)
	h.fail(http.StatusBadRequest, CodeLBInstanceRegistered, "RegisterInstancesWithLoadBalancer", triple("80", "30080", "Instances.member.1.InstanceId", "n1")...)
	h.fail(http.StatusBadRequest, CodeInstanceNotFound, "RegisterInstancesWithLoadBalancer", triple("80", "30080", "Instances.member.1.InstanceId", "ghost")...)

	d := h.ok("DescribeLoadBalancers", "LoadBalancerNames.member.1", "lb1")
	ms := d.all("DescribeLoadBalancersResult/LoadBalancerDescriptions/member")
	if len(ms) != 2 {
		t.Fatalf("want one member per listener, got %d", len(ms))
	}
	m := ms[0]
	for path, want := range map[string]string{
		"LoadBalancerName": "lb1", "DNSName": vip, "NetworkVolume": "100", "PolicyType": "ats", "AccountingType": "2",
		"ListenerDescriptions/member/Listener/Protocol": "TCP", "ListenerDescriptions/member/Listener/LoadBalancerPort": "80",
		"ListenerDescriptions/member/Listener/InstancePort": "30080", "ListenerDescriptions/member/Listener/BalancingType": "1",
		"Instances/member/InstanceId": "n1", "Instances/member/InstanceUniqueId": "i-aaaa0001",
		"HealthCheck/Target": "TCP:30080", "HealthCheck/Interval": "10", "HealthCheck/UnhealthyThreshold": "1",
		"HealthCheck/Timeout": "11", "HealthCheck/HealthyThreshold": "2",
		"HealthCheck/InstanceStates/member/State": "InService", "Filter/FilterType": "1",
	} {
		if got := m.text(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if got := m.texts("Filter/IPAddresses/member/IPAddress"); len(got) != 2 || got[1] != "198.51.100.0/24" {
		t.Errorf("filter = %v", got)
	}
	if got := m.texts("HealthCheck/InstanceStates/member/State"); len(got) != 2 || got[1] != "OutOfService" {
		t.Errorf("instance states = %v", got)
	}
	if got := ms[1].texts("Filter/IPAddresses/member/IPAddress"); len(got) != 1 || got[0] != "*.*.*.*" {
		t.Errorf("empty filter = %v", got)
	}
	if ms[1].text("ListenerDescriptions/member/Listener/LoadBalancerPort") != "443" || ms[1].text("HealthCheck/Target") != "TCP:30443" {
		t.Error("second listener wrong")
	}
	// Port filter in DescribeLoadBalancers.
	d = h.ok("DescribeLoadBalancers", "LoadBalancerNames.member.1", "lb1", "LoadBalancerNames.LoadBalancerPort.1", "443", "LoadBalancerNames.InstancePort.1", "30443")
	if len(d.all("DescribeLoadBalancersResult/LoadBalancerDescriptions/member")) != 1 {
		t.Fatal("port filter")
	}
	h.fail(http.StatusBadRequest, CodeLBNotFound, "DescribeLoadBalancers", "LoadBalancerNames.member.1", "nope")

	// Filter removal and reset to allow-all.
	h.ok("SetFilterForLoadBalancer", triple("80", "30080", "IPAddresses.member.1.IPAddress", "198.51.100.1", "IPAddresses.member.1.AddOnFilter", "false")...)
	h.ok("SetFilterForLoadBalancer", triple("80", "30080", "IPAddresses.member.1.IPAddress", "*.*.*.*")...)

	dr := h.ok("DeregisterInstancesFromLoadBalancer", triple("80", "30080", "Instances.member.1.InstanceId", "n2")...)
	if got := dr.texts("DeregisterInstancesFromLoadBalancerResult/Instances/member/InstanceId"); len(got) != 1 || got[0] != "n1" {
		t.Fatalf("after deregister = %v", got)
	}
	h.fail(http.StatusBadRequest, CodeInstanceNotFound, "DeregisterInstancesFromLoadBalancer", triple("80", "30080", "Instances.member.1.InstanceId", "n2")...)

	// UpdateLoadBalancer.
	h.ok("UpdateLoadBalancer", "LoadBalancerName", "lb1", "NetworkVolumeUpdate", "200", "AccountingTypeUpdate", "1",
		"ListenerUpdate.LoadBalancerPort", "443", "ListenerUpdate.InstancePort", "30443",
		"ListenerUpdate.Listener.InstancePort", "30444", "ListenerUpdate.Listener.BalancingType", "2")
	h.fail(http.StatusBadRequest, CodeLBPortExists, "UpdateLoadBalancer", "LoadBalancerName", "lb1",
		"ListenerUpdate.LoadBalancerPort", "443", "ListenerUpdate.InstancePort", "30444",
		"ListenerUpdate.Listener.LoadBalancerPort", "80", "ListenerUpdate.Listener.InstancePort", "30080")
	d = h.ok("DescribeLoadBalancers", "LoadBalancerNames.member.1", "lb1", "LoadBalancerNames.LoadBalancerPort.1", "443")
	if m := d.one(t, "DescribeLoadBalancersResult/LoadBalancerDescriptions/member"); m.text("NetworkVolume") != "200" ||
		m.text("ListenerDescriptions/member/Listener/InstancePort") != "30444" || m.text("ListenerDescriptions/member/Listener/BalancingType") != "2" {
		t.Fatalf("update not applied: %+v", m)
	}

	// Rename and back.
	h.ok("UpdateLoadBalancer", "LoadBalancerName", "lb1", "LoadBalancerNameUpdate", "lbx")
	h.fail(http.StatusBadRequest, CodeLBNotFound, "DescribeLoadBalancers", "LoadBalancerNames.member.1", "lb1")
	h.ok("UpdateLoadBalancer", "LoadBalancerName", "lbx", "LoadBalancerNameUpdate", "lb1")

	// Delete listener by listener; the last one removes the LB.
	h.fail(http.StatusBadRequest, CodeLBPortNotFound, "DeleteLoadBalancer", triple("443", "30443")...)
	del := h.ok("DeleteLoadBalancer", triple("443", "30444")...)
	if len(del.all("DeleteLoadBalancerResult")) != 1 {
		t.Fatal("no DeleteLoadBalancerResult")
	}
	h.ok("DescribeLoadBalancers", "LoadBalancerNames.member.1", "lb1")
	h.ok("DeleteLoadBalancer", triple("80", "30080")...)
	h.fail(http.StatusBadRequest, CodeLBNotFound, "DescribeLoadBalancers", "LoadBalancerNames.member.1", "lb1")
	h.fail(http.StatusBadRequest, CodeLBNotFound, "DeleteLoadBalancer", triple("80", "30080")...)

	// The VIP is stable per name.
	again := h.ok("CreateLoadBalancer", append([]string{"LoadBalancerName", "lb1"}, lis("80", "30080")...)...)
	if again.text("CreateLoadBalancerResult/DNSName") != vip {
		t.Fatal("VIP not stable per name")
	}
}

func TestElasticLoadBalancer(t *testing.T) {
	clk := newFakeClock()
	h := newHarness(t, Options{Now: clk.Now})
	seed(t, h.sim, Instance{InstanceID: "n1", InstanceUniqueID: "i-bbbb0001"})
	if _, err := h.sim.AddPrivateLan(PrivateLan{NetworkID: "net-abcd1234"}); err != nil {
		t.Fatal(err)
	}
	setTransitions(h.sim, map[string]time.Duration{"elb.apply": 30 * time.Second})
	key3 := func(kv ...string) []string {
		return append([]string{"ElasticLoadBalancerName", "elb1", "ElasticLoadBalancerPort", "80", "InstancePort", "30080", "Protocol", "TCP"}, kv...)
	}
	n := h.ok("NiftyCreateElasticLoadBalancer", "ElasticLoadBalancerName", "elb1",
		"Listeners.member.1.Protocol", "TCP", "Listeners.member.1.ElasticLoadBalancerPort", "80",
		"Listeners.member.1.InstancePort", "30080", "Listeners.member.1.BalancingType", "1",
		"AvailabilityZones.member.1", "east-11", "NetworkVolume", "100", "AccountingType", "2",
		"NetworkInterface.1.NetworkId", "net-COMMON_GLOBAL", "NetworkInterface.1.IsVipNetwork", "true",
		"NetworkInterface.2.NetworkId", "net-abcd1234", "NetworkInterface.2.IsVipNetwork", "false",
		"NetworkInterface.2.IpAddress", "172.16.0.1",
		"NetworkInterface.2.SystemIpAddresses.1.SystemIpAddress", "172.16.0.2",
		"NetworkInterface.2.SystemIpAddresses.2.SystemIpAddress", "172.16.0.3")
	if len(n.all("NiftyCreateElasticLoadBalancerResult/DNSName")) != 1 {
		t.Fatal("no DNSName element")
	}
	h.fail(http.StatusBadRequest, CodeELBDuplicate, "NiftyCreateElasticLoadBalancer", "ElasticLoadBalancerName", "elb1",
		"Listeners.member.1.ElasticLoadBalancerPort", "80", "Listeners.member.1.InstancePort", "1")
	h.fail(http.StatusBadRequest, CodeMissingParameter, "NiftyCreateElasticLoadBalancer", "ElasticLoadBalancerName", "x",
		"Listeners.member.1.ElasticLoadBalancerPort", "80", "Listeners.member.1.InstancePort", "1",
		"NetworkInterface.1.NetworkId", "net-private1")

	d := h.ok("NiftyDescribeElasticLoadBalancers", "ElasticLoadBalancers.ElasticLoadBalancerName.1", "elb1")
	m := d.one(t, "NiftyDescribeElasticLoadBalancersResult/ElasticLoadBalancerDescriptions/member")
	if m.text("State") != "pending" || !strings.HasPrefix(m.text("ElasticLoadBalancerId"), "elb-") {
		t.Fatalf("state = %q", m.text("State"))
	}
	vip := m.text("DNSName")
	if !strings.HasPrefix(vip, "198.51.100.") || m.text("NetworkVolume") != "100" || m.text("AvailabilityZones/member") != "east-11" {
		t.Fatalf("describe: %+v", m)
	}
	nics := m.all("NetworkInterfaces/member")
	if len(nics) != 2 || nics[0].text("IpAddress") != vip || nics[0].text("IsVipNetwork") != "true" ||
		len(nics[0].all("SystemIpAddresses/member")) != 2 || nics[1].text("NetworkId") != "net-abcd1234" ||
		strings.Join(nics[1].texts("SystemIpAddresses/member/SystemIpAddress"), ",") != "172.16.0.2,172.16.0.3" {
		t.Fatalf("network interfaces: %+v", nics)
	}
	h.fail(http.StatusBadRequest, CodeELBProcessing, "NiftyRegisterInstancesWithElasticLoadBalancer", key3("Instances.member.1.InstanceId", "n1")...)
	clk.Advance(30 * time.Second)

	h.ok("NiftyRegisterInstancesWithElasticLoadBalancer", key3("Instances.member.1.InstanceId", "n1")...)
	clk.Advance(30 * time.Second)
	h.fail(http.StatusBadRequest, CodeELBInstanceRegistered, "NiftyRegisterInstancesWithElasticLoadBalancer", key3("Instances.member.1.InstanceId", "n1")...)
	h.fail(http.StatusBadRequest, CodeInstanceNotFound, "NiftyRegisterInstancesWithElasticLoadBalancer", key3("Instances.member.1.InstanceId", "ghost")...)
	// The ELB may be addressed by id instead of name.
	h.ok("NiftyConfigureElasticLoadBalancerHealthCheck", "ElasticLoadBalancerId", m.text("ElasticLoadBalancerId"),
		"ElasticLoadBalancerPort", "80", "InstancePort", "30080", "Protocol", "TCP",
		"HealthCheck.Target", "TCP:30080", "HealthCheck.Interval", "10", "HealthCheck.UnhealthyThreshold", "2")
	clk.Advance(30 * time.Second)
	h.ok("NiftyRegisterPortWithElasticLoadBalancer", "ElasticLoadBalancerName", "elb1",
		"Listeners.member.1.Protocol", "TCP", "Listeners.member.1.ElasticLoadBalancerPort", "443", "Listeners.member.1.InstancePort", "30443")
	clk.Advance(30 * time.Second)
	h.fail(http.StatusBadRequest, CodeELBPortDuplicate, "NiftyRegisterPortWithElasticLoadBalancer", "ElasticLoadBalancerName", "elb1",
		"Listeners.member.1.Protocol", "TCP", "Listeners.member.1.ElasticLoadBalancerPort", "443", "Listeners.member.1.InstancePort", "30999")
	h.fail(http.StatusBadRequest, CodeELBPortNotFound, "NiftyConfigureElasticLoadBalancerHealthCheck",
		"ElasticLoadBalancerName", "elb1", "ElasticLoadBalancerPort", "8080", "InstancePort", "1", "Protocol", "TCP", "HealthCheck.Target", "ICMP")
	h.fail(http.StatusBadRequest, CodeELBNotFound, "NiftyDescribeElasticLoadBalancers", "ElasticLoadBalancers.ElasticLoadBalancerName.1", "nope")
	h.fail(http.StatusBadRequest, CodeELBNotFound, "NiftyDeleteElasticLoadBalancer", "ElasticLoadBalancerId", "elb-nope",
		"ElasticLoadBalancerPort", "80", "InstancePort", "30080")

	d = h.ok("NiftyDescribeElasticLoadBalancers")
	m = d.one(t, "NiftyDescribeElasticLoadBalancersResult/ElasticLoadBalancerDescriptions/member")
	ls := m.all("ElasticLoadBalancerListenerDescriptions/member/Listener")
	if m.text("State") != "available" || len(ls) != 2 {
		t.Fatalf("state %s, %d listeners", m.text("State"), len(ls))
	}
	for path, want := range map[string]string{
		"Protocol": "TCP", "ElasticLoadBalancerPort": "80", "InstancePort": "30080", "BalancingType": "1",
		"Instances/member/InstanceId": "n1", "Instances/member/InstanceUniqueId": "i-bbbb0001",
		"HealthCheck/Target": "TCP:30080", "HealthCheck/Interval": "10", "HealthCheck/UnhealthyThreshold": "2",
	} {
		if got := ls[0].text(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}

	h.ok("NiftyUpdateElasticLoadBalancer", "ElasticLoadBalancerName", "elb1", "NetworkVolumeUpdate", "200")
	clk.Advance(30 * time.Second)
	h.ok("NiftyModifyElasticLoadBalancerAttributes", "ElasticLoadBalancerName", "elb1",
		"ElasticLoadBalancerPort", "443", "InstancePort", "30443", "Protocol", "TCP",
		"LoadBalancerAttributes.AdditionalAttributes.member.1.Key", "instancePort",
		"LoadBalancerAttributes.AdditionalAttributes.member.1.Value", "30444")
	clk.Advance(30 * time.Second)
	h.fail(http.StatusBadRequest, CodeInvalidNetworkVolume, "NiftyUpdateElasticLoadBalancer", "ElasticLoadBalancerName", "elb1", "NetworkVolumeUpdate", "1000")
	h.ok("NiftyDeregisterInstancesFromElasticLoadBalancer", key3("Instances.member.1.InstanceId", "n1")...)
	clk.Advance(30 * time.Second)
	h.fail(http.StatusBadRequest, CodeInstanceNotFound, "NiftyDeregisterInstancesFromElasticLoadBalancer", key3("Instances.member.1.InstanceId", "n1")...)
	h.ok("NiftyDeleteElasticLoadBalancer", key3()...)
	clk.Advance(30 * time.Second)
	h.fail(http.StatusBadRequest, CodeELBPortNotFound, "NiftyDeleteElasticLoadBalancer", key3()...)
	h.ok("NiftyDeleteElasticLoadBalancer", "ElasticLoadBalancerName", "elb1", "ElasticLoadBalancerPort", "443", "InstancePort", "30444", "Protocol", "TCP")
	h.fail(http.StatusBadRequest, CodeELBNotFound, "NiftyDescribeElasticLoadBalancers", "ElasticLoadBalancers.ElasticLoadBalancerName.1", "elb1")
	// Default NIC: net-COMMON_GLOBAL as VIP network.
	h.ok("NiftyCreateElasticLoadBalancer", "ElasticLoadBalancerName", "elb2",
		"Listeners.member.1.ElasticLoadBalancerPort", "80", "Listeners.member.1.InstancePort", "30080")
	m = h.ok("NiftyDescribeElasticLoadBalancers").one(t, "NiftyDescribeElasticLoadBalancersResult/ElasticLoadBalancerDescriptions/member")
	if m.text("NetworkInterfaces/member/NetworkId") != "net-COMMON_GLOBAL" || m.text("DNSName") == "" {
		t.Fatalf("default NIC: %+v", m)
	}
}

func TestSecurityGroups(t *testing.T) {
	clk := newFakeClock()
	h := newHarness(t, Options{Now: clk.Now})
	seed(t, h.sim, Instance{InstanceID: "n1", SecurityGroup: "k8s"}, Instance{InstanceID: "n2", SecurityGroup: "k8s"},
		Instance{InstanceID: "n3", SecurityGroup: "other"})
	setTransitions(h.sim, map[string]time.Duration{"sg.apply": 20 * time.Second})

	n := h.ok("DescribeSecurityGroups", "GroupName.1", "k8s")
	g := n.one(t, "securityGroupInfo/item")
	if g.text("groupName") != "k8s" || g.text("groupStatus") != "applied" ||
		strings.Join(g.texts("instancesSet/item/instanceId"), ",") != "n1,n2" {
		t.Fatalf("group: %+v", g)
	}
	if len(h.ok("DescribeSecurityGroups").all("securityGroupInfo/item")) != 2 {
		t.Fatal("want both groups")
	}
	h.fail(http.StatusBadRequest, CodeSGNotFound, "DescribeSecurityGroups", "GroupName.1", "nope")

	rule := []string{"GroupName", "k8s", "IpPermissions.1.IpProtocol", "TCP", "IpPermissions.1.FromPort", "30080",
		"IpPermissions.1.InOut", "IN", "IpPermissions.1.IpRanges.1.CidrIp", "203.0.113.5"}
	if h.ok("AuthorizeSecurityGroupIngress", rule...).text("return") != "true" {
		t.Fatal("return")
	}
	g = h.ok("DescribeSecurityGroups", "GroupName.1", "k8s").one(t, "securityGroupInfo/item")
	if g.text("groupStatus") != "applying" {
		t.Fatalf("status = %s", g.text("groupStatus"))
	}
	p := g.one(t, "ipPermissions/item")
	if p.text("ipProtocol") != "TCP" || p.text("fromPort") != "30080" || p.text("toPort") != "30080" ||
		p.text("inOut") != "IN" || p.text("ipRanges/item/cidrIp") != "203.0.113.5" {
		t.Fatalf("permission: %+v", p)
	}
	clk.Advance(20 * time.Second)
	if h.ok("DescribeSecurityGroups", "GroupName.1", "k8s").text("securityGroupInfo/item/groupStatus") != "applied" {
		t.Fatal("not applied")
	}
	h.fail(http.StatusBadRequest, CodeSGRuleDuplicate, "AuthorizeSecurityGroupIngress", rule...)
	h.ok("AuthorizeSecurityGroupIngress", "GroupName", "k8s", "IpPermissions.1.IpProtocol", "ICMP",
		"IpPermissions.1.IpRanges.1.CidrIp", "10.0.0.0/8", "IpPermissions.2.IpProtocol", "TCP",
		"IpPermissions.2.FromPort", "1", "IpPermissions.2.ToPort", "1024", "IpPermissions.2.Groups.1.GroupName", "other")
	if got := len(h.ok("DescribeSecurityGroups", "GroupName.1", "k8s").all("securityGroupInfo/item/ipPermissions/item")); got != 3 {
		t.Fatalf("rules = %d", got)
	}
	h.fail(http.StatusBadRequest, CodeSGNotFound, "AuthorizeSecurityGroupIngress", "GroupName", "nope", "IpPermissions.1.IpProtocol", "ICMP")
	h.fail(http.StatusBadRequest, CodeInvalidParameterValue+".IpPermissions.1.IpProtocol", "AuthorizeSecurityGroupIngress", "GroupName", "k8s", "IpPermissions.1.IpProtocol", "XYZ")

	h.ok("RevokeSecurityGroupIngress", rule...)
	h.fail(http.StatusBadRequest, CodeSGIngressNotFound, "RevokeSecurityGroupIngress", rule...)
	h.fail(http.StatusBadRequest, CodeSGNotFound, "RevokeSecurityGroupIngress", append([]string{"GroupName", "nope"}, rule[2:]...)...)
}
