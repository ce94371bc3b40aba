package nifcloud

import "context"

// Elastic load balancer ("elb", Nifty* actions). ELB response style; a
// listener is keyed by (ElasticLoadBalancerName, ElasticLoadBalancerPort,
// InstancePort, Protocol). NiftyDescribeElasticLoadBalancers answers one
// description per ELB with all its listeners.

// ELB states and special network ids.
const (
	ELBStateAvailable    = "available"
	NetworkCommonGlobal  = "net-COMMON_GLOBAL"
	NetworkCommonPrivate = "net-COMMON_PRIVATE"
)

// ELBListenerKey identifies one listener of an elastic load balancer.
type ELBListenerKey struct {
	ElasticLoadBalancerName string
	// ElasticLoadBalancerID may be given instead of (or with) the name.
	ElasticLoadBalancerID   string
	ElasticLoadBalancerPort int
	InstancePort            int
	Protocol                string
}

func (k ELBListenerKey) encode(f *Form) {
	f.Str("ElasticLoadBalancerName", k.ElasticLoadBalancerName).
		Str("ElasticLoadBalancerId", k.ElasticLoadBalancerID).
		Int("ElasticLoadBalancerPort", k.ElasticLoadBalancerPort).
		Int("InstancePort", k.InstancePort).
		Str("Protocol", k.Protocol)
}

// ELBListener is a listener as sent (Listeners.member.N.*).
type ELBListener struct {
	Protocol                string
	ElasticLoadBalancerPort int
	InstancePort            int
	BalancingType           int
	Description             string
}

func (l ELBListener) encode(f *Form) {
	f.Str("Protocol", l.Protocol).
		Int("ElasticLoadBalancerPort", l.ElasticLoadBalancerPort).
		Int("InstancePort", l.InstancePort).
		Int("BalancingType", l.BalancingType).
		Str("Description", l.Description)
}

// DescribeElasticLoadBalancersInput selects ELBs; empty lists all. The
// lists are sent as ElasticLoadBalancers.ElasticLoadBalancerName.N,
// ElasticLoadBalancers.ElasticLoadBalancerPort.N, .InstancePort.N and
// .Protocol.N.
type DescribeElasticLoadBalancersInput struct {
	Names         []string
	Ports         []int
	InstancePorts []int
	Protocols     []string
}

// DescribeElasticLoadBalancersOutput is the ELB-style
// NiftyDescribeElasticLoadBalancersResponse.
type DescribeElasticLoadBalancersOutput struct {
	ELBResponse
	ElasticLoadBalancers []ElasticLoadBalancerDescription `xml:"NiftyDescribeElasticLoadBalancersResult>ElasticLoadBalancerDescriptions>member"`
}

// ElasticLoadBalancerDescription is ElasticLoadBalancerDescriptions/member.
type ElasticLoadBalancerDescription struct {
	ElasticLoadBalancerID   string `xml:"ElasticLoadBalancerId"`
	ElasticLoadBalancerName string `xml:"ElasticLoadBalancerName"`
	// DNSName is the VIP.
	DNSName string `xml:"DNSName"`
	// NetworkVolume is a string on the wire ("100").
	NetworkVolume     string                `xml:"NetworkVolume"`
	State             string                `xml:"State"`
	AccountingType    string                `xml:"AccountingType"`
	Listeners         []ELBListenerDesc     `xml:"ElasticLoadBalancerListenerDescriptions>member>Listener"`
	AvailabilityZones []string              `xml:"AvailabilityZones>member"`
	NetworkInterfaces []ELBNetworkInterface `xml:"NetworkInterfaces>member"`
	CreatedTime       string                `xml:"CreatedTime"`
}

// ELBListenerDesc is ElasticLoadBalancerListenerDescriptions/member/Listener.
type ELBListenerDesc struct {
	Protocol                string         `xml:"Protocol"`
	ElasticLoadBalancerPort int            `xml:"ElasticLoadBalancerPort"`
	InstancePort            int            `xml:"InstancePort"`
	BalancingType           int            `xml:"BalancingType"`
	Description             string         `xml:"Description"`
	Instances               []LBInstance   `xml:"Instances>member"`
	HealthCheck             ELBHealthCheck `xml:"HealthCheck"`
}

