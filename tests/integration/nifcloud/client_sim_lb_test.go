package nifcloud_test

import (
	"context"
	"slices"
	"testing"

	"github.com/kumo-project/kumo/pkg/nifcloud"
)

func TestSimL4LoadBalancer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client
	key80 := nifcloud.ListenerKey{LoadBalancerName: "lb1", LoadBalancerPort: 80, InstancePort: 30080}
	key443 := nifcloud.ListenerKey{LoadBalancerName: "lb1", LoadBalancerPort: 443, InstancePort: 30443}

	_, err := c.DescribeLoadBalancers(ctx, &nifcloud.DescribeLoadBalancersInput{Names: []string{"lb1"}})
	wantCode(t, err, nifcloud.CodeLoadBalancerNotFound)

	created, err := c.CreateLoadBalancer(ctx, &nifcloud.CreateLoadBalancerInput{
		LoadBalancerName: "lb1",
		Listeners:        []nifcloud.Listener{{Protocol: "TCP", LoadBalancerPort: 80, InstancePort: 30080, BalancingType: 1}},
		AccountingType:   nifcloud.AccountingTypeMonthly, NetworkVolume: 10, PolicyType: "standard",
		AvailabilityZones: []string{zone},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.DNSName == "" || created.RequestID == "" {
		t.Fatalf("created = %+v", created)
	}
	_, err = c.CreateLoadBalancer(ctx, &nifcloud.CreateLoadBalancerInput{
		LoadBalancerName: "lb1", Listeners: []nifcloud.Listener{{Protocol: "TCP", LoadBalancerPort: 80, InstancePort: 30080}},
	})
	wantCode(t, err, nifcloud.CodeLoadBalancerDuplicate)
	if !nifcloud.IsDuplicate(err) {
		t.Errorf("IsDuplicate(%v) = false", err)
	}

	if _, err := c.RegisterPortWithLoadBalancer(ctx, &nifcloud.RegisterPortWithLoadBalancerInput{
		LoadBalancerName: "lb1", Listeners: []nifcloud.Listener{{Protocol: "TCP", LoadBalancerPort: 443, InstancePort: 30443}},
	}); err != nil {
		t.Fatal(err)
	}
	_, err = c.RegisterPortWithLoadBalancer(ctx, &nifcloud.RegisterPortWithLoadBalancerInput{
		LoadBalancerName: "lb1", Listeners: []nifcloud.Listener{{Protocol: "TCP", LoadBalancerPort: 443, InstancePort: 30443}},
	})
	wantCode(t, err, nifcloud.CodeLoadBalancerPortExists)

	if _, err := c.ConfigureHealthCheck(ctx, &nifcloud.ConfigureHealthCheckInput{ListenerKey: key80,
		HealthCheck: nifcloud.HealthCheck{Target: "TCP:30080", Interval: 10, UnhealthyThreshold: 1}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ConfigureHealthCheck(ctx, &nifcloud.ConfigureHealthCheckInput{
		ListenerKey: nifcloud.ListenerKey{LoadBalancerName: "lb1", LoadBalancerPort: 8080, InstancePort: 1},
		HealthCheck: nifcloud.HealthCheck{Target: "ICMP"}})
	wantCode(t, err, nifcloud.CodeLoadBalancerPortNotFound)

	if _, err := c.SetFilterForLoadBalancer(ctx, &nifcloud.SetFilterForLoadBalancerInput{ListenerKey: key80,
		FilterType: nifcloud.FilterTypeAllow, IPAddresses: []nifcloud.IPAddressFilter{
			{IPAddress: "198.51.100.1", AddOnFilter: true}, {IPAddress: "198.51.100.2", AddOnFilter: true}}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetFilterForLoadBalancer(ctx, &nifcloud.SetFilterForLoadBalancerInput{ListenerKey: key80,
		IPAddresses: []nifcloud.IPAddressFilter{{IPAddress: "198.51.100.1", AddOnFilter: true}}})
	wantCode(t, err, nifcloud.CodeIPAddressDuplicate)
	if _, err := c.SetFilterForLoadBalancer(ctx, &nifcloud.SetFilterForLoadBalancerInput{ListenerKey: key80,
		IPAddresses: []nifcloud.IPAddressFilter{{IPAddress: "198.51.100.2", AddOnFilter: false}}}); err != nil {
		t.Fatalf("remove filter address: %v", err)
	}

	reg, err := c.RegisterInstancesWithLoadBalancer(ctx, &nifcloud.LoadBalancerInstancesInput{ListenerKey: key80, InstanceIDs: []string{"web1", "web2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Instances) != 2 || reg.Instances[0].InstanceUniqueID == "" {
		t.Errorf("registered = %+v", reg.Instances)
	}
	_, err = c.RegisterInstancesWithLoadBalancer(ctx, &nifcloud.LoadBalancerInstancesInput{ListenerKey: key80, InstanceIDs: []string{"nosuch"}})
	if !nifcloud.IsNotFound(err) {
		t.Errorf("register unknown instance: %v", err)
	}
	dereg, err := c.DeregisterInstancesFromLoadBalancer(ctx, &nifcloud.LoadBalancerInstancesInput{ListenerKey: key80, InstanceIDs: []string{"web2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(dereg.Instances) != 1 || dereg.Instances[0].InstanceID != "web1" {
		t.Errorf("after deregister = %+v", dereg.Instances)
	}

	if _, err := c.UpdateLoadBalancer(ctx, &nifcloud.UpdateLoadBalancerInput{LoadBalancerName: "lb1", NetworkVolumeUpdate: 20,
		ListenerUpdate: &nifcloud.ListenerUpdate{LoadBalancerPort: 443, InstancePort: 30443, Listener: nifcloud.Listener{BalancingType: 2}}}); err != nil {
		t.Fatal(err)
	}

	out, err := c.DescribeLoadBalancers(ctx, &nifcloud.DescribeLoadBalancersInput{Names: []string{"lb1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.LoadBalancers) != 2 {
		t.Fatalf("descriptions = %+v (want one per listener)", out.LoadBalancers)
	}
	byPort := map[int]nifcloud.LoadBalancerDescription{}
	for _, d := range out.LoadBalancers {
		if d.LoadBalancerName != "lb1" || d.DNSName != created.DNSName || d.NetworkVolume != 20 {
			t.Errorf("description = %+v", d)
		}
		byPort[d.Listener().LoadBalancerPort] = d
	}
	d80 := byPort[80]
	if d80.Listener().InstancePort != 30080 || d80.HealthCheck.Target != "TCP:30080" || d80.HealthCheck.Interval != 10 ||
		len(d80.Instances) != 1 || d80.Instances[0].InstanceUniqueID != "i-web00001" ||
		d80.Filter.FilterType != nifcloud.FilterTypeAllow || !slices.Equal(d80.Filter.IPAddresses, []string{"198.51.100.1"}) {
		t.Errorf("listener 80 = %+v", d80)
	}
	if byPort[443].Listener().BalancingType != 2 || byPort[443].Listener().InstancePort != 30443 {
		t.Errorf("listener 443 = %+v", byPort[443])
	}
	narrowed, err := c.DescribeLoadBalancers(ctx, &nifcloud.DescribeLoadBalancersInput{Names: []string{"lb1"}, LoadBalancerPorts: []int{443}, InstancePorts: []int{30443}})
	if err != nil || len(narrowed.LoadBalancers) != 1 || narrowed.LoadBalancers[0].Listener().LoadBalancerPort != 443 {
		t.Errorf("narrowed describe = %+v, %v", narrowed, err)
	}

	if _, err := c.DeleteLoadBalancer(ctx, &key443); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteLoadBalancer(ctx, &key443)
	if !nifcloud.IsNotFound(err) {
		t.Errorf("delete missing listener: %v", err)
	}
	if _, err := c.DeleteLoadBalancer(ctx, &key80); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeLoadBalancers(ctx, &nifcloud.DescribeLoadBalancersInput{Names: []string{"lb1"}})
	wantCode(t, err, nifcloud.CodeLoadBalancerNotFound)
}

func TestSimElasticLoadBalancer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client
	name := "elb1"
	key80 := nifcloud.ELBListenerKey{ElasticLoadBalancerName: name, ElasticLoadBalancerPort: 80, InstancePort: 30080, Protocol: "TCP"}
	key443 := nifcloud.ELBListenerKey{ElasticLoadBalancerName: name, ElasticLoadBalancerPort: 443, InstancePort: 30443, Protocol: "TCP"}

	_, err := c.NiftyDescribeElasticLoadBalancers(ctx, &nifcloud.DescribeElasticLoadBalancersInput{Names: []string{name}})
	wantCode(t, err, nifcloud.CodeElasticLoadBalancerNotFound)

	in := &nifcloud.CreateElasticLoadBalancerInput{
		ElasticLoadBalancerName: name,
		Listeners:               []nifcloud.ELBListener{{Protocol: "TCP", ElasticLoadBalancerPort: 80, InstancePort: 30080, BalancingType: 1}},
		AvailabilityZones:       []string{zone},
		NetworkInterfaces:       []nifcloud.ELBNetworkInterface{{NetworkID: nifcloud.NetworkCommonGlobal, IsVipNetwork: true}},
		AccountingType:          nifcloud.AccountingTypeHourly,
		NetworkVolume:           100,
	}
	if _, err := c.NiftyCreateElasticLoadBalancer(ctx, in); err != nil {
		t.Fatal(err)
	}
	_, err = c.NiftyCreateElasticLoadBalancer(ctx, in)
	wantCode(t, err, nifcloud.CodeElasticLoadBalancerDuplicate)

	if _, err := c.NiftyRegisterPortWithElasticLoadBalancer(ctx, &nifcloud.RegisterPortWithElasticLoadBalancerInput{ElasticLoadBalancerName: name,
		Listeners: []nifcloud.ELBListener{{Protocol: "TCP", ElasticLoadBalancerPort: 443, InstancePort: 30443}}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.NiftyRegisterPortWithElasticLoadBalancer(ctx, &nifcloud.RegisterPortWithElasticLoadBalancerInput{ElasticLoadBalancerName: name,
		Listeners: []nifcloud.ELBListener{{Protocol: "TCP", ElasticLoadBalancerPort: 443, InstancePort: 30443}}})
	if !nifcloud.IsDuplicate(err) {
		t.Errorf("duplicate port: %v", err)
	}
	if _, err := c.NiftyConfigureElasticLoadBalancerHealthCheck(ctx, &nifcloud.ConfigureElasticLoadBalancerHealthCheckInput{
		ELBListenerKey: key80, HealthCheck: nifcloud.ELBHealthCheck{Target: "TCP:30080", Interval: 10, UnhealthyThreshold: 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NiftyRegisterInstancesWithElasticLoadBalancer(ctx, &nifcloud.ElasticLoadBalancerInstancesInput{
		ELBListenerKey: key80, InstanceIDs: []string{"web1", "web2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NiftyDeregisterInstancesFromElasticLoadBalancer(ctx, &nifcloud.ElasticLoadBalancerInstancesInput{
		ELBListenerKey: key80, InstanceIDs: []string{"web2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NiftyUpdateElasticLoadBalancer(ctx, &nifcloud.UpdateElasticLoadBalancerInput{ElasticLoadBalancerName: name,
		NetworkVolumeUpdate: 200}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NiftyModifyElasticLoadBalancerAttributes(ctx, &nifcloud.ModifyElasticLoadBalancerAttributesInput{ELBListenerKey: key443,
		Attributes: []nifcloud.ELBAttribute{{Key: nifcloud.ELBAttrBalancingType, Value: "2"}}}); err != nil {
		t.Fatal(err)
	}

	out, err := c.NiftyDescribeElasticLoadBalancers(ctx, &nifcloud.DescribeElasticLoadBalancersInput{Names: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ElasticLoadBalancers) != 1 {
		t.Fatalf("elbs = %+v", out.ElasticLoadBalancers)
	}
	d := out.ElasticLoadBalancers[0]
	if d.ElasticLoadBalancerID == "" || d.ElasticLoadBalancerName != name || d.DNSName == "" || d.State != nifcloud.ELBStateAvailable ||
		d.NetworkVolume != "200" || len(d.Listeners) != 2 || len(d.NetworkInterfaces) != 1 || !d.NetworkInterfaces[0].IsVipNetwork ||
		d.NetworkInterfaces[0].IPAddress != d.DNSName || len(d.NetworkInterfaces[0].SystemIPAddresses) != 2 {
		t.Errorf("elb = %+v", d)
	}
	for _, l := range d.Listeners {
		switch l.ElasticLoadBalancerPort {
		case 80:
			if l.HealthCheck.Target != "TCP:30080" || l.HealthCheck.UnhealthyThreshold != 2 || len(l.Instances) != 1 || l.Instances[0].InstanceID != "web1" {
				t.Errorf("listener 80 = %+v", l)
			}
		case 443:
			if l.BalancingType != 2 || l.InstancePort != 30443 {
				t.Errorf("listener 443 = %+v", l)
			}
		default:
			t.Errorf("unexpected listener %+v", l)
		}
	}

	if _, err := c.NiftyDeleteElasticLoadBalancer(ctx, &key443); err != nil {
		t.Fatal(err)
	}
	_, err = c.NiftyDeleteElasticLoadBalancer(ctx, &key443)
	if !nifcloud.IsNotFound(err) {
		t.Errorf("delete missing listener: %v", err)
	}
	if _, err := c.NiftyDeleteElasticLoadBalancer(ctx, &key80); err != nil {
		t.Fatal(err)
	}
	_, err = c.NiftyDescribeElasticLoadBalancers(ctx, &nifcloud.DescribeElasticLoadBalancersInput{Names: []string{name}})
	wantCode(t, err, nifcloud.CodeElasticLoadBalancerNotFound)
}

func TestSimSecurityGroups(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client
	out, err := c.DescribeSecurityGroups(ctx, &nifcloud.DescribeSecurityGroupsInput{GroupNames: []string{"fw1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("groups = %+v", out.SecurityGroups)
	}
	g := out.SecurityGroups[0]
	slices.Sort(g.InstanceIDs)
	if g.GroupName != "fw1" || !slices.Equal(g.InstanceIDs, []string{"web1", "web2"}) || len(g.InstanceUniqueIDs) != 2 {
		t.Errorf("fw1 = %+v", g)
	}
	rule := &nifcloud.SecurityGroupIngressInput{GroupName: "fw1", IPPermissions: []nifcloud.IPPermission{
		{IPProtocol: "TCP", FromPort: 30080, ToPort: 30080, InOut: nifcloud.InOutIn, CIDRs: []string{"203.0.113.5"}},
		{IPProtocol: "ICMP", InOut: nifcloud.InOutIn, CIDRs: []string{"203.0.113.0/24"}},
	}}
	if r, err := c.AuthorizeSecurityGroupIngress(ctx, rule); err != nil || !r.Return {
		t.Fatalf("authorize = %+v, %v", r, err)
	}
	_, err = c.AuthorizeSecurityGroupIngress(ctx, rule)
	if !nifcloud.IsDuplicate(err) {
		t.Errorf("duplicate rule: %v", err)
	}
	out, err = c.DescribeSecurityGroups(ctx, &nifcloud.DescribeSecurityGroupsInput{GroupNames: []string{"fw1"}})
	if err != nil {
		t.Fatal(err)
	}
	g = out.SecurityGroups[0]
	if g.GroupStatus != nifcloud.SecurityGroupApplied || len(g.IPPermissions) != 2 {
		t.Fatalf("after authorize = %+v", g)
	}
	var sawTCP bool
	for _, p := range g.IPPermissions {
		if p.IPProtocol == "TCP" && p.FromPort == 30080 && p.InOut == "IN" && slices.Equal(p.CIDRs, []string{"203.0.113.5"}) {
			sawTCP = true
		}
	}
	if !sawTCP {
		t.Errorf("rules = %+v", g.IPPermissions)
	}
	if _, err := c.RevokeSecurityGroupIngress(ctx, rule); err != nil {
		t.Fatal(err)
	}
	_, err = c.RevokeSecurityGroupIngress(ctx, rule)
	wantCode(t, err, nifcloud.CodeSecurityGroupRuleNotFound)
	_, err = c.DescribeSecurityGroups(ctx, &nifcloud.DescribeSecurityGroupsInput{GroupNames: []string{"nosuch"}})
	wantCode(t, err, nifcloud.CodeSecurityGroupNotFound)
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &nifcloud.SecurityGroupIngressInput{GroupName: "nosuch", IPPermissions: rule.IPPermissions})
	wantCode(t, err, nifcloud.CodeSecurityGroupNotFound)
	all, err := c.DescribeSecurityGroups(ctx, nil)
	if err != nil || len(all.SecurityGroups) != 2 {
		t.Errorf("all groups = %+v, %v", all, err)
	}
}
