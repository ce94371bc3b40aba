package nifcloud

import "context"

// L4 load balancer ("lb") actions. They use the ELB response style and are
// keyed by the triple (LoadBalancerName, LoadBalancerPort, InstancePort):
// each triple is one listener, and DescribeLoadBalancers answers one
// description per listener.

// Filter types of SetFilterForLoadBalancer.
const (
	FilterTypeAllow = "1"
	FilterTypeDeny  = "2"
	// FilterAnyAddress in a described filter means "allow all".
	FilterAnyAddress = "*.*.*.*"
)

// ListenerKey identifies one listener of an L4 load balancer.
type ListenerKey struct {
	LoadBalancerName string
	LoadBalancerPort int
	InstancePort     int
}

func (k ListenerKey) encode(f *Form) {
	f.Set("LoadBalancerName", k.LoadBalancerName).
		IntAlways("LoadBalancerPort", k.LoadBalancerPort).
		IntAlways("InstancePort", k.InstancePort)
}

// Listener is a listener, both as sent (Listeners.member.N.*) and as
// described (ListenerDescriptions/member/Listener).
type Listener struct {
	Protocol         string `xml:"Protocol"`
	LoadBalancerPort int    `xml:"LoadBalancerPort"`
	InstancePort     int    `xml:"InstancePort"`
	// BalancingType: 1 round robin, 2 least connection; 0 omits it.
	BalancingType int `xml:"BalancingType"`
}

func (l Listener) encode(f *Form) {
	f.Str("Protocol", l.Protocol).
		Int("LoadBalancerPort", l.LoadBalancerPort).
		Int("InstancePort", l.InstancePort).
		Int("BalancingType", l.BalancingType)
}

// DescribeLoadBalancersInput selects load balancers; empty lists all.
// docs.nifcloud.com/cp/api/DescribeLoadBalancers.htm documents exactly these
// keys (the model does not; tests/conformance sdkOverride).
type DescribeLoadBalancersInput struct {
	// Names go to LoadBalancerNames.member.N.
	Names []string
	// LoadBalancerPorts and InstancePorts (LoadBalancerNames.LoadBalancerPort.N
	// and LoadBalancerNames.InstancePort.N) narrow to listeners.
	LoadBalancerPorts []int
	InstancePorts     []int
}

// DescribeLoadBalancersOutput is the ELB-style DescribeLoadBalancersResponse.
type DescribeLoadBalancersOutput struct {
	ELBResponse
	// LoadBalancers holds one description per listener: the name repeats.
	LoadBalancers []LoadBalancerDescription `xml:"DescribeLoadBalancersResult>LoadBalancerDescriptions>member"`
}

// LoadBalancerDescription is LoadBalancerDescriptions/member.
type LoadBalancerDescription struct {
	LoadBalancerName string `xml:"LoadBalancerName"`
	// DNSName is the VIP address.
	DNSName           string             `xml:"DNSName"`
	NetworkVolume     int                `xml:"NetworkVolume"`
	PolicyType        string             `xml:"PolicyType"`
	AccountingType    string             `xml:"AccountingType"`
	Listeners         []Listener         `xml:"ListenerDescriptions>member>Listener"`
	Instances         []LBInstance       `xml:"Instances>member"`
	HealthCheck       HealthCheckState   `xml:"HealthCheck"`
	Filter            LoadBalancerFilter `xml:"Filter"`
	AvailabilityZones []string           `xml:"AvailabilityZones>member"`
	CreatedTime       string             `xml:"CreatedTime"`
	Description       string             `xml:"Description"`
}

// Listener returns the (first) listener of a description, which NIFCLOUD
// returns one per description.
func (d LoadBalancerDescription) Listener() Listener {
	if len(d.Listeners) == 0 {
		return Listener{}
	}
	return d.Listeners[0]
}

// LBInstance is an instance registered with a load balancer listener.
type LBInstance struct {
	InstanceID       string `xml:"InstanceId"`
	InstanceUniqueID string `xml:"InstanceUniqueId"`
}

// HealthCheck configures a listener's health check (HealthCheck.*).
type HealthCheck struct {
	// Target is "TCP:<port>" or "ICMP".
	Target             string `xml:"Target"`
	Interval           int    `xml:"Interval"`
	Timeout            int    `xml:"Timeout"`
	UnhealthyThreshold int    `xml:"UnhealthyThreshold"`
	HealthyThreshold   int    `xml:"HealthyThreshold"`
}

func (h HealthCheck) encode(f *Form) {
	s := f.Sub("HealthCheck")
	s.Str("Target", h.Target).
		Int("Interval", h.Interval).
		Int("Timeout", h.Timeout).
		Int("UnhealthyThreshold", h.UnhealthyThreshold).
		Int("HealthyThreshold", h.HealthyThreshold)
}

