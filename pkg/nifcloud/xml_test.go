package nifcloud

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

const describeInstancesXML = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><DescribeInstancesResponse xmlns="https://computing.api.nifcloud.com/api/"><requestId>ae0e4827-557c-4527-93da-6723b97c2e4c</requestId><reservationSet><item><reservationId></reservationId><ownerId></ownerId><groupSet><item><groupId>testgroup</groupId></item></groupSet><instancesSet><item><instanceId>testinstance</instanceId><instanceUniqueId>i-abcd1234</instanceUniqueId><imageId>283</imageId><instanceState><code>16</code><name>running</name></instanceState><privateDnsName>192.168.0.100</privateDnsName><dnsName>203.0.113.1</dnsName><instanceType>h2-large16</instanceType><placement><availabilityZone>east-11</availabilityZone></placement><privateIpAddress>192.168.0.100</privateIpAddress><ipAddress>203.0.113.1</ipAddress><blockDeviceMapping/><accountingType>1</accountingType><ipType>static</ipType><networkInterfaceSet><item><niftyNetworkId>net-COMMON_GLOBAL</niftyNetworkId><status>in-use</status><macAddress>e8:17:fc:1f:95:c4</macAddress><association><publicIp>203.0.113.1</publicIp></association></item><item><niftyNetworkId>net-COMMON_PRIVATE</niftyNetworkId><privateIpAddress>192.168.0.100</privateIpAddress></item></networkInterfaceSet></item></instancesSet></item><item><instancesSet><item><instanceId>stopped1</instanceId><instanceUniqueId>i-efgh5678</instanceUniqueId><instanceState><code>80</code><name>stopped</name></instanceState><placement><availabilityZone>east-12</availabilityZone></placement></item></instancesSet></item></reservationSet></DescribeInstancesResponse>`

const describeLoadBalancersXML = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><DescribeLoadBalancersResponse xmlns="https://computing.api.nifcloud.com/api/"><DescribeLoadBalancersResult><LoadBalancerDescriptions><member><LoadBalancerName>testl4lb</LoadBalancerName><DNSName>203.0.113.5</DNSName><NetworkVolume>100</NetworkVolume><PolicyType>standard</PolicyType><ListenerDescriptions><member><Listener><Protocol>HTTP</Protocol><LoadBalancerPort>80</LoadBalancerPort><InstancePort>30000</InstancePort><BalancingType>1</BalancingType></Listener></member></ListenerDescriptions><AvailabilityZones><member>east-11</member></AvailabilityZones><Instances><member><InstanceId>testinstance</InstanceId><InstanceUniqueId>i-abcd1234</InstanceUniqueId></member></Instances><HealthCheck><Target>TCP:30000</Target><Interval>10</Interval><Timeout>11</Timeout><UnhealthyThreshold>1</UnhealthyThreshold><HealthyThreshold>1</HealthyThreshold><InstanceStates><member><InstanceId>testinstance</InstanceId><InstanceUniqueId>i-abcd1234</InstanceUniqueId><State>OutOfService</State></member></InstanceStates></HealthCheck><Filter><FilterType>1</FilterType><IPAddresses><member><IPAddress>203.0.113.6</IPAddress></member><member><IPAddress>203.0.113.7</IPAddress></member></IPAddresses></Filter><AccountingType>1</AccountingType></member><member><LoadBalancerName>testl4lb</LoadBalancerName><DNSName>203.0.113.5</DNSName><ListenerDescriptions><member><Listener><Protocol>HTTPS</Protocol><LoadBalancerPort>443</LoadBalancerPort><InstancePort>30001</InstancePort><BalancingType>2</BalancingType></Listener></member></ListenerDescriptions><Instances/><HealthCheck><Target>TCP:30001</Target><InstanceStates/></HealthCheck><Filter><FilterType>1</FilterType><IPAddresses><member><IPAddress>*.*.*.*</IPAddress></member></IPAddresses></Filter></member></LoadBalancerDescriptions></DescribeLoadBalancersResult><ResponseMetadata><RequestId>d4674d58-8a8e-49d2-ba4e-462523af3d79</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>`

