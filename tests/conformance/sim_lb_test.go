package conformance

import (
	"context"
	"testing"

	"github.com/kumo-project/kumo/pkg/nifcloud"
)

func runLBScenario(t *testing.T, c *nifcloud.Client, try func(string, error)) {
	ctx := context.Background()
	// L4 load balancer.
	k80 := nifcloud.ListenerKey{LoadBalancerName: "lb1", LoadBalancerPort: 80, InstancePort: 30080}
	_, err := c.CreateLoadBalancer(ctx, &nifcloud.CreateLoadBalancerInput{LoadBalancerName: "lb1",
		Listeners: []nifcloud.Listener{{Protocol: "TCP", LoadBalancerPort: 80, InstancePort: 30080, BalancingType: 1}}})
	try("CreateLoadBalancer", err)
	_, err = c.RegisterPortWithLoadBalancer(ctx, &nifcloud.RegisterPortWithLoadBalancerInput{LoadBalancerName: "lb1",
		Listeners: []nifcloud.Listener{{Protocol: "TCP", LoadBalancerPort: 443, InstancePort: 30443, BalancingType: 1}}})
	try("RegisterPortWithLoadBalancer", err)
	_, err = c.ConfigureHealthCheck(ctx, &nifcloud.ConfigureHealthCheckInput{ListenerKey: k80,
		HealthCheck: nifcloud.HealthCheck{Target: "TCP:30080", Interval: 10, UnhealthyThreshold: 2, HealthyThreshold: 1}})
	try("ConfigureHealthCheck", err)
	_, err = c.SetFilterForLoadBalancer(ctx, &nifcloud.SetFilterForLoadBalancerInput{ListenerKey: k80, FilterType: nifcloud.FilterTypeAllow,
		IPAddresses: []nifcloud.IPAddressFilter{{IPAddress: "203.0.113.9", AddOnFilter: true}}})
	try("SetFilterForLoadBalancer", err)
	_, err = c.RegisterInstancesWithLoadBalancer(ctx, &nifcloud.LoadBalancerInstancesInput{ListenerKey: k80, InstanceIDs: []string{"web1", "web2"}})
	try("RegisterInstancesWithLoadBalancer", err)
	_, err = c.DescribeLoadBalancers(ctx, &nifcloud.DescribeLoadBalancersInput{Names: []string{"lb1"}})
	try("DescribeLoadBalancers", err)
	_, err = c.DeregisterInstancesFromLoadBalancer(ctx, &nifcloud.LoadBalancerInstancesInput{ListenerKey: k80, InstanceIDs: []string{"web2"}})
	try("DeregisterInstancesFromLoadBalancer", err)
	_, err = c.UpdateLoadBalancer(ctx, &nifcloud.UpdateLoadBalancerInput{LoadBalancerName: "lb1", NetworkVolumeUpdate: 20})
	try("UpdateLoadBalancer", err)
	_, err = c.DeleteLoadBalancer(ctx, &nifcloud.ListenerKey{LoadBalancerName: "lb1", LoadBalancerPort: 443, InstancePort: 30443})
	try("DeleteLoadBalancer", err)

	// Elastic load balancer. Transitions are instant in a default simulator.
	e80 := nifcloud.ELBListenerKey{ElasticLoadBalancerName: "elb1", ElasticLoadBalancerPort: 80, InstancePort: 30080, Protocol: "TCP"}
	_, err = c.NiftyCreateElasticLoadBalancer(ctx, &nifcloud.CreateElasticLoadBalancerInput{ElasticLoadBalancerName: "elb1",
		Listeners:         []nifcloud.ELBListener{{Protocol: "TCP", ElasticLoadBalancerPort: 80, InstancePort: 30080, BalancingType: 1}},
		AvailabilityZones: []string{zone}, NetworkVolume: 10})
	try("NiftyCreateElasticLoadBalancer", err)
	_, err = c.NiftyRegisterPortWithElasticLoadBalancer(ctx, &nifcloud.RegisterPortWithElasticLoadBalancerInput{ElasticLoadBalancerName: "elb1",
		Listeners: []nifcloud.ELBListener{{Protocol: "TCP", ElasticLoadBalancerPort: 443, InstancePort: 30443, BalancingType: 1}}})
	try("NiftyRegisterPortWithElasticLoadBalancer", err)
	_, err = c.NiftyConfigureElasticLoadBalancerHealthCheck(ctx, &nifcloud.ConfigureElasticLoadBalancerHealthCheckInput{ELBListenerKey: e80,
		HealthCheck: nifcloud.ELBHealthCheck{Target: "TCP:30080", Interval: 10, UnhealthyThreshold: 2}})
	try("NiftyConfigureElasticLoadBalancerHealthCheck", err)
	_, err = c.NiftyRegisterInstancesWithElasticLoadBalancer(ctx, &nifcloud.ElasticLoadBalancerInstancesInput{ELBListenerKey: e80, InstanceIDs: []string{"web1", "web2"}})
	try("NiftyRegisterInstancesWithElasticLoadBalancer", err)
	_, err = c.NiftyModifyElasticLoadBalancerAttributes(ctx, &nifcloud.ModifyElasticLoadBalancerAttributesInput{ELBListenerKey: e80,
		Attributes: []nifcloud.ELBAttribute{{Key: nifcloud.ELBAttrBalancingType, Value: "2"}}})
	try("NiftyModifyElasticLoadBalancerAttributes", err)
	out, err := c.NiftyDescribeElasticLoadBalancers(ctx, &nifcloud.DescribeElasticLoadBalancersInput{Names: []string{"elb1"}})
	try("NiftyDescribeElasticLoadBalancers", err)
	if err == nil && (len(out.ElasticLoadBalancers) != 1 || len(out.ElasticLoadBalancers[0].Listeners) != 2 ||
		out.ElasticLoadBalancers[0].Listeners[0].BalancingType != 2) {
		t.Errorf("described elastic LB = %+v", out.ElasticLoadBalancers)
	}
	_, err = c.NiftyDeregisterInstancesFromElasticLoadBalancer(ctx, &nifcloud.ElasticLoadBalancerInstancesInput{ELBListenerKey: e80, InstanceIDs: []string{"web2"}})
	try("NiftyDeregisterInstancesFromElasticLoadBalancer", err)
	_, err = c.NiftyUpdateElasticLoadBalancer(ctx, &nifcloud.UpdateElasticLoadBalancerInput{ElasticLoadBalancerName: "elb1", NetworkVolumeUpdate: 20})
	try("NiftyUpdateElasticLoadBalancer", err)
	_, err = c.NiftyDeleteElasticLoadBalancer(ctx, &nifcloud.ELBListenerKey{ElasticLoadBalancerName: "elb1", ElasticLoadBalancerPort: 443, InstancePort: 30443, Protocol: "TCP"})
	try("NiftyDeleteElasticLoadBalancer", err)
}