// ELBHealthCheck is an elastic LB listener's health check. Unlike the L4
// one it has no Timeout or HealthyThreshold, neither as sent
// (RequestHealthCheckOfNiftyConfigureElasticLoadBalancerHealthCheck) nor as
// described (HealthCheckOfNiftyDescribeElasticLoadBalancers).
// docs.nifcloud.com/cp/api/NiftyConfigureElasticLoadBalancerHealthCheck.htm:
// the listener key plus HealthCheck.Target and HealthCheck.Interval, as in
// the model.
type ELBHealthCheck struct {
	Target             string           `xml:"Target"`
	Interval           int              `xml:"Interval"`
	UnhealthyThreshold int              `xml:"UnhealthyThreshold"`
	InstanceStates     []InstanceHealth `xml:"InstanceStates>member"`
}

func (h ELBHealthCheck) encode(f *Form) {
	f.Sub("HealthCheck").Str("Target", h.Target).
		Int("Interval", h.Interval).
		Int("UnhealthyThreshold", h.UnhealthyThreshold)
}

// ELBNetworkInterface is NetworkInterfaces/member, both as described and
// as sent to NiftyCreateElasticLoadBalancer (NetworkInterface.N.*).
type ELBNetworkInterface struct {
	NetworkID         string   `xml:"NetworkId"`
	NetworkName       string   `xml:"NetworkName"`
	DeviceIndex       int      `xml:"DeviceIndex"`
	IPAddress         string   `xml:"IpAddress"`
	IsVipNetwork      bool     `xml:"IsVipNetwork"`
	SystemIPAddresses []string `xml:"SystemIpAddresses>member>SystemIpAddress"`
}

