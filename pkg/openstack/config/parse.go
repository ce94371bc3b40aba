package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParseError is a syntax or value error at a known place in a file.
type ParseError struct {
	File    string
	Line    int    // 0 when not tied to a line
	Section string // display form, e.g. `LoadBalancerClass "x"`
	Key     string
	Msg     string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Section != "" {
		fmt.Fprintf(&b, "[%s] ", e.Section)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Options tunes parsing.
type Options struct {
	// SkipAuthValidation accepts a file without usable [Global] credentials
	// (e.g. a CSI node plugin that never calls the OpenStack APIs).
	SkipAuthValidation bool
}

// Parse parses and validates one cloud.conf. name is used in error messages.
func Parse(name string, data []byte) (*Config, error) {
	return ParseWithOptions(Options{}, name, data)
}

// ParseWithOptions is Parse with options.
func ParseWithOptions(opts Options, name string, data []byte) (*Config, error) {
	cfg := Default()
	if err := cfg.parseInto(name, data); err != nil {
		return nil, err
	}
	if err := cfg.validate(opts); err != nil {
		return nil, err
	}
	return cfg, nil
}

// LoadFiles reads and merges several cloud.conf files (cinder-csi's
// repeatable --cloud-config): later files override single-valued keys and
// extend multi-valued ones. The result is validated once, at the end.
func LoadFiles(opts Options, paths ...string) (*Config, error) {
	if len(paths) == 0 {
		return nil, errors.New("no cloud config file given")
	}
	cfg := Default()
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading cloud config: %w", err)
		}
		if err := cfg.parseInto(p, data); err != nil {
			return nil, err
		}
	}
	if err := cfg.validate(opts); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Load reads and validates one file.
func Load(path string) (*Config, error) { return LoadFiles(Options{}, path) }

type setter func(c *Config, sub string, v value) error

type value struct {
	s   string
	set bool // false for a bare key
}

type sectionDef struct {
	display string
	sub     int // 0 forbidden, 1 optional, 2 required
	keys    map[string]setter
}

var sections map[string]*sectionDef

func init() {
	g := func(f func(g *Global, v value) error) setter {
		return func(c *Config, sub string, v value) error { return f(c.global(sub), v) }
	}
	gstr := func(f func(g *Global) *string) setter {
		return g(func(gl *Global, v value) error { *f(gl) = v.s; return nil })
	}
	gsec := func(f func(g *Global) *Secret) setter {
		return g(func(gl *Global, v value) error { *f(gl) = Secret(v.s); return nil })
	}
	gbool := func(f func(g *Global) *bool) setter {
		return g(func(gl *Global, v value) error { return parseBool(v, f(gl)) })
	}
	lb := func(f func(l *LoadBalancer, v value) error) setter {
		return func(c *Config, _ string, v value) error { return f(&c.LoadBalancer, v) }
	}
	lbstr := func(f func(l *LoadBalancer) *string) setter {
		return lb(func(l *LoadBalancer, v value) error { *f(l) = v.s; return nil })
	}
	lbbool := func(f func(l *LoadBalancer) *bool) setter {
		return lb(func(l *LoadBalancer, v value) error { return parseBool(v, f(l)) })
	}
	lbdur := func(f func(l *LoadBalancer) *time.Duration) setter {
		return lb(func(l *LoadBalancer, v value) error { return parseDuration(v, f(l), false) })
	}
	lbint := func(lo, hi int, f func(l *LoadBalancer) *int) setter {
		return lb(func(l *LoadBalancer, v value) error { return parseInt(v, f(l), lo, hi) })
	}
	cls := func(f func(l *LoadBalancerClass) *string) setter {
		return func(c *Config, sub string, v value) error {
			if c.LoadBalancerClasses == nil {
				c.LoadBalancerClasses = map[string]*LoadBalancerClass{}
			}
			lc := c.LoadBalancerClasses[sub]
			if lc == nil {
				lc = &LoadBalancerClass{}
				c.LoadBalancerClasses[sub] = lc
			}
			*f(lc) = v.s
			return nil
		}
	}
	multi := func(f func(c *Config) *[]string) setter {
		return func(c *Config, _ string, v value) error {
			p := f(c)
			if v.s == "" { // gcfg: a blank value resets a multi-valued variable
				*p = nil
				return nil
			}
			*p = append(*p, v.s)
			return nil
		}
	}

	sections = map[string]*sectionDef{
		"global": {display: "Global", sub: 1, keys: map[string]setter{
			"auth-url": g(func(gl *Global, v value) error {
				if hasUserinfo(v.s) {
					return errors.New("must not contain user credentials (user:password@); put them in username/password or application-credential-* instead (value not shown)")
				}
				gl.AuthURL = v.s
				return nil
			}),
			"username":                      gstr(func(g *Global) *string { return &g.Username }),
			"user-id":                       gstr(func(g *Global) *string { return &g.UserID }),
			"password":                      gsec(func(g *Global) *Secret { return &g.Password }),
			"tenant-id":                     gstr(func(g *Global) *string { return &g.ProjectID }),
			"project-id":                    gstr(func(g *Global) *string { return &g.ProjectID }),
			"tenant-name":                   gstr(func(g *Global) *string { return &g.ProjectName }),
			"project-name":                  gstr(func(g *Global) *string { return &g.ProjectName }),
			"domain-id":                     gstr(func(g *Global) *string { return &g.DomainID }),
			"domain-name":                   gstr(func(g *Global) *string { return &g.DomainName }),
			"tenant-domain-id":              gstr(func(g *Global) *string { return &g.ProjectDomainID }),
			"project-domain-id":             gstr(func(g *Global) *string { return &g.ProjectDomainID }),
			"tenant-domain-name":            gstr(func(g *Global) *string { return &g.ProjectDomainName }),
			"project-domain-name":           gstr(func(g *Global) *string { return &g.ProjectDomainName }),
			"user-domain-id":                gstr(func(g *Global) *string { return &g.UserDomainID }),
			"user-domain-name":              gstr(func(g *Global) *string { return &g.UserDomainName }),
			"region":                        gstr(func(g *Global) *string { return &g.Region }),
			"application-credential-id":     gstr(func(g *Global) *string { return &g.ApplicationCredentialID }),
			"application-credential-name":   gstr(func(g *Global) *string { return &g.ApplicationCredentialName }),
			"application-credential-secret": gsec(func(g *Global) *Secret { return &g.ApplicationCredentialSecret }),
			"ca-file":                       gstr(func(g *Global) *string { return &g.CAFile }),
			"cert-file":                     gstr(func(g *Global) *string { return &g.CertFile }),
			"key-file":                      gstr(func(g *Global) *string { return &g.KeyFile }),
			"tls-insecure":                  gbool(func(g *Global) *bool { return &g.TLSInsecure }),
			"os-endpoint-type": g(func(gl *Global, v value) error {
				t, err := parseEndpointType(v.s)
				if err != nil {
					return err
				}
				gl.EndpointType = t
				return nil
			}),
			"token":            gsec(func(g *Global) *Secret { return &g.Token }),
			"trust-id":         gstr(func(g *Global) *string { return &g.TrustID }),
			"trustee-id":       gstr(func(g *Global) *string { return &g.TrusteeID }),
			"trustee-password": gsec(func(g *Global) *Secret { return &g.TrusteePassword }),
			"use-clouds":       gbool(func(g *Global) *bool { return &g.UseClouds }),
			"clouds-file":      gstr(func(g *Global) *string { return &g.CloudsFile }),
			"cloud":            gstr(func(g *Global) *string { return &g.Cloud }),
		}},
		"loadbalancer": {display: "LoadBalancer", keys: map[string]setter{
			"enabled": lbbool(func(l *LoadBalancer) *bool { return &l.Enabled }),
			"lb-version": lb(func(l *LoadBalancer, v value) error {
				if v.s != "" && v.s != "v2" {
					return fmt.Errorf("only \"v2\" is supported, got %q", v.s)
				}
				l.LBVersion = v.s
				return nil
			}),
			"subnet-id":            lbstr(func(l *LoadBalancer) *string { return &l.SubnetID }),
			"member-subnet-id":     lbstr(func(l *LoadBalancer) *string { return &l.MemberSubnetID }),
			"network-id":           lbstr(func(l *LoadBalancer) *string { return &l.NetworkID }),
			"floating-network-id":  lbstr(func(l *LoadBalancer) *string { return &l.FloatingNetworkID }),
			"floating-subnet-id":   lbstr(func(l *LoadBalancer) *string { return &l.FloatingSubnetID }),
			"floating-subnet":      lbstr(func(l *LoadBalancer) *string { return &l.FloatingSubnet }),
			"floating-subnet-tags": lbstr(func(l *LoadBalancer) *string { return &l.FloatingSubnetTags }),
			"lb-method": lb(func(l *LoadBalancer, v value) error {
				m := strings.ToUpper(strings.TrimSpace(v.s))
				if !slices.Contains(LBMethods, m) {
					return fmt.Errorf("invalid value %q (want one of %s)", v.s, strings.Join(LBMethods, ", "))
				}
				l.LBMethod = m
				return nil
			}),
			"lb-provider": lb(func(l *LoadBalancer, v value) error {
				if strings.TrimSpace(v.s) == "" {
					return errors.New("must not be empty")
				}
				l.LBProvider = strings.TrimSpace(v.s)
				return nil
			}),
			"create-monitor":           lbbool(func(l *LoadBalancer) *bool { return &l.CreateMonitor }),
			"monitor-delay":            lbdur(func(l *LoadBalancer) *time.Duration { return &l.MonitorDelay }),
			"monitor-timeout":          lbdur(func(l *LoadBalancer) *time.Duration { return &l.MonitorTimeout }),
			"monitor-max-retries":      lbint(1, 10, func(l *LoadBalancer) *int { return &l.MonitorMaxRetries }),
			"monitor-max-retries-down": lbint(1, 10, func(l *LoadBalancer) *int { return &l.MonitorMaxRetriesDown }),
			"manage-security-groups":   lbbool(func(l *LoadBalancer) *bool { return &l.ManageSecurityGroups }),
			"internal-lb":              lbbool(func(l *LoadBalancer) *bool { return &l.InternalLB }),
			"node-selector": lb(func(l *LoadBalancer, v value) error {
				m, err := ParseNodeSelector(v.s)
				if err != nil {
					return err
				}
				l.NodeSelector = m
				return nil
			}),
			"cascade-delete":            lbbool(func(l *LoadBalancer) *bool { return &l.CascadeDelete }),
			"flavor-id":                 lbstr(func(l *LoadBalancer) *string { return &l.FlavorID }),
			"availability-zone":         lbstr(func(l *LoadBalancer) *string { return &l.AvailabilityZone }),
			"enable-ingress-hostname":   lbbool(func(l *LoadBalancer) *bool { return &l.EnableIngressHostname }),
			"ingress-hostname-suffix":   lbstr(func(l *LoadBalancer) *string { return &l.IngressHostnameSuffix }),
			"default-tls-container-ref": lbstr(func(l *LoadBalancer) *string { return &l.DefaultTLSContainerRef }),
			"container-store": lb(func(l *LoadBalancer, v value) error {
				s := strings.ToLower(strings.TrimSpace(v.s))
				if s != "barbican" && s != "external" {
					return fmt.Errorf("invalid value %q (want barbican or external)", v.s)
				}
				l.ContainerStore = s
				return nil
			}),
			"max-shared-lb":                      lbint(1, 1<<20, func(l *LoadBalancer) *int { return &l.MaxSharedLB }),
			"provider-requires-serial-api-calls": lbbool(func(l *LoadBalancer) *bool { return &l.ProviderRequiresSerialAPICalls }),
		}},
		"loadbalancerclass": {display: "LoadBalancerClass", sub: 2, keys: map[string]setter{
			"floating-network-id":  cls(func(l *LoadBalancerClass) *string { return &l.FloatingNetworkID }),
			"floating-subnet-id":   cls(func(l *LoadBalancerClass) *string { return &l.FloatingSubnetID }),
			"floating-subnet":      cls(func(l *LoadBalancerClass) *string { return &l.FloatingSubnet }),
			"floating-subnet-tags": cls(func(l *LoadBalancerClass) *string { return &l.FloatingSubnetTags }),
			"network-id":           cls(func(l *LoadBalancerClass) *string { return &l.NetworkID }),
			"subnet-id":            cls(func(l *LoadBalancerClass) *string { return &l.SubnetID }),
			"member-subnet-id":     cls(func(l *LoadBalancerClass) *string { return &l.MemberSubnetID }),
		}},
		"networking": {display: "Networking", keys: map[string]setter{
			"ipv6-support-disabled": func(c *Config, _ string, v value) error {
				return parseBool(v, &c.Networking.IPv6SupportDisabled)
			},
			"public-network-name":   multi(func(c *Config) *[]string { return &c.Networking.PublicNetworkName }),
			"internal-network-name": multi(func(c *Config) *[]string { return &c.Networking.InternalNetworkName }),
			"address-sort-order": func(c *Config, _ string, v value) error {
				var out []netip.Prefix
				for _, item := range strings.Split(v.s, ",") {
					item = strings.TrimSpace(item)
					if item == "" {
						continue
					}
					p, err := netip.ParsePrefix(item)
					if err != nil {
						return fmt.Errorf("invalid CIDR %q", item)
					}
					out = append(out, p.Masked())
				}
				c.Networking.AddressSortOrder = out
				return nil
			},
		}},
		"route": {display: "Route", keys: map[string]setter{
			"router-id": func(c *Config, _ string, v value) error { c.Route.RouterID = v.s; return nil },
		}},
		"blockstorage": {display: "BlockStorage", keys: map[string]setter{
			"node-volume-attach-limit": func(c *Config, _ string, v value) error {
				var n int
				if err := parseInt(v, &n, -1<<31, 1<<31); err != nil {
					return err
				}
				if n < 0 || n > 256 {
					c.Warnings = append(c.Warnings, fmt.Sprintf("[BlockStorage] node-volume-attach-limit %d out of range 0..256, using 256", n))
					n = 256
				}
				c.BlockStorage.NodeVolumeAttachLimit = n
				return nil
			},
			"rescan-on-resize": func(c *Config, _ string, v value) error { return parseBool(v, &c.BlockStorage.RescanOnResize) },
			"ignore-volume-az": func(c *Config, _ string, v value) error { return parseBool(v, &c.BlockStorage.IgnoreVolumeAZ) },
			"ignore-volume-microversion": func(c *Config, _ string, v value) error {
				return parseBool(v, &c.BlockStorage.IgnoreVolumeMicroversion)
			},
		}},
		"metadata": {display: "Metadata", keys: map[string]setter{
			"search-order": func(c *Config, _ string, v value) error {
				order, err := ParseSearchOrder(v.s)
				if err != nil {
					return err
				}
				c.Metadata.SearchOrder = order
				return nil
			},
			"request-timeout": func(c *Config, _ string, v value) error {
				return parseDuration(v, &c.Metadata.RequestTimeout, true)
			},
		}},
	}
}

func (c *Config) global(sub string) *Global {
	if sub == "" {
		return &c.Global
	}
	g := c.Clouds[sub]
	if g == nil {
		g = &Global{EndpointType: EndpointPublic}
		if c.Clouds == nil {
			c.Clouds = map[string]*Global{}
		}
		c.Clouds[sub] = g
	}
	return g
}

func (c *Config) parseInto(name string, data []byte) error {
	if c.file == "" {
		c.file = name
	}
	entries, err := lexINI(name, data)
	if err != nil {
		return err
	}
	var cur *sectionDef
	var sub, display string
	for _, e := range entries {
		if e.header {
			def := sections[strings.ToLower(e.section)]
			disp := e.section
			if e.hasSub {
				disp += fmt.Sprintf(" %q", e.sub)
			}
			if def == nil {
				return &ParseError{File: name, Line: e.line, Msg: fmt.Sprintf("unknown section [%s]", disp)}
			}
			display = def.display
			if e.hasSub {
				display += fmt.Sprintf(" %q", e.sub)
			}
			switch {
			case def.sub == 0 && e.hasSub:
				return &ParseError{File: name, Line: e.line, Section: display, Msg: "section does not take a name"}
			case def.sub == 2 && (!e.hasSub || e.sub == ""):
				return &ParseError{File: name, Line: e.line, Section: def.display, Msg: `section requires a name, e.g. [` + def.display + ` "name"]`}
			}
			cur, sub = def, e.sub
			if def.display == "Global" {
				g := c.global(sub)
				if g.line == 0 {
					g.line = e.line
				}
				if sub == "" {
					c.hasGlobal = true
				}
			}
			if def.display == "LoadBalancerClass" {
				if c.LoadBalancerClasses == nil {
					c.LoadBalancerClasses = map[string]*LoadBalancerClass{}
				}
				if c.LoadBalancerClasses[sub] == nil {
					c.LoadBalancerClasses[sub] = &LoadBalancerClass{}
				}
			}
			continue
		}
		set := (setter)(nil)
		if cur != nil {
			set = cur.keys[e.key]
		}
		if set == nil && e.afterSecret != "" {
			// The "key" may be a wrapped part of the previous secret value:
			// never echo it.
			return &ParseError{File: name, Line: e.line, Section: display,
				Msg: fmt.Sprintf("unexpected line after %s (text not shown in case it is part of a wrapped secret value; a value must fit on one line or end lines with '\\')", e.afterSecret)}
		}
		if cur == nil {
			return &ParseError{File: name, Line: e.line, Key: e.rawKey, Msg: "key outside of any section"}
		}
		if set == nil {
			return &ParseError{File: name, Line: e.line, Section: display, Key: e.rawKey, Msg: "unknown key"}
		}
		if err := set(c, sub, value{s: e.value, set: e.hasValue}); err != nil {
			msg := err.Error()
			if isSecretKey(e.key) {
				msg = "invalid value (not shown: secret)"
			}
			return &ParseError{File: name, Line: e.line, Section: display, Key: e.key, Msg: msg}
		}
		c.noteKey(display, e.key, e.value)
		c.noteInert(display, e.key, value{s: e.value, set: e.hasValue})
	}
	return nil
}

func (c *Config) noteKey(section, key, v string) {
	switch {
	case section == "LoadBalancer" && key == "lb-version":
		c.Warnings = append(c.Warnings, "[LoadBalancer] lb-version is ignored (only Octavia v2 is supported)")
	case strings.HasPrefix(section, "Global") && (key == "clouds-file" || key == "cloud") && v != "":
		c.Warnings = append(c.Warnings, fmt.Sprintf("[%s] %s is ignored (clouds.yaml is not supported)", section, key))
	}
}

func parseBool(v value, dst *bool) error {
	if !v.set { // bare key
		*dst = true
		return nil
	}
	switch strings.ToLower(strings.TrimSpace(v.s)) {
	case "true", "yes", "on", "1":
		*dst = true
	case "false", "no", "off", "0":
		*dst = false
	default:
		return fmt.Errorf("invalid boolean %q", v.s)
	}
	return nil
}

func parseDuration(v value, dst *time.Duration, allowZero bool) error {
	d, err := time.ParseDuration(strings.TrimSpace(v.s))
	if err != nil || d < 0 || (d == 0 && !allowZero) {
		return fmt.Errorf("invalid duration %q", v.s)
	}
	*dst = d
	return nil
}

func parseInt(v value, dst *int, lo, hi int) error {
	n, err := strconv.Atoi(strings.TrimSpace(v.s))
	if err != nil {
		return fmt.Errorf("invalid integer %q", v.s)
	}
	if n < lo || n > hi {
		return fmt.Errorf("value %d out of range %d..%d", n, lo, hi)
	}
	*dst = n
	return nil
}

func parseEndpointType(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "url") // publicURL, internalURL, adminURL
	switch t {
	case EndpointPublic, EndpointInternal, EndpointAdmin:
		return t, nil
	case "":
		return EndpointPublic, nil
	}
	return "", fmt.Errorf("invalid value %q (want public, internal or admin)", s)
}