const describeELBXML = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><NiftyDescribeElasticLoadBalancersResponse xmlns="https://computing.api.nifcloud.com/api/"><NiftyDescribeElasticLoadBalancersResult><ElasticLoadBalancerDescriptions><member><ElasticLoadBalancerId>elb-0r16fxlm</ElasticLoadBalancerId><ElasticLoadBalancerName>testelb</ElasticLoadBalancerName><DNSName>203.0.113.5</DNSName><NetworkVolume>100</NetworkVolume><State>available</State><AccountingType>1</AccountingType><ElasticLoadBalancerListenerDescriptions><member><Listener><Protocol>TCP</Protocol><ElasticLoadBalancerPort>80</ElasticLoadBalancerPort><InstancePort>30000</InstancePort><BalancingType>1</BalancingType><Description><![CDATA[]]></Description><Instances><member><InstanceUniqueId>i-abcd1234</InstanceUniqueId><InstanceId>testinstance</InstanceId></member></Instances><HealthCheck><Target>TCP:30000</Target><Interval>10</Interval><UnhealthyThreshold>1</UnhealthyThreshold><InstanceStates><member><InstanceUniqueId>i-abcd1234</InstanceUniqueId><InstanceId>testinstance</InstanceId><State></State></member></InstanceStates></HealthCheck></Listener></member><member><Listener><Protocol>TCP</Protocol><ElasticLoadBalancerPort>443</ElasticLoadBalancerPort><InstancePort>30001</InstancePort><BalancingType>1</BalancingType><Instances/><HealthCheck><Target>TCP:30001</Target><InstanceStates/></HealthCheck></Listener></member></ElasticLoadBalancerListenerDescriptions><AvailabilityZones><member>east-11</member></AvailabilityZones><NetworkInterfaces><member><NetworkId>net-xxxx1111</NetworkId><NetworkName>testlan</NetworkName><DeviceIndex>1</DeviceIndex><IpAddress>172.16.0.1</IpAddress><IsVipNetwork>false</IsVipNetwork><SystemIpAddresses><member><SystemIpAddress>172.16.0.2</SystemIpAddress></member><member><SystemIpAddress>172.16.0.3</SystemIpAddress></member></SystemIpAddresses></member><member><NetworkId>net-COMMON_GLOBAL</NetworkId><DeviceIndex>2</DeviceIndex><IpAddress>203.0.113.5</IpAddress><IsVipNetwork>true</IsVipNetwork></member></NetworkInterfaces></member></ElasticLoadBalancerDescriptions></NiftyDescribeElasticLoadBalancersResult><ResponseMetadata><RequestId>9186da22-aa73-455b-8a65-c1b9fde24d77</RequestId></ResponseMetadata></NiftyDescribeElasticLoadBalancersResponse>`

const describeSecurityGroupsXML = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><DescribeSecurityGroupsResponse xmlns="https://computing.api.nifcloud.com/api/"><requestId>949401c4</requestId><securityGroupInfo><item><ownerId></ownerId><groupName>testgroup</groupName><groupDescription></groupDescription><groupStatus>applied</groupStatus><ipPermissions><item><ipProtocol>TCP</ipProtocol><fromPort>30000</fromPort><toPort>31000</toPort><inOut>IN</inOut><ipRanges><item><cidrIp>192.168.0.0/16</cidrIp></item></ipRanges><description></description></item><item><ipProtocol>ICMP</ipProtocol><inOut>IN</inOut><groups><item><userId></userId><groupName>testgroup3</groupName></item></groups></item></ipPermissions><instancesSet><item><instanceId>testinstance</instanceId></item><item><instanceId>testinstance2</instanceId></item></instancesSet><instanceUniqueIdsSet><item><instanceUniqueId>i-abcd1234</instanceUniqueId></item></instanceUniqueIdsSet><availabilityZone>east-11</availabilityZone></item></securityGroupInfo></DescribeSecurityGroupsResponse>`

