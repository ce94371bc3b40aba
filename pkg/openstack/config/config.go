// Package config parses the OpenStack cloud.conf INI file in the format used
// by the upstream openstack-cloud-controller-manager (OCCM) and
// cinder-csi-plugin, so that users can reuse their existing files.
//
// The parser is self-contained (no gcfg dependency) but follows gcfg's
// syntax: case-insensitive section and key names, `[Section "name"]`
// subsections, '#'/';' comments, quoted values, repeated keys for
// multi-valued settings, and a bare key meaning boolean true.
//
// Every error names the file, the line, the section and the key, e.g.
//
//	cloud.conf:12: [LoadBalancer] monitor-delay: invalid duration "5x"
package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"time"
)

// Secret is a string that never prints: fmt, JSON, slog and logr (klog)
// all render it as "<redacted>" (or "" when empty). Use Reveal to obtain the
// value.
type Secret string

const redacted = "<redacted>"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) mask() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.mask() }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.mask()) }

// MarshalText renders the redacted form (also used by encoding/json).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.mask()) }

// MarshalLog implements logr.Marshaler (klog structured logging).
func (s Secret) MarshalLog() any { return s.mask() }

// Endpoint interfaces accepted by os-endpoint-type.
const (
	EndpointPublic   = "public"
	EndpointInternal = "internal"
	EndpointAdmin    = "admin"
)

// Metadata search-order items.
const (
	SearchConfigDrive     = "configDrive"
	SearchMetadataService = "metadataService"
)

// Load-balancer algorithms accepted by lb-method.
var LBMethods = []string{"ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"}

// Global is the [Global] section: Keystone credentials and TLS settings.
type Global struct {
	AuthURL                     string `json:"auth-url,omitempty"`
	Username                    string `json:"username,omitempty"`
	UserID                      string `json:"user-id,omitempty"`
	Password                    Secret `json:"password,omitempty"`
	ProjectID                   string `json:"project-id,omitempty"`   // tenant-id
	ProjectName                 string `json:"project-name,omitempty"` // tenant-name
	DomainID                    string `json:"domain-id,omitempty"`
	DomainName                  string `json:"domain-name,omitempty"`
	ProjectDomainID             string `json:"project-domain-id,omitempty"`   // tenant-domain-id
	ProjectDomainName           string `json:"project-domain-name,omitempty"` // tenant-domain-name
	UserDomainID                string `json:"user-domain-id,omitempty"`
	UserDomainName              string `json:"user-domain-name,omitempty"`
	Region                      string `json:"region,omitempty"`
	ApplicationCredentialID     string `json:"application-credential-id,omitempty"`
	ApplicationCredentialName   string `json:"application-credential-name,omitempty"`
	ApplicationCredentialSecret Secret `json:"application-credential-secret,omitempty"`
	CAFile                      string `json:"ca-file,omitempty"`
	CertFile                    string `json:"cert-file,omitempty"`
	KeyFile                     string `json:"key-file,omitempty"`
	TLSInsecure                 bool   `json:"tls-insecure,omitempty"`
	// EndpointType is the catalog interface: public (default), internal or admin.
	EndpointType    string `json:"os-endpoint-type,omitempty"`
	Token           Secret `json:"token,omitempty"`
	TrustID         string `json:"trust-id,omitempty"`
	TrusteeID       string `json:"trustee-id,omitempty"`
	TrusteePassword Secret `json:"trustee-password,omitempty"`
	UseClouds       bool   `json:"use-clouds,omitempty"`
	CloudsFile      string `json:"clouds-file,omitempty"`
	Cloud           string `json:"cloud,omitempty"`

	line int // line of the (first) section header, for validation errors
}

// String renders the section with secrets redacted.
func (g Global) String() string { return toJSON(g) }

// GoString keeps %#v from bypassing the redaction.
func (g Global) GoString() string { return "config.Global" + g.String() }

