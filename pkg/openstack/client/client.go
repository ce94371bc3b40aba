// Package client builds authenticated gophercloud v2 clients for OpenStack
// from a parsed cloud.conf, with client-side rate limiting, retries on
// throttling and transient errors, Prometheus metrics and token-safe logs.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"golang.org/x/time/rate"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudmetrics"
	"github.com/kumo-project/kumo/pkg/openstack/config"
	"github.com/kumo-project/kumo/pkg/version"
)

// DefaultMaxRetries is used when Options.MaxRetries is 0.
const DefaultMaxRetries = 5

// Options tunes New.
type Options struct {
	// Metrics receives per-request metrics; nil disables them.
	Metrics *cloudmetrics.Recorder
	// QPS and Burst configure the client-side rate limiter shared by all
	// services of this provider. QPS <= 0 disables limiting. Burst <= 0
	// means max(1, ceil(QPS)).
	QPS   float64
	Burst int
	// UserAgent is prepended to gophercloud's; default "kumo/<version>".
	UserAgent string
	// MaxRetries is the number of retries of one HTTP request (0 means
	// DefaultMaxRetries, negative disables retries).
	MaxRetries int
	// HTTPTimeout bounds one HTTP attempt; 0 means [Metadata]
	// request-timeout (60s by default), as OCCM does.
	HTTPTimeout time.Duration
	// Cloud selects a named [Global "name"] section; "" is [Global].
	Cloud string
	// RetryBackoff overrides DefaultBackoff, used between retries when the
	// server sends no Retry-After.
	RetryBackoff *backoff.Policy
	// BaseTransport overrides the TLS-configured transport (tests). When
	// set, ca-file/cert-file/key-file/tls-insecure are not applied.
	BaseTransport http.RoundTripper
	// Services limits the service clients New builds; nil means all of
	// them (the CCM). The CSI driver asks for compute and block storage
	// only, so a catalog without a usable Neutron or Octavia endpoint
	// does not stop it.
	Services []Service
}

// Clients are the authenticated OpenStack service clients; a client of a
// service not asked for in Options.Services is nil.
type Clients struct {
	Provider *gophercloud.ProviderClient
	Compute  *gophercloud.ServiceClient
	Network  *gophercloud.ServiceClient
	// LoadBalancer is nil when the catalog has no usable load-balancer
	// endpoint; LoadBalancerErr then says why (nil if simply absent).
	LoadBalancer    *gophercloud.ServiceClient
	LoadBalancerErr error
	BlockStorage    *gophercloud.ServiceClient
	// KeyManager (Barbican) is built with the load-balancer client; nil
	// when the catalog has none.
	KeyManager *gophercloud.ServiceClient
	// Region is the configured region ("" = any).
	Region string
	// Transport is the retrying, rate-limited transport in use.
	Transport *Transport
}

// New authenticates against Keystone with the credentials of cfg and
// returns the compute, network, block-storage and (if present)
// load-balancer clients for the configured region and interface, or only
// those of Options.Services. Building a client reads the token's catalog
// and sends no request.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Clients, error) {
	if cfg == nil {
		return nil, errors.New("openstack client: nil config")
	}
	g, ok := cfg.Cloud(opts.Cloud)
	if !ok {
		if opts.Cloud == "" {
			return nil, errors.New("openstack client: cloud config has no [Global] section")
		}
		return nil, fmt.Errorf("openstack client: cloud config has no [Global %q] section", opts.Cloud)
	}
	if err := checkServices(opts.Services); err != nil {
		return nil, err
	}
	logger := klog.FromContext(ctx)

	base := opts.BaseTransport
	if base == nil {
		var err error
		base, err = tlsTransport(g)
		if err != nil {
			return nil, err
		}
	}
	if g.TLSInsecure {
		logger.Info("WARNING: TLS certificate verification of the OpenStack APIs is disabled ([Global] tls-insecure=true); credentials can be intercepted", "authURL", config.RedactURL(g.AuthURL))
	}
	tr := &Transport{Base: base, Metrics: opts.Metrics, Backoff: DefaultBackoff}
	switch {
	case opts.MaxRetries == 0:
		tr.MaxRetries = DefaultMaxRetries
	case opts.MaxRetries > 0:
		tr.MaxRetries = opts.MaxRetries
	}
	if opts.RetryBackoff != nil {
		tr.Backoff = *opts.RetryBackoff
	}
	tr.AttemptTimeout = opts.HTTPTimeout
	if tr.AttemptTimeout == 0 {
		tr.AttemptTimeout = cfg.Metadata.RequestTimeout
	}
	if opts.QPS > 0 {
		burst := opts.Burst
		if burst <= 0 {
			burst = int(opts.QPS + 0.999)
			if burst < 1 {
				burst = 1
			}
		}
		tr.Limiter = rate.NewLimiter(rate.Limit(opts.QPS), burst)
	}

	provider, err := openstack.NewClient(g.AuthURL)
	if err != nil {
		if config.RedactURL(g.AuthURL) != g.AuthURL {
			// the underlying error may quote the URL, userinfo included
			return nil, fmt.Errorf("openstack client: invalid auth-url %s", config.RedactURL(g.AuthURL))
		}
		return nil, fmt.Errorf("openstack client: invalid auth-url: %w", err)
	}
	tr.Secrets = secretsOf(g)
	// Timeout bounds the whole call including the body read; CheckRedirect
	// keeps tokens on the configured hosts.
	provider.HTTPClient = http.Client{Transport: tr, CheckRedirect: checkRedirect, Timeout: overallTimeout(tr)}
	ua := opts.UserAgent
	if ua == "" {
		ua = "kumo/" + version.Version
	}
	provider.UserAgent.Prepend(ua)

	ao := AuthOptions(g)
	if g.TrustID != "" {
		err = openstack.AuthenticateV3(ctx, provider, &ao, gophercloud.EndpointOpts{})
	} else {
		err = openstack.Authenticate(ctx, provider, ao)
	}
	if err != nil {
		return nil, fmt.Errorf("openstack client: authentication at %s failed: %w", config.RedactURL(g.AuthURL), err)
	}

	c := &Clients{Provider: provider, Region: g.Region, Transport: tr}
	if err := c.buildServices(ctx, g, opts.Services); err != nil {
		return nil, err
	}
	return c, nil
}