const describeVolumesXML = `<DescribeVolumesResponse xmlns="https://computing.api.nifcloud.com/api/"><requestId>r-vol</requestId><volumeSet><item><volumeId>pvc1</volumeId><volumeUniqueId>v-abcd1234</volumeUniqueId><size>100</size><diskType>Standard Flash Storage A</diskType><availabilityZone>east-11</availabilityZone><status>in-use</status><createTime>2024-06-13T14:02:53.000+09:00</createTime><description>pvc-0123</description><accountingType>2</accountingType><attachmentSet><item><volumeId>pvc1</volumeId><instanceId>testinstance</instanceId><instanceUniqueId>i-abcd1234</instanceUniqueId><device>SCSI (0:1)</device><status>attached</status><attachTime>2024-06-13T14:03:00.000+09:00</attachTime></item></attachmentSet></item></volumeSet></DescribeVolumesResponse>`

const describeAttrXML = `<DescribeInstanceAttributeResponse xmlns="https://computing.api.nifcloud.com/api/"><requestId>r-attr</requestId><instanceId>testinstance</instanceId><instanceUniqueId>i-abcd1234</instanceUniqueId><blockDeviceMapping><item><deviceName>SCSI (0:0)</deviceName><ebs><volumeId>testinstance</volumeId><volumeUniqueId>v-root</volumeUniqueId><status>attached</status></ebs></item><item><deviceName>SCSI (0:1)</deviceName><ebs><volumeId>pvc1</volumeId><volumeUniqueId>v-abcd1234</volumeUniqueId><status>attached</status><attachTime>2024-06-13T14:03:00.000+09:00</attachTime></ebs></item></blockDeviceMapping></DescribeInstanceAttributeResponse>`

const errorXML = `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>Client.InvalidParameterNotFound.Instance</Code><Message>The instance ID 'noinstance' does not exist.</Message></Error></Errors><RequestID>5ce3c0c0-8a8e-49d2</RequestID></Response>`