// NiftyDescribeElasticLoadBalancers describes ELBs. An unknown name fails
// with Client.InvalidParameterNotFound.ElasticLoadBalancer.
func (c *Client) NiftyDescribeElasticLoadBalancers(ctx context.Context, in *DescribeElasticLoadBalancersInput) (*DescribeElasticLoadBalancersOutput, error) {
	f := NewForm("NiftyDescribeElasticLoadBalancers")
	if in != nil {
		s := f.Sub("ElasticLoadBalancers")
		s.Strings("ElasticLoadBalancerName", in.Names).
			Ints("ElasticLoadBalancerPort", in.Ports).
			Ints("InstancePort", in.InstancePorts).
			Strings("Protocol", in.Protocols)
	}
	out := &DescribeElasticLoadBalancersOutput{}
	if err := c.call(ctx, f, out); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateElasticLoadBalancerInput creates an ELB.
// docs.nifcloud.com/cp/api/NiftyCreateElasticLoadBalancer.htm: the
// Listeners.member.n.{Protocol,ElasticLoadBalancerPort,InstancePort,
// BalancingType,Description} kumo sends, as in the model.
type CreateElasticLoadBalancerInput struct {
	ElasticLoadBalancerName string
	Listeners               []ELBListener
	AvailabilityZones       []string
	// NetworkInterfaces go to NetworkInterface.N.{NetworkId,IsVipNetwork,
	// IpAddress,SystemIpAddresses.M.SystemIpAddress}.
	NetworkInterfaces []ELBNetworkInterface
	AccountingType    string
	NetworkVolume     int
}

// CreateElasticLoadBalancerOutput carries the VIP, which may be empty
// until the ELB is available (re-describe). The model's
// NiftyCreateElasticLoadBalancerResult has only DNSName; the id comes from
// NiftyDescribeElasticLoadBalancers.
type CreateElasticLoadBalancerOutput struct {
	ELBResponse
	DNSName string `xml:"NiftyCreateElasticLoadBalancerResult>DNSName"`
}

// NiftyCreateElasticLoadBalancer creates an ELB. An existing name fails with
// Client.InvalidParameterDuplicate.ElasticLoadBalancer.
func (c *Client) NiftyCreateElasticLoadBalancer(ctx context.Context, in *CreateElasticLoadBalancerInput) (*CreateElasticLoadBalancerOutput, error) {
	f := NewForm("NiftyCreateElasticLoadBalancer").
		Set("ElasticLoadBalancerName", in.ElasticLoadBalancerName).
		Str("AccountingType", in.AccountingType).
		Int("NetworkVolume", in.NetworkVolume).
		Members("AvailabilityZones", in.AvailabilityZones)
	for i, l := range in.Listeners {
		l.encode(f.Member("Listeners", i))
	}
	for i, ni := range in.NetworkInterfaces {
		s := f.Item("NetworkInterface", i)
		s.Str("NetworkId", ni.NetworkID).
			Bool("IsVipNetwork", ni.IsVipNetwork).
			Str("IpAddress", ni.IPAddress)
		for j, ip := range ni.SystemIPAddresses {
			s.Item("SystemIpAddresses", j).Set("SystemIpAddress", ip)
		}
	}
	out := &CreateElasticLoadBalancerOutput{}
	if err := c.call(ctx, f, out); err != nil {
		return nil, err
	}
	return out, nil
}

// RegisterPortWithElasticLoadBalancerInput adds listeners to an ELB.
type RegisterPortWithElasticLoadBalancerInput struct {
	ElasticLoadBalancerName string
	ElasticLoadBalancerID   string
	Listeners               []ELBListener
}

// NiftyRegisterPortWithElasticLoadBalancer adds listeners. An existing
// (port, protocol) fails with
// Client.InvalidParameterDuplicate.Protocol.and.ElasticLoadBalancerPort.
func (c *Client) NiftyRegisterPortWithElasticLoadBalancer(ctx context.Context, in *RegisterPortWithElasticLoadBalancerInput) (*ELBOutput, error) {
	f := NewForm("NiftyRegisterPortWithElasticLoadBalancer").
		Str("ElasticLoadBalancerName", in.ElasticLoadBalancerName).
		Str("ElasticLoadBalancerId", in.ElasticLoadBalancerID)
	for i, l := range in.Listeners {
		l.encode(f.Member("Listeners", i))
	}
	return c.elbCall(ctx, f)
}

// ConfigureElasticLoadBalancerHealthCheckInput sets a listener's health check.
type ConfigureElasticLoadBalancerHealthCheckInput struct {
	ELBListenerKey
	HealthCheck ELBHealthCheck
}

// NiftyConfigureElasticLoadBalancerHealthCheck sets a listener's health check.
func (c *Client) NiftyConfigureElasticLoadBalancerHealthCheck(ctx context.Context, in *ConfigureElasticLoadBalancerHealthCheckInput) (*ELBOutput, error) {
	f := NewForm("NiftyConfigureElasticLoadBalancerHealthCheck")
	in.encode(f)
	in.HealthCheck.encode(f)
	return c.elbCall(ctx, f)
}

// ElasticLoadBalancerInstancesInput registers or deregisters instances
// (Instances.member.N.InstanceId) with an ELB listener.
type ElasticLoadBalancerInstancesInput struct {
	ELBListenerKey
	InstanceIDs []string
}

func (in *ElasticLoadBalancerInstancesInput) encode(f *Form) {
	in.ELBListenerKey.encode(f)
	for i, id := range in.InstanceIDs {
		f.Member("Instances", i).Set("InstanceId", id)
	}
}

// NiftyRegisterInstancesWithElasticLoadBalancer registers instances.
func (c *Client) NiftyRegisterInstancesWithElasticLoadBalancer(ctx context.Context, in *ElasticLoadBalancerInstancesInput) (*ELBOutput, error) {
	f := NewForm("NiftyRegisterInstancesWithElasticLoadBalancer")
	in.encode(f)
	return c.elbCall(ctx, f)
}

// NiftyDeregisterInstancesFromElasticLoadBalancer deregisters instances.
func (c *Client) NiftyDeregisterInstancesFromElasticLoadBalancer(ctx context.Context, in *ElasticLoadBalancerInstancesInput) (*ELBOutput, error) {
	f := NewForm("NiftyDeregisterInstancesFromElasticLoadBalancer")
	in.encode(f)
	return c.elbCall(ctx, f)
}

// NiftyDeleteElasticLoadBalancer deletes one listener; deleting the last one
// deletes the ELB.
func (c *Client) NiftyDeleteElasticLoadBalancer(ctx context.Context, in *ELBListenerKey) (*ELBOutput, error) {
	f := NewForm("NiftyDeleteElasticLoadBalancer")
	in.encode(f)
	return c.elbCall(ctx, f)
}

// UpdateElasticLoadBalancerInput changes ELB-wide settings. The model's
// NiftyUpdateElasticLoadBalancerRequest has only the name/id and
// ElasticLoadBalancerNameUpdate, NetworkVolumeUpdate and
// AccountingTypeUpdate: listeners cannot be changed with it (see
// NiftyModifyElasticLoadBalancerAttributes).
type UpdateElasticLoadBalancerInput struct {
	ElasticLoadBalancerName       string
	ElasticLoadBalancerID         string
	NetworkVolumeUpdate           int
	AccountingTypeUpdate          string
	ElasticLoadBalancerNameUpdate string
}

// NiftyUpdateElasticLoadBalancer changes an ELB.
func (c *Client) NiftyUpdateElasticLoadBalancer(ctx context.Context, in *UpdateElasticLoadBalancerInput) (*ELBOutput, error) {
	f := NewForm("NiftyUpdateElasticLoadBalancer").
		Str("ElasticLoadBalancerName", in.ElasticLoadBalancerName).
		Str("ElasticLoadBalancerId", in.ElasticLoadBalancerID).
		Int("NetworkVolumeUpdate", in.NetworkVolumeUpdate).
		Str("AccountingTypeUpdate", in.AccountingTypeUpdate).
		Str("ElasticLoadBalancerNameUpdate", in.ElasticLoadBalancerNameUpdate)
	return c.elbCall(ctx, f)
}

// ELB listener attribute keys of NiftyModifyElasticLoadBalancerAttributes
// (model enum KeyOfLoadBalancerAttributesForNiftyModifyElasticLoadBalancerAttributes).
// docs.nifcloud.com/cp/api/NiftyModifyElasticLoadBalancerAttributes.htm is
// not in the public material checked so far; NIFCLOUD's own
// terraform-provider-nifcloud (its ELB resource) sends the same
// LoadBalancerAttributes.AdditionalAttributes keys, through the SDK built
// from the same model, so that is no independent confirmation.
const (
	ELBAttrBalancingType = "balancingType"
	ELBAttrDescription   = "description"
	// ELBAttrElasticLoadBalancerPort and ELBAttrInstancePort move a
	// listener's ports in place.
	ELBAttrElasticLoadBalancerPort = "elasticLoadBalancerPort"
	ELBAttrInstancePort            = "instancePort"
)

// ELBAttribute is one LoadBalancerAttributes.AdditionalAttributes.member.N.
type ELBAttribute struct{ Key, Value string }

// ModifyElasticLoadBalancerAttributesInput changes attributes of one
// listener (model NiftyModifyElasticLoadBalancerAttributesRequest:
// ElasticLoadBalancerPort, InstancePort and Protocol are required).
type ModifyElasticLoadBalancerAttributesInput struct {
	ELBListenerKey
	Attributes []ELBAttribute
}

// NiftyModifyElasticLoadBalancerAttributes changes listener attributes
// such as the balancing type in place.
func (c *Client) NiftyModifyElasticLoadBalancerAttributes(ctx context.Context, in *ModifyElasticLoadBalancerAttributesInput) (*ELBOutput, error) {
	f := NewForm("NiftyModifyElasticLoadBalancerAttributes")
	in.encode(f)
	attrs := f.Sub("LoadBalancerAttributes").Sub("AdditionalAttributes")
	for i, a := range in.Attributes {
		attrs.Item("member", i).Set("Key", a.Key).Set("Value", a.Value)
	}
	return c.elbCall(ctx, f)
}