func secretsOf(g *config.Global) []string {
	return []string{g.Password.Reveal(), g.ApplicationCredentialSecret.Reveal(), g.TrusteePassword.Reveal(), g.Token.Reveal()}
}

// overallTimeout allows every retry its attempt timeout; 0 (no attempt
// timeout) leaves the context as the only bound.
func overallTimeout(tr *Transport) time.Duration {
	if tr.AttemptTimeout <= 0 {
		return 0
	}
	return time.Duration(tr.MaxRetries+1)*tr.AttemptTimeout + 2*time.Minute
}

func endpointType(g *config.Global) string {
	if g.EndpointType == "" {
		return config.EndpointPublic
	}
	return g.EndpointType
}

func isEndpointNotFound(err error) bool {
	var e1 *gophercloud.ErrEndpointNotFound
	var e2 gophercloud.ErrEndpointNotFound
	return errors.As(err, &e1) || errors.As(err, &e2)
}

func endpointErr(service string, eo gophercloud.EndpointOpts, err error) error {
	if isEndpointNotFound(err) {
		return fmt.Errorf("openstack client: no %s endpoint with interface %q in region %q in the service catalog", service, eo.Availability, eo.Region)
	}
	return fmt.Errorf("openstack client: %s endpoint: %w", service, err)
}

// AuthOptions converts a [Global] section to gophercloud AuthOptions with
// AllowReauth set (re-authentication on 401 / token expiry). Application
// credentials win over a password; a trust-id scopes the token to the
// trust (authenticating as trustee-id when given).
func AuthOptions(g *config.Global) gophercloud.AuthOptions {
	ao := gophercloud.AuthOptions{IdentityEndpoint: g.AuthURL, AllowReauth: true}
	userDomainID, userDomainName := pick(g.UserDomainID, g.UserDomainName, g.DomainID, g.DomainName)
	setUser := func(id, name string) {
		if id != "" {
			ao.UserID = id
			return
		}
		ao.Username = name
		ao.DomainID, ao.DomainName = userDomainID, userDomainName
	}
	switch {
	case g.UsesApplicationCredential():
		ao.ApplicationCredentialID = g.ApplicationCredentialID
		ao.ApplicationCredentialSecret = g.ApplicationCredentialSecret.Reveal()
		if g.ApplicationCredentialID == "" {
			ao.ApplicationCredentialName = g.ApplicationCredentialName
			setUser(g.UserID, g.Username)
		}
		return ao // app credentials carry their own project scope
	case g.TrustID != "" && g.TrusteeID != "":
		ao.UserID = g.TrusteeID
		ao.Password = g.TrusteePassword.Reveal()
		ao.Scope = &gophercloud.AuthScope{TrustID: g.TrustID}
		return ao
	case g.TrustID != "":
		setUser(g.UserID, g.Username)
		ao.Password = g.Password.Reveal()
		ao.Scope = &gophercloud.AuthScope{TrustID: g.TrustID}
		return ao
	case g.Password == "" && g.Token != "":
		ao.TokenID = g.Token.Reveal()
		ao.AllowReauth = false
	default:
		setUser(g.UserID, g.Username)
		ao.Password = g.Password.Reveal()
	}
	scope := &gophercloud.AuthScope{}
	switch {
	case g.ProjectID != "":
		scope.ProjectID = g.ProjectID
	case g.ProjectName != "":
		scope.ProjectName = g.ProjectName
		scope.DomainID, scope.DomainName = pick(g.ProjectDomainID, g.ProjectDomainName, g.DomainID, g.DomainName)
	case g.DomainID != "" || g.DomainName != "":
		scope.DomainID, scope.DomainName = pick(g.DomainID, g.DomainName, "", "")
	}
	ao.Scope = scope
	return ao
}

// pick returns exactly one of (id, name), preferring the specific pair
// over the fallback pair and an ID over a name.
func pick(id, name, fallbackID, fallbackName string) (string, string) {
	switch {
	case id != "":
		return id, ""
	case name != "":
		return "", name
	case fallbackID != "":
		return fallbackID, ""
	}
	return "", fallbackName
}

func tlsTransport(g *config.Global) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: g.TLSInsecure} //nolint:gosec // opt-in via tls-insecure, warned about
	if g.CAFile != "" {
		pem, err := os.ReadFile(g.CAFile)
		if err != nil {
			return nil, fmt.Errorf("openstack client: [Global] ca-file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("openstack client: [Global] ca-file %s: no PEM certificates found", g.CAFile)
		}
		tc.RootCAs = pool
	}
	if g.CertFile != "" || g.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(g.CertFile, g.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("openstack client: [Global] cert-file/key-file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	t.TLSClientConfig = tc
	return t, nil
}

// WithMicroversion returns a shallow copy of sc that sends the given API
// microversion (e.g. "2.60" for compute, "3.42" for block storage). The
// original client is not modified, so it is safe for concurrent use.
func WithMicroversion(sc *gophercloud.ServiceClient, microversion string) *gophercloud.ServiceClient {
	if sc == nil {
		return nil
	}
	c := *sc
	c.Microversion = microversion
	return &c
}
