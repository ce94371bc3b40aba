package openstacksim

import "time"

// Transition is a pending state change completed lazily once At passes.
type Transition struct {
	To   string    `json:"to"`
	At   time.Time `json:"at"`
	Size int       `json:"size,omitempty"` // new size of an extend
	// VolumeType is the type a retype ends with ("" = the retype fails).
	VolumeType string `json:"volume_type,omitempty"`
}

// Flavor is a Nova flavor.
type Flavor struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	VCPUs int    `json:"vcpus"`
	RAM   int    `json:"ram"`
	Disk  int    `json:"disk"`
}

// Address is one entry of a server's addresses map.
type Address struct {
	Addr    string `json:"addr"`
	Version int    `json:"version"`
	Type    string `json:"type"` // fixed | floating
}

// Server is a Nova server.
type Server struct {
	ID         string               `json:"id"`
	Name       string               `json:"name"`
	Status     string               `json:"status"`
	AZ         string               `json:"availability_zone"`
	FlavorID   string               `json:"flavor_id"`
	Addresses  map[string][]Address `json:"addresses"`
	AccessIPv4 string               `json:"accessIPv4"`
	AccessIPv6 string               `json:"accessIPv6"`
	Metadata   map[string]string    `json:"metadata"`
	ProjectID  string               `json:"project_id"`
	Created    time.Time            `json:"created"`
	Updated    time.Time            `json:"updated"`
}

// Subnet is a Neutron subnet.
type Subnet struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	CIDR      string   `json:"cidr"`
	IPVersion int      `json:"ip_version"`
	GatewayIP string   `json:"gateway_ip"`
	NetworkID string   `json:"network_id"`
	Tags      []string `json:"tags,omitempty"`
}

// Network is a Neutron network with its subnets.
type Network struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	External bool      `json:"external"`
	Subnets  []Subnet  `json:"subnets"`
	Created  time.Time `json:"created"`
}

// FixedIP is one fixed address of a port.
type FixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

// AddressPair is an allowed address pair of a port.
type AddressPair struct {
	IPAddress  string `json:"ip_address"`
	MACAddress string `json:"mac_address,omitempty"`
}

// Port is a Neutron port.
type Port struct {
	ID                  string        `json:"id"`
	Name                string        `json:"name"`
	Description         string        `json:"description"`
	NetworkID           string        `json:"network_id"`
	DeviceID            string        `json:"device_id"`
	DeviceOwner         string        `json:"device_owner"`
	Status              string        `json:"status"`
	MACAddress          string        `json:"mac_address"`
	FixedIPs            []FixedIP     `json:"fixed_ips"`
	SecurityGroups      []string      `json:"security_groups"`
	AllowedAddressPairs []AddressPair `json:"allowed_address_pairs"`
	Tags                []string      `json:"tags"`
	PortSecurityEnabled bool          `json:"port_security_enabled"`
	ProjectID           string        `json:"project_id"`
	Created             time.Time     `json:"created"`
	Updated             time.Time     `json:"updated"`
}

// FloatingIP is a Neutron floating IP.
type FloatingIP struct {
	ID                string    `json:"id"`
	FloatingNetworkID string    `json:"floating_network_id"`
	FloatingIPAddress string    `json:"floating_ip_address"`
	PortID            string    `json:"port_id"`
	FixedIPAddress    string    `json:"fixed_ip_address"`
	Description       string    `json:"description"`
	RouterID          string    `json:"router_id"`
	ProjectID         string    `json:"project_id"`
	Tags              []string  `json:"tags"`
	Created           time.Time `json:"created"`
	Updated           time.Time `json:"updated"`
}

// SecurityGroup is a Neutron security group (rules are kept separately).
type SecurityGroup struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	ProjectID   string    `json:"project_id"`
	Tags        []string  `json:"tags"`
	Created     time.Time `json:"created"`
}