func TestDecodeEC2Style(t *testing.T) {
	var out DescribeInstancesOutput
	if err := decodeResponse("DescribeInstances", 200, []byte(describeInstancesXML), &out); err != nil {
		t.Fatal(err)
	}
	if out.RequestID != "ae0e4827-557c-4527-93da-6723b97c2e4c" {
		t.Errorf("RequestID = %q", out.RequestID)
	}
	insts := out.Instances()
	if len(insts) != 2 {
		t.Fatalf("got %d instances, want 2", len(insts))
	}
	in := insts[0]
	if in.InstanceID != "testinstance" || in.InstanceUniqueID != "i-abcd1234" || in.InstanceType != "h2-large16" ||
		in.IPAddress != "203.0.113.1" || in.PrivateIPAddress != "192.168.0.100" || in.Placement.AvailabilityZone != "east-11" ||
		in.State.Name != InstanceStateRunning || in.State.Code != 16 || in.AccountingType != "1" || in.IPType != "static" {
		t.Errorf("instance = %+v", in)
	}
	if len(in.NetworkInterfaces) != 2 || in.NetworkInterfaces[0].NetworkID != NetworkCommonGlobal ||
		in.NetworkInterfaces[0].PublicIP != "203.0.113.1" || in.NetworkInterfaces[1].PrivateIPAddress != "192.168.0.100" {
		t.Errorf("network interfaces = %+v", in.NetworkInterfaces)
	}
	if insts[1].State.Name != InstanceStateStopped || insts[1].Placement.AvailabilityZone != "east-12" {
		t.Errorf("second instance = %+v", insts[1])
	}

	var vols DescribeVolumesOutput
	if err := decodeResponse("DescribeVolumes", 200, []byte(describeVolumesXML), &vols); err != nil {
		t.Fatal(err)
	}
	if len(vols.Volumes) != 1 || vols.Volumes[0].Size != 100 || vols.Volumes[0].Status != VolumeStatusInUse ||
		len(vols.Volumes[0].Attachments) != 1 || vols.Volumes[0].Attachments[0].Device != "SCSI (0:1)" ||
		vols.Volumes[0].Attachments[0].InstanceUniqueID != "i-abcd1234" || vols.RequestID != "r-vol" {
		t.Errorf("volumes = %+v", vols)
	}

	var attr DescribeInstanceAttributeOutput
	if err := decodeResponse("DescribeInstanceAttribute", 200, []byte(describeAttrXML), &attr); err != nil {
		t.Fatal(err)
	}
	if attr.InstanceUniqueID != "i-abcd1234" || len(attr.BlockDeviceMappings) != 2 ||
		attr.BlockDeviceMappings[1].DeviceName != "SCSI (0:1)" || attr.BlockDeviceMappings[1].EBS.VolumeUniqueID != "v-abcd1234" {
		t.Errorf("attribute = %+v", attr)
	}

	var sgs DescribeSecurityGroupsOutput
	if err := decodeResponse("DescribeSecurityGroups", 200, []byte(describeSecurityGroupsXML), &sgs); err != nil {
		t.Fatal(err)
	}
	if len(sgs.SecurityGroups) != 1 {
		t.Fatalf("groups = %+v", sgs)
	}
	g := sgs.SecurityGroups[0]
	if g.GroupStatus != SecurityGroupApplied || len(g.IPPermissions) != 2 || g.IPPermissions[0].ToPort != 31000 ||
		g.IPPermissions[0].CIDRs[0] != "192.168.0.0/16" || g.IPPermissions[1].GroupNames[0] != "testgroup3" ||
		len(g.InstanceIDs) != 2 || g.InstanceIDs[1] != "testinstance2" || g.InstanceUniqueIDs[0] != "i-abcd1234" {
		t.Errorf("group = %+v", g)
	}

	var ret ReturnOutput
	if err := decodeResponse("DeleteVolume", 200, []byte(`<DeleteVolumeResponse><requestId>x</requestId><return>true</return></DeleteVolumeResponse>`), &ret); err != nil || !ret.Return {
		t.Errorf("return = %+v, %v", ret, err)
	}
}