// ParseSearchOrder parses a [Metadata] search-order value: one or two of
// configDrive and metadataService, comma separated, no duplicates.
func ParseSearchOrder(s string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var canon string
		switch strings.ToLower(item) {
		case strings.ToLower(SearchConfigDrive):
			canon = SearchConfigDrive
		case strings.ToLower(SearchMetadataService):
			canon = SearchMetadataService
		default:
			return nil, fmt.Errorf("invalid element %q (want %s or %s)", item, SearchConfigDrive, SearchMetadataService)
		}
		if slices.Contains(out, canon) {
			return nil, fmt.Errorf("duplicate element %q", item)
		}
		out = append(out, canon)
	}
	if len(out) == 0 {
		return nil, errors.New("must list configDrive and/or metadataService")
	}
	return out, nil
}

// ParseNodeSelector parses "k=v, k2" (OCCM node-selector syntax): k=v
// selects nodes labelled k=v, a bare k nodes that have label k.
func ParseNodeSelector(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, _ := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "" {
			return nil, fmt.Errorf("invalid selector item %q", item)
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func (c *Config) validate(opts Options) error {
	lb := &c.LoadBalancer
	if lb.MonitorTimeout > lb.MonitorDelay {
		return &ParseError{File: c.file, Section: "LoadBalancer", Key: "monitor-timeout",
			Msg: fmt.Sprintf("%s must not exceed monitor-delay %s", lb.MonitorTimeout, lb.MonitorDelay)}
	}
	if lb.FloatingSubnetID != "" && lb.FloatingSubnet != "" {
		c.Warnings = append(c.Warnings, "[LoadBalancer] both floating-subnet-id and floating-subnet set; floating-subnet-id wins")
	}
	if opts.SkipAuthValidation {
		return nil
	}
	if !c.hasGlobal && len(c.Clouds) == 0 {
		return &ParseError{File: c.file, Section: "Global", Msg: "section is missing (auth-url and credentials are required)"}
	}
	if c.hasGlobal {
		if err := c.Global.validate(c.file, "Global"); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(c.Clouds))
	for n := range c.Clouds {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := c.Clouds[n].validate(c.file, fmt.Sprintf("Global %q", n)); err != nil {
			return err
		}
	}
	return nil
}

func (g *Global) validate(file, section string) error {
	fail := func(key, msg string) error {
		return &ParseError{File: file, Line: g.line, Section: section, Key: key, Msg: msg}
	}
	if g.UseClouds {
		return fail("use-clouds", "clouds.yaml is not supported by kumo; put auth-url and credentials in [Global] instead")
	}
	if g.AuthURL == "" {
		return fail("auth-url", "required")
	}
	u, err := url.Parse(g.AuthURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail("auth-url", fmt.Sprintf("invalid URL %q (want http(s)://host[:port]/[v3])", RedactURL(g.AuthURL)))
	}
	if hasUserinfo(g.AuthURL) {
		return fail("auth-url", "must not contain user credentials (user:password@) (value not shown)")
	}
	if (g.CertFile == "") != (g.KeyFile == "") {
		return fail("cert-file", "cert-file and key-file must be set together")
	}
	hasUser := g.Username != "" || g.UserID != ""
	userDomain := g.UserDomainID != "" || g.UserDomainName != "" || g.DomainID != "" || g.DomainName != ""
	switch {
	case g.UsesApplicationCredential():
		if g.ApplicationCredentialSecret == "" {
			return fail("application-credential-secret", "required with application-credential-id/-name")
		}
		if g.ApplicationCredentialID == "" {
			if !hasUser {
				return fail("application-credential-name", "requires username or user-id")
			}
			if g.UserID == "" && !userDomain {
				return fail("username", "requires user-domain-name, user-domain-id, domain-name or domain-id")
			}
		}
	case g.ApplicationCredentialSecret != "":
		return fail("application-credential-secret", "requires application-credential-id or application-credential-name")
	case g.TrustID != "":
		if g.TrusteeID != "" {
			if g.TrusteePassword == "" {
				return fail("trustee-password", "required with trustee-id")
			}
		} else if !hasUser || g.Password == "" {
			return fail("trust-id", "requires trustee-id and trustee-password (or username and password)")
		}
	case g.Password != "":
		if !hasUser {
			return fail("username", "username or user-id is required with password")
		}
		if g.UserID == "" && !userDomain {
			return fail("username", "requires user-domain-name, user-domain-id, domain-name or domain-id")
		}
	case g.Token != "":
		// pre-issued token; no re-authentication possible
	default:
		return fail("password", "password or application credential (application-credential-id/-name and -secret) is required")
	}
	if g.ProjectName != "" && g.ProjectID == "" && !g.UsesApplicationCredential() &&
		g.ProjectDomainID == "" && g.ProjectDomainName == "" && g.DomainID == "" && g.DomainName == "" {
		return fail("project-name", "requires project-domain-name, project-domain-id, domain-name or domain-id")
	}
	return nil
}

// hasUserinfo reports whether the URL s carries (or may carry) userinfo.
func hasUserinfo(s string) bool {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return strings.Contains(s, "@")
	}
	return u.User != nil
}

// RedactURL returns s with any userinfo replaced by "***" (user:***@ when a
// password is present, ***@ otherwise). An unparseable URL containing '@' is
// replaced as a whole, since its userinfo cannot be located reliably.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return "<unparseable URL, not shown>"
		}
		return s
	}
	if u.User == nil {
		return s
	}
	ui := "***"
	if _, ok := u.User.Password(); ok {
		ui = url.User(u.User.Username()).String() + ":***"
	}
	u.User = nil
	out := u.String()
	if i := strings.Index(out, "//"); i >= 0 {
		return out[:i+2] + ui + "@" + out[i+2:]
	}
	return out
}