// SecurityGroupRule is a Neutron security group rule.
type SecurityGroupRule struct {
	ID              string    `json:"id"`
	SecurityGroupID string    `json:"security_group_id"`
	Direction       string    `json:"direction"`
	EtherType       string    `json:"ethertype"`
	Protocol        string    `json:"protocol"`
	PortRangeMin    *int      `json:"port_range_min"`
	PortRangeMax    *int      `json:"port_range_max"`
	RemoteIPPrefix  string    `json:"remote_ip_prefix"`
	RemoteGroupID   string    `json:"remote_group_id"`
	Description     string    `json:"description"`
	ProjectID       string    `json:"project_id"`
	Created         time.Time `json:"created"`
}

// Route is an extra route of a router.
type Route struct {
	Destination string `json:"destination"`
	NextHop     string `json:"nexthop"`
}

// Router is a Neutron router.
type Router struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	ExternalNetworkID string    `json:"external_network_id"`
	Routes            []Route   `json:"routes"`
	ProjectID         string    `json:"project_id"`
	Created           time.Time `json:"created"`
	Updated           time.Time `json:"updated"`
}

// VolumeAttachment is a Cinder attachment of a volume to a server.
type VolumeAttachment struct {
	ID         string    `json:"id"`
	ServerID   string    `json:"server_id"`
	Device     string    `json:"device"`
	AttachedAt time.Time `json:"attached_at"`
}

// Volume is a Cinder volume.
type Volume struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Size        int                `json:"size"`
	Status      string             `json:"status"`
	AZ          string             `json:"availability_zone"`
	VolumeType  string             `json:"volume_type"`
	SnapshotID  string             `json:"snapshot_id"`
	SourceVolID string             `json:"source_volid"`
	BackupID    string             `json:"backup_id,omitempty"`
	Metadata    map[string]string  `json:"metadata"`
	Attachments []VolumeAttachment `json:"attachments"`
	Multiattach bool               `json:"multiattach"`
	ProjectID   string             `json:"project_id"`
	Created     time.Time          `json:"created"`
	Updated     time.Time          `json:"updated"`
	Pending     *Transition        `json:"pending,omitempty"`
	// LocalDevice is the loop device backing the volume while attached to a
	// local server; LocalError the last local-disk failure.
	LocalDevice string `json:"local_device,omitempty"`
	LocalError  string `json:"local_error,omitempty"`
}

// VolumeSnapshot is a Cinder snapshot.
type VolumeSnapshot struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	VolumeID    string            `json:"volume_id"`
	Size        int               `json:"size"`
	Status      string            `json:"status"`
	Metadata    map[string]string `json:"metadata"`
	ProjectID   string            `json:"project_id"`
	Created     time.Time         `json:"created"`
	Updated     time.Time         `json:"updated"`
	Pending     *Transition       `json:"pending,omitempty"`
}

// LoadBalancer is an Octavia load balancer.
type LoadBalancer struct {
	ID                 string      `json:"id"`
	Name               string      `json:"name"`
	Description        string      `json:"description"`
	VipAddress         string      `json:"vip_address"`
	VipPortID          string      `json:"vip_port_id"`
	VipSubnetID        string      `json:"vip_subnet_id"`
	VipNetworkID       string      `json:"vip_network_id"`
	VipPortOwned       bool        `json:"vip_port_owned"` // created by Octavia, deleted with the LB
	Provider           string      `json:"provider"`
	FlavorID           string      `json:"flavor_id"`
	AZ                 string      `json:"availability_zone"`
	Tags               []string    `json:"tags"`
	AdminStateUp       bool        `json:"admin_state_up"`
	ProvisioningStatus string      `json:"provisioning_status"`
	ProjectID          string      `json:"project_id"`
	Created            time.Time   `json:"created"`
	Updated            time.Time   `json:"updated"`
	Pending            *Transition `json:"pending,omitempty"`
}