// HealthCheckState is a described health check with per-instance states.
type HealthCheckState struct {
	HealthCheck
	InstanceStates []InstanceHealth `xml:"InstanceStates>member"`
}

// InstanceHealth is HealthCheck/InstanceStates/member.
type InstanceHealth struct {
	InstanceID       string `xml:"InstanceId"`
	InstanceUniqueID string `xml:"InstanceUniqueId"`
	State            string `xml:"State"`
	ReasonCode       string `xml:"ReasonCode"`
	Description      string `xml:"Description"`
}

// LoadBalancerFilter is a described source filter.
type LoadBalancerFilter struct {
	FilterType  string   `xml:"FilterType"`
	IPAddresses []string `xml:"IPAddresses>member>IPAddress"`
}

// DescribeLoadBalancers describes L4 load balancers. An unknown name fails
// with Client.InvalidParameterNotFound.LoadBalancer.
func (c *Client) DescribeLoadBalancers(ctx context.Context, in *DescribeLoadBalancersInput) (*DescribeLoadBalancersOutput, error) {
	f := NewForm("DescribeLoadBalancers")
	if in != nil {
		f.Members("LoadBalancerNames", in.Names)
		f.Sub("LoadBalancerNames").Ints("LoadBalancerPort", in.LoadBalancerPorts).Ints("InstancePort", in.InstancePorts)
	}
	out := &DescribeLoadBalancersOutput{}
	if err := c.call(ctx, f, out); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateLoadBalancerInput creates an L4 load balancer with its listeners.
type CreateLoadBalancerInput struct {
	LoadBalancerName string
	Listeners        []Listener
	// AccountingType "1"/"2", NetworkVolume in Mbps, PolicyType
	// "standard"/"ats"; zero values are omitted.
	AccountingType    string
	NetworkVolume     int
	PolicyType        string
	AvailabilityZones []string
}

// CreateLoadBalancerOutput carries the VIP.
type CreateLoadBalancerOutput struct {
	ELBResponse
	DNSName string `xml:"CreateLoadBalancerResult>DNSName"`
}

// CreateLoadBalancer creates an L4 load balancer. An existing name fails
// with Client.InvalidParameterDuplicate.LoadBalancer.
func (c *Client) CreateLoadBalancer(ctx context.Context, in *CreateLoadBalancerInput) (*CreateLoadBalancerOutput, error) {
	f := NewForm("CreateLoadBalancer").
		Set("LoadBalancerName", in.LoadBalancerName).
		Str("AccountingType", in.AccountingType).
		Int("NetworkVolume", in.NetworkVolume).
		Str("PolicyType", in.PolicyType).
		Members("AvailabilityZones", in.AvailabilityZones)
	for i, l := range in.Listeners {
		l.encode(f.Member("Listeners", i))
	}
	out := &CreateLoadBalancerOutput{}
	if err := c.call(ctx, f, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ELBOutput is the answer of ELB-style actions whose result the client does
// not need beyond the request id.
type ELBOutput struct {
	ELBResponse
}

// RegisterPortWithLoadBalancerInput adds listeners to a load balancer.
type RegisterPortWithLoadBalancerInput struct {
	LoadBalancerName string
	Listeners        []Listener
}

// RegisterPortWithLoadBalancer adds listeners. An existing triple fails with
// Client.Inoperable.LoadBalancerPort.AlreadyExists.
func (c *Client) RegisterPortWithLoadBalancer(ctx context.Context, in *RegisterPortWithLoadBalancerInput) (*ELBOutput, error) {
	f := NewForm("RegisterPortWithLoadBalancer").Set("LoadBalancerName", in.LoadBalancerName)
	for i, l := range in.Listeners {
		l.encode(f.Member("Listeners", i))
	}
	return c.elbCall(ctx, f)
}

// ConfigureHealthCheckInput sets a listener's health check.
type ConfigureHealthCheckInput struct {
	ListenerKey
	HealthCheck HealthCheck
}

// ConfigureHealthCheck sets the health check of a listener.
func (c *Client) ConfigureHealthCheck(ctx context.Context, in *ConfigureHealthCheckInput) (*ELBOutput, error) {
	f := NewForm("ConfigureHealthCheck")
	in.encode(f)
	in.HealthCheck.encode(f)
	return c.elbCall(ctx, f)
}

// IPAddressFilter is one IPAddresses.member.N entry: AddOnFilter true adds
// the address to the filter, false removes it.
type IPAddressFilter struct {
	IPAddress   string
	AddOnFilter bool
}

// SetFilterForLoadBalancerInput edits a listener's source filter.
type SetFilterForLoadBalancerInput struct {
	ListenerKey
	// FilterType is FilterTypeAllow or FilterTypeDeny; "" leaves it.
	FilterType  string
	IPAddresses []IPAddressFilter
}

// SetFilterForLoadBalancer edits the source filter of a listener.
func (c *Client) SetFilterForLoadBalancer(ctx context.Context, in *SetFilterForLoadBalancerInput) (*ELBOutput, error) {
	f := NewForm("SetFilterForLoadBalancer")
	in.encode(f)
	f.Str("FilterType", in.FilterType)
	for i, ip := range in.IPAddresses {
		f.Member("IPAddresses", i).Set("IPAddress", ip.IPAddress).Bool("AddOnFilter", ip.AddOnFilter)
	}
	return c.elbCall(ctx, f)
}

// LoadBalancerInstancesInput registers or deregisters instances with a
// listener.
type LoadBalancerInstancesInput struct {
	ListenerKey
	// InstanceIDs go to Instances.member.N.InstanceId.
	InstanceIDs []string
}

func (in *LoadBalancerInstancesInput) encode(f *Form) {
	in.ListenerKey.encode(f)
	for i, id := range in.InstanceIDs {
		f.Member("Instances", i).Set("InstanceId", id)
	}
}

// RegisterInstancesWithLoadBalancerOutput lists the instances now
// registered with the listener.
type RegisterInstancesWithLoadBalancerOutput struct {
	ELBResponse
	Instances []LBInstance `xml:"RegisterInstancesWithLoadBalancerResult>Instances>member"`
}

// RegisterInstancesWithLoadBalancer registers instances with a listener.
func (c *Client) RegisterInstancesWithLoadBalancer(ctx context.Context, in *LoadBalancerInstancesInput) (*RegisterInstancesWithLoadBalancerOutput, error) {
	f := NewForm("RegisterInstancesWithLoadBalancer")
	in.encode(f)
	out := &RegisterInstancesWithLoadBalancerOutput{}
	if err := c.call(ctx, f, out); err != nil {
		return nil, err
	}
	return out, nil
}

// DeregisterInstancesFromLoadBalancerOutput lists the instances still
// registered with the listener.
type DeregisterInstancesFromLoadBalancerOutput struct {
	ELBResponse
	Instances []LBInstance `xml:"DeregisterInstancesFromLoadBalancerResult>Instances>member"`
}

// DeregisterInstancesFromLoadBalancer deregisters instances from a listener.
func (c *Client) DeregisterInstancesFromLoadBalancer(ctx context.Context, in *LoadBalancerInstancesInput) (*DeregisterInstancesFromLoadBalancerOutput, error) {
	f := NewForm("DeregisterInstancesFromLoadBalancer")
	in.encode(f)
	out := &DeregisterInstancesFromLoadBalancerOutput{}
	if err := c.call(ctx, f, out); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteLoadBalancer deletes one listener; deleting the last one deletes
// the load balancer.
func (c *Client) DeleteLoadBalancer(ctx context.Context, in *ListenerKey) (*ELBOutput, error) {
	f := NewForm("DeleteLoadBalancer")
	in.encode(f)
	return c.elbCall(ctx, f)
}

// ListenerUpdate changes one listener: LoadBalancerPort and InstancePort
// select it (ListenerUpdate.LoadBalancerPort / .InstancePort) and Listener
// holds the new values (ListenerUpdate.Listener.*; zero fields omitted).
type ListenerUpdate struct {
	LoadBalancerPort int
	InstancePort     int
	Listener         Listener
}

// UpdateLoadBalancerInput changes a load balancer. Field names follow the
// NIFCLOUD UpdateLoadBalancer request: LoadBalancerName, ListenerUpdate.*,
// NetworkVolumeUpdate, AccountingTypeUpdate, LoadBalancerNameUpdate.
type UpdateLoadBalancerInput struct {
	LoadBalancerName       string
	ListenerUpdate         *ListenerUpdate
	NetworkVolumeUpdate    int
	AccountingTypeUpdate   string
	LoadBalancerNameUpdate string
}

// UpdateLoadBalancer changes a load balancer.
func (c *Client) UpdateLoadBalancer(ctx context.Context, in *UpdateLoadBalancerInput) (*ELBOutput, error) {
	f := NewForm("UpdateLoadBalancer").
		Set("LoadBalancerName", in.LoadBalancerName).
		Int("NetworkVolumeUpdate", in.NetworkVolumeUpdate).
		Str("AccountingTypeUpdate", in.AccountingTypeUpdate).
		Str("LoadBalancerNameUpdate", in.LoadBalancerNameUpdate)
	if u := in.ListenerUpdate; u != nil {
		s := f.Sub("ListenerUpdate")
		s.Int("LoadBalancerPort", u.LoadBalancerPort).Int("InstancePort", u.InstancePort)
		u.Listener.encode(s.Sub("Listener"))
	}
	return c.elbCall(ctx, f)
}

func (c *Client) elbCall(ctx context.Context, f *Form) (*ELBOutput, error) {
	out := &ELBOutput{}
	if err := c.call(ctx, f, out); err != nil {
		return nil, err
	}
	return out, nil
}
