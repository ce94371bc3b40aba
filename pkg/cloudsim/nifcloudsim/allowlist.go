package nifcloudsim

import (
	"regexp"
	"slices"
	"sort"
	"strings"
)

// CodeUnknownParameter answers a request key the action does not define.
// The real code is not documented for the computing API; this one is the
// simulator's choice in the Client.* scheme (see errors.go).
const CodeUnknownParameter = "Client.InvalidParameterUnknown"

// paramPatterns is, per action, every request key the action's input shape
// in NIFCLOUD's computing model (shared/specs/nifcloud-computing.smithy,
// shape <Action>Request) defines, flattened the ec2Query way with list
// indexes written N. Transcribed by hand; the conformance test
// (tests/conformance) checks it against the model, and the simulator never
// reads the model. Signature and envelope keys are always allowed. Keys the
// public API reference (docs.nifcloud.com/cp/api/<Action>.htm) marks as not
// specifiable are left out although the model defines them
// (tests/conformance docForbidden).
func paramPatterns() map[string][]string {
	elbListener := []string{"ElasticLoadBalancerId", "ElasticLoadBalancerName", "ElasticLoadBalancerPort", "InstancePort", "Protocol"}
	elbInstances := append([]string{"Instances.member.N.InstanceId", "Instances.member.N.InstanceUniqueId"}, elbListener...)
	l4Listener := []string{"LoadBalancerName", "LoadBalancerPort", "InstancePort"}
	l4Listeners := []string{"Listeners.member.N.BalancingType", "Listeners.member.N.InstancePort", "Listeners.member.N.LoadBalancerPort", "Listeners.member.N.Protocol"}
	elbListeners := []string{"Listeners.member.N.BalancingType", "Listeners.member.N.Description", "Listeners.member.N.ElasticLoadBalancerPort",
		"Listeners.member.N.InstancePort", "Listeners.member.N.Protocol", "Listeners.member.N.SSLCertificateId"}
	ipPerms := []string{"GroupName", "UserId", "IpPermissions.N.FromPort", "IpPermissions.N.ToPort", "IpPermissions.N.InOut",
		"IpPermissions.N.IpProtocol", "IpPermissions.N.IpRanges.N.CidrIp", "IpPermissions.N.Groups.N.GroupName", "IpPermissions.N.Groups.N.UserId"}
	filter := []string{"Filter.N.Name", "Filter.N.Value.N"}
	return map[string][]string{
		"DescribeInstances":         {"InstanceId.N", "Tenancy.N"},
		"DescribeInstanceAttribute": {"Attribute", "InstanceId"},

		"CreateVolume":     {"AccountingType", "Description", "DiskType", "InstanceId", "InstanceUniqueId", "Size", "VolumeId"},
		"DescribeVolumes":  {"VolumeId.N"},
		"AttachVolume":     {"Device", "InstanceId", "VolumeId"},
		"DetachVolume":     {"Agreement", "InstanceId", "VolumeId"}, // not Device, Force: docs.nifcloud.com/cp/api/DetachVolume.htm marks them not specifiable
		"DeleteVolume":     {"VolumeId"},
		"ExtendVolumeSize": {"NiftyReboot", "VolumeId"},

		"CreateLoadBalancer": append([]string{"AccountingType", "AvailabilityZones.member.N", "IpVersion", "LoadBalancerName",
			"NetworkVolume", "PolicyType"}, l4Listeners...),
		"RegisterPortWithLoadBalancer": append([]string{"LoadBalancerName"}, l4Listeners...),
		"ConfigureHealthCheck": append([]string{"HealthCheck.HealthyThreshold", "HealthCheck.Interval", "HealthCheck.Target",
			"HealthCheck.Timeout", "HealthCheck.UnhealthyThreshold"}, l4Listener...),
		"SetFilterForLoadBalancer":            append([]string{"FilterType", "IPAddresses.member.N.AddOnFilter", "IPAddresses.member.N.IPAddress"}, l4Listener...),
		"RegisterInstancesWithLoadBalancer":   append([]string{"Instances.member.N.InstanceId"}, l4Listener...),
		"DeregisterInstancesFromLoadBalancer": append([]string{"Instances.member.N.InstanceId"}, l4Listener...),
		"DeleteLoadBalancer":                  l4Listener,
		"UpdateLoadBalancer": {"AccountingTypeUpdate", "ListenerUpdate.InstancePort", "ListenerUpdate.LoadBalancerPort",
			"ListenerUpdate.Listener.BalancingType", "ListenerUpdate.Listener.InstancePort", "ListenerUpdate.Listener.LoadBalancerPort",
			"ListenerUpdate.Listener.Protocol", "LoadBalancerName", "LoadBalancerNameUpdate", "NetworkVolumeUpdate"},
		// The model says LoadBalancerNames.member.N.{LoadBalancerName,…};
		// NIFCLOUD's SDK serializes LoadBalancerNames.member.N and
		// LoadBalancerNames.{LoadBalancerPort,InstancePort}.N by hand. Both.
		"DescribeLoadBalancers": {"Owner", "LoadBalancerNames.member.N.LoadBalancerName", "LoadBalancerNames.member.N.LoadBalancerPort",
			"LoadBalancerNames.member.N.InstancePort", "LoadBalancerNames.member.N", "LoadBalancerNames.LoadBalancerPort.N",
			"LoadBalancerNames.InstancePort.N"},

		"NiftyCreateElasticLoadBalancer": append([]string{"AccountingType", "AvailabilityZones.member.N", "ElasticLoadBalancerName",
			"Listeners.member.N.HealthCheck.Expectation.member.N.HttpCode", "Listeners.member.N.HealthCheck.Interval",
			"Listeners.member.N.HealthCheck.Path", "Listeners.member.N.HealthCheck.Target", "Listeners.member.N.HealthCheck.UnhealthyThreshold",
			"Listeners.member.N.Instances.member.N.InstanceId", "Listeners.member.N.Instances.member.N.InstanceUniqueId",
			"Listeners.member.N.Session.StickinessPolicy.Enable", "Listeners.member.N.Session.StickinessPolicy.ExpirationPeriod",
			"Listeners.member.N.Session.StickinessPolicy.Method", "Listeners.member.N.SorryPage.Enable", "Listeners.member.N.SorryPage.RedirectUrl",
			"NetworkInterface.N.IpAddress", "NetworkInterface.N.IsVipNetwork", "NetworkInterface.N.NetworkId", "NetworkInterface.N.NetworkName",
			"NetworkInterface.N.SystemIpAddresses.N.SystemIpAddress", "NetworkVolume"}, elbListeners...),
		"NiftyDescribeElasticLoadBalancers": append([]string{"ElasticLoadBalancers.ElasticLoadBalancerId.N", "ElasticLoadBalancers.ElasticLoadBalancerName.N",
			"ElasticLoadBalancers.ElasticLoadBalancerPort.N", "ElasticLoadBalancers.InstancePort.N", "ElasticLoadBalancers.Protocol.N"}, filter...),
		"NiftyRegisterPortWithElasticLoadBalancer": append([]string{"ElasticLoadBalancerId", "ElasticLoadBalancerName"}, elbListeners...),
		"NiftyConfigureElasticLoadBalancerHealthCheck": append([]string{"HealthCheck.Expectation.member.N.HttpCode", "HealthCheck.Interval",
			"HealthCheck.Path", "HealthCheck.Target", "HealthCheck.UnhealthyThreshold"}, elbListener...),
		"NiftyRegisterInstancesWithElasticLoadBalancer":   elbInstances,
		"NiftyDeregisterInstancesFromElasticLoadBalancer": elbInstances,
		"NiftyDeleteElasticLoadBalancer":                  elbListener,
		"NiftyUpdateElasticLoadBalancer": {"AccountingTypeUpdate", "ElasticLoadBalancerId", "ElasticLoadBalancerName",
			"ElasticLoadBalancerNameUpdate", "NetworkVolumeUpdate"},
		"NiftyModifyElasticLoadBalancerAttributes": append([]string{"LoadBalancerAttributes.AdditionalAttributes.member.N.Key",
			"LoadBalancerAttributes.AdditionalAttributes.member.N.Value", "LoadBalancerAttributes.Session.StickinessPolicy.Enable",
			"LoadBalancerAttributes.Session.StickinessPolicy.ExpirationPeriod", "LoadBalancerAttributes.Session.StickinessPolicy.Method",
			"LoadBalancerAttributes.SorryPage.Enable", "LoadBalancerAttributes.SorryPage.RedirectUrl"}, elbListener...),

		"DescribeSecurityGroups":        append([]string{"GroupName.N"}, filter...),
		"AuthorizeSecurityGroupIngress": append([]string{"IpPermissions.N.Description"}, ipPerms...),
		// docs.nifcloud.com/cp/api/RevokeSecurityGroupIngress.htm marks UserId
		// and IpPermissions.n.Groups.m.UserId not specifiable.
		"RevokeSecurityGroupIngress": except(ipPerms, "UserId", "IpPermissions.N.Groups.N.UserId"),

		"NiftyDescribePrivateLans": append([]string{"NetworkId.N", "PrivateLanName.N"}, filter...),
	}
}