// Listener is an Octavia listener.
type Listener struct {
	ID                     string            `json:"id"`
	LoadBalancerID         string            `json:"loadbalancer_id"`
	Name                   string            `json:"name"`
	Description            string            `json:"description"`
	Protocol               string            `json:"protocol"`
	ProtocolPort           int               `json:"protocol_port"`
	DefaultPoolID          string            `json:"default_pool_id"`
	ConnLimit              int               `json:"connection_limit"`
	DefaultTLSContainerRef string            `json:"default_tls_container_ref"`
	SniContainerRefs       []string          `json:"sni_container_refs"`
	InsertHeaders          map[string]string `json:"insert_headers"`
	TimeoutClientData      int               `json:"timeout_client_data"`
	TimeoutMemberConnect   int               `json:"timeout_member_connect"`
	TimeoutMemberData      int               `json:"timeout_member_data"`
	TimeoutTCPInspect      int               `json:"timeout_tcp_inspect"`
	AllowedCIDRs           []string          `json:"allowed_cidrs"`
	Tags                   []string          `json:"tags"`
	AdminStateUp           bool              `json:"admin_state_up"`
	Created                time.Time         `json:"created"`
	Updated                time.Time         `json:"updated"`
}

// SessionPersistence of a pool.
type SessionPersistence struct {
	Type       string `json:"type"`
	CookieName string `json:"cookie_name,omitempty"`
}

// Pool is an Octavia pool.
type Pool struct {
	ID                 string              `json:"id"`
	LoadBalancerID     string              `json:"loadbalancer_id"`
	ListenerID         string              `json:"listener_id"`
	Name               string              `json:"name"`
	Description        string              `json:"description"`
	Protocol           string              `json:"protocol"`
	LBMethod           string              `json:"lb_algorithm"`
	SessionPersistence *SessionPersistence `json:"session_persistence"`
	MonitorID          string              `json:"healthmonitor_id"`
	Tags               []string            `json:"tags"`
	AdminStateUp       bool                `json:"admin_state_up"`
	Created            time.Time           `json:"created"`
	Updated            time.Time           `json:"updated"`
}

// Member is an Octavia pool member.
type Member struct {
	ID             string    `json:"id"`
	PoolID         string    `json:"pool_id"`
	Name           string    `json:"name"`
	Address        string    `json:"address"`
	ProtocolPort   int       `json:"protocol_port"`
	SubnetID       string    `json:"subnet_id"`
	Weight         int       `json:"weight"`
	Backup         bool      `json:"backup"`
	MonitorAddress string    `json:"monitor_address"`
	MonitorPort    *int      `json:"monitor_port"`
	Tags           []string  `json:"tags"`
	AdminStateUp   bool      `json:"admin_state_up"`
	Created        time.Time `json:"created"`
	Updated        time.Time `json:"updated"`
}

// HealthMonitor is an Octavia health monitor.
type HealthMonitor struct {
	ID             string    `json:"id"`
	PoolID         string    `json:"pool_id"`
	Name           string    `json:"name"`
	Type           string    `json:"type"`
	Delay          int       `json:"delay"`
	Timeout        int       `json:"timeout"`
	MaxRetries     int       `json:"max_retries"`
	MaxRetriesDown int       `json:"max_retries_down"`
	URLPath        string    `json:"url_path"`
	HTTPMethod     string    `json:"http_method"`
	ExpectedCodes  string    `json:"expected_codes"`
	DomainName     string    `json:"domain_name"`
	Tags           []string  `json:"tags"`
	AdminStateUp   bool      `json:"admin_state_up"`
	Created        time.Time `json:"created"`
	Updated        time.Time `json:"updated"`
}

// Token is an issued Keystone token.
type Token struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	ProjectID string    `json:"project_id"`
	Methods   []string  `json:"methods"`
	AppCredID string    `json:"app_cred_id,omitempty"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// VolumeType is a Cinder volume type (always public in the simulator).
type VolumeType struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	ExtraSpecs  map[string]string `json:"extra_specs"`
}