// MarshalJSON renders the section with secrets and auth-url userinfo
// redacted.
func (g Global) MarshalJSON() ([]byte, error) {
	type plain Global
	p := plain(g)
	p.AuthURL = RedactURL(p.AuthURL)
	return marshalNoEscape(p)
}

// LoadBalancer is the [LoadBalancer] section (Octavia).
type LoadBalancer struct {
	Enabled                        bool              `json:"enabled"`
	LBVersion                      string            `json:"lb-version,omitempty"`
	SubnetID                       string            `json:"subnet-id,omitempty"`
	MemberSubnetID                 string            `json:"member-subnet-id,omitempty"`
	NetworkID                      string            `json:"network-id,omitempty"`
	FloatingNetworkID              string            `json:"floating-network-id,omitempty"`
	FloatingSubnetID               string            `json:"floating-subnet-id,omitempty"`
	FloatingSubnet                 string            `json:"floating-subnet,omitempty"`
	FloatingSubnetTags             string            `json:"floating-subnet-tags,omitempty"`
	LBMethod                       string            `json:"lb-method"`
	LBProvider                     string            `json:"lb-provider"`
	CreateMonitor                  bool              `json:"create-monitor"`
	MonitorDelay                   time.Duration     `json:"monitor-delay"`
	MonitorTimeout                 time.Duration     `json:"monitor-timeout"`
	MonitorMaxRetries              int               `json:"monitor-max-retries"`
	MonitorMaxRetriesDown          int               `json:"monitor-max-retries-down"`
	ManageSecurityGroups           bool              `json:"manage-security-groups"`
	InternalLB                     bool              `json:"internal-lb"`
	NodeSelector                   map[string]string `json:"node-selector,omitempty"`
	CascadeDelete                  bool              `json:"cascade-delete"`
	FlavorID                       string            `json:"flavor-id,omitempty"`
	AvailabilityZone               string            `json:"availability-zone,omitempty"`
	EnableIngressHostname          bool              `json:"enable-ingress-hostname"`
	IngressHostnameSuffix          string            `json:"ingress-hostname-suffix"`
	DefaultTLSContainerRef         string            `json:"default-tls-container-ref,omitempty"`
	ContainerStore                 string            `json:"container-store"`
	MaxSharedLB                    int               `json:"max-shared-lb"`
	ProviderRequiresSerialAPICalls bool              `json:"provider-requires-serial-api-calls"`
}

// LoadBalancerClass is a [LoadBalancerClass "name"] section.
type LoadBalancerClass struct {
	FloatingNetworkID  string `json:"floating-network-id,omitempty"`
	FloatingSubnetID   string `json:"floating-subnet-id,omitempty"`
	FloatingSubnet     string `json:"floating-subnet,omitempty"`
	FloatingSubnetTags string `json:"floating-subnet-tags,omitempty"`
	NetworkID          string `json:"network-id,omitempty"`
	SubnetID           string `json:"subnet-id,omitempty"`
	MemberSubnetID     string `json:"member-subnet-id,omitempty"`
}

// Networking is the [Networking] section (node addresses).
type Networking struct {
	IPv6SupportDisabled bool           `json:"ipv6-support-disabled"`
	PublicNetworkName   []string       `json:"public-network-name,omitempty"`
	InternalNetworkName []string       `json:"internal-network-name,omitempty"`
	AddressSortOrder    []netip.Prefix `json:"address-sort-order,omitempty"`
}

// Route is the [Route] section.
type Route struct {
	RouterID string `json:"router-id,omitempty"`
}

// BlockStorage is the [BlockStorage] section (cinder CSI).
type BlockStorage struct {
	NodeVolumeAttachLimit    int  `json:"node-volume-attach-limit"`
	RescanOnResize           bool `json:"rescan-on-resize"`
	IgnoreVolumeAZ           bool `json:"ignore-volume-az"`
	IgnoreVolumeMicroversion bool `json:"ignore-volume-microversion"`
}

// Metadata is the [Metadata] section (node identity sources).
type Metadata struct {
	SearchOrder    []string      `json:"search-order"`
	RequestTimeout time.Duration `json:"request-timeout"`
}