func TestDecodeELBStyle(t *testing.T) {
	var out DescribeLoadBalancersOutput
	if err := decodeResponse("DescribeLoadBalancers", 200, []byte(describeLoadBalancersXML), &out); err != nil {
		t.Fatal(err)
	}
	if out.RequestID != "d4674d58-8a8e-49d2-ba4e-462523af3d79" || len(out.LoadBalancers) != 2 {
		t.Fatalf("out = %+v", out)
	}
	a, b := out.LoadBalancers[0], out.LoadBalancers[1]
	if a.LoadBalancerName != "testl4lb" || a.DNSName != "203.0.113.5" || a.NetworkVolume != 100 || a.PolicyType != "standard" ||
		a.Listener() != (Listener{Protocol: "HTTP", LoadBalancerPort: 80, InstancePort: 30000, BalancingType: 1}) ||
		len(a.Instances) != 1 || a.Instances[0].InstanceUniqueID != "i-abcd1234" ||
		a.HealthCheck.Target != "TCP:30000" || a.HealthCheck.Interval != 10 || a.HealthCheck.UnhealthyThreshold != 1 ||
		a.HealthCheck.InstanceStates[0].State != "OutOfService" ||
		a.Filter.FilterType != FilterTypeAllow || len(a.Filter.IPAddresses) != 2 || a.Filter.IPAddresses[1] != "203.0.113.7" ||
		a.AvailabilityZones[0] != "east-11" {
		t.Errorf("first = %+v", a)
	}
	if b.Listener().LoadBalancerPort != 443 || b.Listener().BalancingType != 2 || len(b.Instances) != 0 || b.Filter.IPAddresses[0] != FilterAnyAddress {
		t.Errorf("second = %+v", b)
	}

	var elb DescribeElasticLoadBalancersOutput
	if err := decodeResponse("NiftyDescribeElasticLoadBalancers", 200, []byte(describeELBXML), &elb); err != nil {
		t.Fatal(err)
	}
	if len(elb.ElasticLoadBalancers) != 1 || elb.RequestID != "9186da22-aa73-455b-8a65-c1b9fde24d77" {
		t.Fatalf("elb = %+v", elb)
	}
	e := elb.ElasticLoadBalancers[0]
	if e.ElasticLoadBalancerID != "elb-0r16fxlm" || e.State != ELBStateAvailable || e.NetworkVolume != "100" || len(e.Listeners) != 2 ||
		e.Listeners[0].ElasticLoadBalancerPort != 80 || e.Listeners[0].Instances[0].InstanceID != "testinstance" ||
		e.Listeners[0].HealthCheck.Target != "TCP:30000" || e.Listeners[1].InstancePort != 30001 ||
		len(e.NetworkInterfaces) != 2 || e.NetworkInterfaces[0].SystemIPAddresses[1] != "172.16.0.3" ||
		!e.NetworkInterfaces[1].IsVipNetwork || e.NetworkInterfaces[0].IsVipNetwork {
		t.Errorf("elb = %+v", e)
	}

	var created CreateLoadBalancerOutput
	body := `<CreateLoadBalancerResponse xmlns="https://computing.api.nifcloud.com/api/"><CreateLoadBalancerResult><DNSName>203.0.113.9</DNSName></CreateLoadBalancerResult><ResponseMetadata><RequestId>rq</RequestId></ResponseMetadata></CreateLoadBalancerResponse>`
	if err := decodeResponse("CreateLoadBalancer", 200, []byte(body), &created); err != nil || created.DNSName != "203.0.113.9" || created.RequestID != "rq" {
		t.Errorf("created = %+v, %v", created, err)
	}
	var empty ELBOutput
	body = `<DeleteLoadBalancerResponse><DeleteLoadBalancerResult/><ResponseMetadata><RequestId>rq2</RequestId></ResponseMetadata></DeleteLoadBalancerResponse>`
	if err := decodeResponse("DeleteLoadBalancer", 200, []byte(body), &empty); err != nil || empty.RequestID != "rq2" {
		t.Errorf("empty = %+v, %v", empty, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	err := decodeResponse("DescribeInstances", 400, []byte(errorXML), &DescribeInstancesOutput{})
	apiErr, ok := AsAPIError(err)
	if !ok {
		t.Fatalf("err = %T %v, want *APIError", err, err)
	}
	if apiErr.Code != CodeInstanceNotFound || apiErr.RequestID != "5ce3c0c0-8a8e-49d2" || apiErr.HTTPStatus != 400 ||
		apiErr.Action != "DescribeInstances" || !strings.Contains(apiErr.Message, "noinstance") {
		t.Errorf("apiErr = %+v", apiErr)
	}
	if !IsNotFound(err) || IsDuplicate(err) || IsRetryable(err) || IsThrottling(err) || !IsCode(err, CodeInstanceNotFound) {
		t.Errorf("helpers wrong for %v", err)
	}
	want := "nifcloud: DescribeInstances: Client.InvalidParameterNotFound.Instance: The instance ID 'noinstance' does not exist. (HTTP 400, request id 5ce3c0c0-8a8e-49d2)"
	if err.Error() != want {
		t.Errorf("Error() = %q\nwant %q", err.Error(), want)
	}

	// The reference tests answer every error with 500: a Client.* code
	// stays non-retryable whatever the status.
	err = decodeResponse("CreateLoadBalancer", 500, []byte(strings.Replace(errorXML, CodeInstanceNotFound, CodeLoadBalancerDuplicate, 1)), nil)
	if !IsDuplicate(err) || IsRetryable(err) || IsNotFound(err) {
		t.Errorf("duplicate: %v", err)
	}
	// An error envelope with a 200 status is still an error.
	err = decodeResponse("DescribeInstances", 200, []byte(errorXML), &DescribeInstancesOutput{})
	if !IsNotFound(err) {
		t.Errorf("envelope at 200: %v", err)
	}
	// An unknown access key is not a "resource not found".
	ak := strings.Replace(errorXML, CodeInstanceNotFound, "Client.InvalidParameterNotFound.AccessKeyId", 1)
	if err := decodeResponse("DeleteVolume", http.StatusUnauthorized, []byte(ak), nil); IsNotFound(err) || IsRetryable(err) {
		t.Errorf("auth failure classified as NotFound/retryable: %v", err)
	}
	// Unparseable bodies keep the status.
	for _, body := range []string{"", "<html><body>Bad Gateway</body></html>", "\x00\x01garbage", "<Response><Errors>"} {
		err = decodeResponse("DescribeVolumes", http.StatusBadGateway, []byte(body), nil)
		apiErr, ok := AsAPIError(err)
		if !ok || apiErr.HTTPStatus != http.StatusBadGateway || apiErr.Code != "" || !IsRetryable(err) {
			t.Errorf("body %q: %+v", body, err)
		}
		if apiErr.MetricCode() != "http_502" {
			t.Errorf("MetricCode = %q", apiErr.MetricCode())
		}
	}
	// Throttling by code and by status.
	thr := strings.Replace(errorXML, CodeInstanceNotFound, "Server.RequestLimitExceeded", 1)
	if err := decodeResponse("DescribeVolumes", 400, []byte(thr), nil); !IsThrottling(err) || !IsRetryable(err) {
		t.Errorf("throttling code: %v", err)
	}
	if err := decodeResponse("DescribeVolumes", 429, nil, nil); !IsThrottling(err) || !IsRetryable(err) {
		t.Errorf("429: %v", err)
	}
	srv := strings.Replace(errorXML, CodeInstanceNotFound, CodeVolumeAlreadyAttached, 1)
	if err := decodeResponse("AttachVolume", 500, []byte(srv), nil); IsRetryable(err) {
		t.Errorf("Server.Inoperable must not be retryable: %v", err)
	}
	if err := decodeResponse("X", 500, []byte(strings.Replace(errorXML, CodeInstanceNotFound, "Server.InternalError", 1)), nil); !IsRetryable(err) {
		t.Errorf("Server.InternalError must be retryable: %v", err)
	}

	// Wrong or malformed 2xx bodies are decode errors, not API errors.
	for _, body := range []string{"", "<DescribeVolumesResponse>", "<OtherResponse/>", "not xml"} {
		err := decodeResponse("DescribeInstances", 200, []byte(body), &DescribeInstancesOutput{})
		if err == nil || !errors.Is(err, ErrUnexpectedResponse) {
			t.Errorf("body %q: err = %v", body, err)
		}
	}
}

func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{describeInstancesXML, describeLoadBalancersXML, describeELBXML, describeSecurityGroupsXML,
		describeVolumesXML, describeAttrXML, errorXML, "", "<", "<Response><Errors><Error><Code>", "\xff\xfe<a>"} {
		f.Add([]byte(s), 200)
		f.Add([]byte(s), 500)
	}
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		outs := map[string]any{
			"DescribeInstances":                 &DescribeInstancesOutput{},
			"DescribeInstanceAttribute":         &DescribeInstanceAttributeOutput{},
			"DescribeVolumes":                   &DescribeVolumesOutput{},
			"DescribeLoadBalancers":             &DescribeLoadBalancersOutput{},
			"NiftyDescribeElasticLoadBalancers": &DescribeElasticLoadBalancersOutput{},
			"DescribeSecurityGroups":            &DescribeSecurityGroupsOutput{},
			"DeleteVolume":                      &ReturnOutput{},
		}
		for action, out := range outs {
			err := decodeResponse(action, status, body, out)
			if (status < 200 || status > 299) && err == nil {
				t.Fatalf("%s: status %d decoded without error", action, status)
			}
			if apiErr, ok := AsAPIError(err); ok {
				_ = apiErr.Error()
				if apiErr.HTTPStatus != status {
					t.Fatalf("HTTPStatus = %d, want %d", apiErr.HTTPStatus, status)
				}
			}
		}
	})
}