// ParamPatterns returns a copy of the allow-list for action (for the
// conformance test), sorted; nil for an unknown action.
func ParamPatterns(action string) []string {
	p := paramPatterns()[action]
	if p == nil {
		return nil
	}
	out := append([]string(nil), p...)
	sort.Strings(out)
	return out
}

var indexPattern = regexp.MustCompile(`\.[0-9]+(\.|$)`)

// normaliseKey writes every list index of a form key as N.
func normaliseKey(k string) string {
	for {
		n := indexPattern.ReplaceAllString(k, ".N$1")
		if n == k {
			return n
		}
		k = n
	}
}

func envelopeKey(k string) bool {
	switch k {
	case "Action", "Version", "AccessKeyId", "SignatureVersion", "SignatureMethod", "Timestamp", "Signature":
		return true
	}
	return false
}

// checkParams answers the unknown-parameter error for the first (sorted)
// key the action does not define.
func checkParams(allowed map[string]bool, p params) *apiError {
	keys := make([]string, 0, len(p.Values))
	for k := range p.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if envelopeKey(k) || allowed[normaliseKey(k)] {
			continue
		}
		return clientErr(CodeUnknownParameter, "The parameter %s is not recognized for this action.", strings.TrimSpace(k))
	}
	return nil
}

// except returns keys minus drop, in order.
func except(keys []string, drop ...string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if !slices.Contains(drop, k) {
			out = append(out, k)
		}
	}
	return out
}