// Config is a parsed cloud.conf.
type Config struct {
	// Global is the unnamed [Global] section.
	Global Global `json:"global"`
	// Clouds holds named [Global "name"] sections (cinder-csi multi-cloud,
	// selected by a secret's "cloud" key).
	Clouds              map[string]*Global            `json:"clouds,omitempty"`
	LoadBalancer        LoadBalancer                  `json:"loadBalancer"`
	LoadBalancerClasses map[string]*LoadBalancerClass `json:"loadBalancerClasses,omitempty"`
	Networking          Networking                    `json:"networking"`
	Route               Route                         `json:"route"`
	BlockStorage        BlockStorage                  `json:"blockStorage"`
	Metadata            Metadata                      `json:"metadata"`

	// Warnings lists accepted-but-suspicious settings (ignored keys,
	// clamped values); callers should log them.
	Warnings []string `json:"-"`

	hasGlobal bool
	file      string // name of the first parsed file, for validation errors
}

// Default returns a Config holding the OCCM/cinder-csi defaults.
func Default() *Config {
	return &Config{
		Global: Global{EndpointType: EndpointPublic},
		LoadBalancer: LoadBalancer{
			Enabled:               true,
			LBMethod:              "ROUND_ROBIN",
			LBProvider:            "amphora",
			MonitorDelay:          5 * time.Second,
			MonitorTimeout:        3 * time.Second,
			MonitorMaxRetries:     1,
			MonitorMaxRetriesDown: 3,
			CascadeDelete:         true,
			IngressHostnameSuffix: "nip.io",
			ContainerStore:        "barbican",
			MaxSharedLB:           2,
		},
		BlockStorage: BlockStorage{NodeVolumeAttachLimit: 256},
		Metadata: Metadata{
			SearchOrder:    []string{SearchConfigDrive, SearchMetadataService},
			RequestTimeout: 60 * time.Second,
		},
	}
}

// Cloud returns the credentials of the named cloud; "" is the unnamed
// [Global] section.
func (c *Config) Cloud(name string) (*Global, bool) {
	if name == "" {
		if !c.hasGlobal {
			return nil, false
		}
		return &c.Global, true
	}
	g, ok := c.Clouds[name]
	return g, ok
}

// CloudNames lists the named [Global "name"] sections, sorted.
func (c *Config) CloudNames() []string {
	return slices.Sorted(maps.Keys(c.Clouds))
}

// String renders the configuration as JSON with every secret redacted.
func (c *Config) String() string {
	if c == nil {
		return "<nil>"
	}
	return toJSON(c)
}

// GoString keeps %#v from bypassing the redaction.
func (c *Config) GoString() string { return "config.Config" + c.String() }

// LogValue implements slog.LogValuer with secrets redacted.
func (c *Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalLog implements logr.Marshaler (klog) with secrets redacted.
func (c *Config) MarshalLog() any { return c.String() }

func toJSON(v any) string {
	b, err := marshalNoEscape(v)
	if err != nil {
		return fmt.Sprintf("<unprintable config: %v>", err)
	}
	return string(b)
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// MarshalJSON renders durations as Go duration strings.
func (l LoadBalancer) MarshalJSON() ([]byte, error) {
	type plain LoadBalancer
	return marshalNoEscape(struct {
		plain
		MonitorDelay   string `json:"monitor-delay"`
		MonitorTimeout string `json:"monitor-timeout"`
	}{plain(l), l.MonitorDelay.String(), l.MonitorTimeout.String()})
}

// MarshalJSON renders durations as Go duration strings.
func (m Metadata) MarshalJSON() ([]byte, error) {
	type plain Metadata
	return marshalNoEscape(struct {
		plain
		RequestTimeout string `json:"request-timeout"`
	}{plain(m), m.RequestTimeout.String()})
}

// UsesApplicationCredential reports whether g authenticates with an
// application credential.
func (g *Global) UsesApplicationCredential() bool {
	return g.ApplicationCredentialID != "" || g.ApplicationCredentialName != ""
}
