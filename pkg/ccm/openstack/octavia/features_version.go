package octavia

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/apiversions"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// Octavia API minor versions (v2.N) that introduced what kumo sends, as
// in Octavia's version document and OCCM's IsOctaviaFeatureSupported.
// An older Octavia does not know the attribute and answers 400.
const (
	minorTimeouts        = 1  // listener timeout_*
	minorTags            = 5  // tags on every resource
	minorFlavors         = 6  // load balancer flavor_id
	minorAllowedCIDRs    = 12 // listener allowed_cidrs (VIP ACL)
	minorZones           = 14 // load balancer availability_zone
	minorUDPHTTPMonitors = 16 // HTTP/TCP health monitors on UDP pools
	minorSourceIPPort    = 13 // the SOURCE_IP_PORT algorithm
	minorProxyV2         = 22 // the PROXYV2 pool protocol
	minorSCTP            = 23 // SCTP listeners and pools
	minorNewest          = minorSCTP
)

// apiVersion is the newest Octavia API version the cloud announces.
type apiVersion struct {
	// minor is N of v2.N; unknown is true when the cloud has no usable
	// version document, and every feature is assumed.
	minor   int
	unknown bool
}

func (v apiVersion) has(minor int) bool { return v.unknown || v.minor >= minor }

func (v apiVersion) String() string {
	if v.unknown {
		return "unknown"
	}
	return fmt.Sprintf("v2.%d", v.minor)
}

// versionCache holds the version read once per LoadBalancer: a failed
// read is not kept, so the next sync asks again.
type versionCache struct {
	mu   sync.Mutex
	read bool
	v    apiVersion
}

// apiVersion returns the cached Octavia API version, reading it on first
// use. Concurrent callers wait for one read.
func (l *LoadBalancer) apiVersion(ctx context.Context) (apiVersion, error) {
	c := &l.version
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read {
		return c.v, nil
	}
	v, err := readAPIVersion(ctx, l.clients.LoadBalancer)
	if err != nil {
		return apiVersion{}, err
	}
	logger := klog.FromContext(ctx)
	if v.unknown {
		// Most likely a proxy or gateway in front of Octavia that serves
		// only /v2: refusing every feature would break working clusters,
		// and a too-new request fails loudly with Octavia's 400 anyway.
		logger.Error(nil, "Octavia has no usable API version document; assuming it supports every feature kumo uses", "endpoint", l.clients.LoadBalancer.Endpoint)
	} else {
		logger.V(2).Info("Octavia API version", "version", v.String())
	}
	c.read, c.v = true, v
	return v, nil
}

// readAPIVersion reads GET <octavia root>/: the version marked CURRENT,
// else the highest v2.N listed (OCCM takes the last entry). An answer
// that is not a version document (4xx other than 408/429, unparsable
// body, no v2.N entry) gives an unknown version; other failures are
// returned so that the caller retries.
func readAPIVersion(ctx context.Context, c *gophercloud.ServiceClient) (apiVersion, error) {
	pages, err := apiversions.List(c).AllPages(ctx)
	if err != nil {
		var code gophercloud.ErrUnexpectedResponseCode
		if errors.As(err, &code) && code.Actual >= 400 && code.Actual < 500 && code.Actual != 408 && code.Actual != 429 {
			return apiVersion{unknown: true}, nil
		}
		return apiVersion{}, fmt.Errorf("read the Octavia API version: %w", err)
	}
	versions, err := apiversions.ExtractAPIVersions(pages)
	if err != nil {
		return apiVersion{unknown: true}, nil
	}
	best, current := -1, -1
	for _, v := range versions {
		minor, ok := parseMinor(v.ID)
		if !ok {
			continue
		}
		if minor > best {
			best = minor
		}
		if strings.EqualFold(v.Status, "CURRENT") {
			current = minor
		}
	}
	switch {
	case current >= 0:
		return apiVersion{minor: current}, nil
	case best >= 0:
		return apiVersion{minor: best}, nil
	}
	return apiVersion{unknown: true}, nil
}

// parseMinor reads N from "v2.N" (also "v2" and "2.N"); other majors are
// not Octavia v2.
func parseMinor(id string) (int, bool) {
	s := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(id)), "v")
	major, minor, found := strings.Cut(s, ".")
	if major != "2" {
		return 0, false
	}
	if !found {
		return 0, true
	}
	n, err := strconv.Atoi(minor)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// withAPI cuts the provider's features down to what version v has; api
// records v for the messages naming what is missing.
func (f providerFeatures) withAPI(v apiVersion) providerFeatures {
	f.api = v
	f.timeouts = f.timeouts && v.has(minorTimeouts)
	f.tags = f.tags && v.has(minorTags)
	f.flavors = f.flavors && v.has(minorFlavors)
	f.allowedCIDRs = f.allowedCIDRs && v.has(minorAllowedCIDRs)
	f.zones = f.zones && v.has(minorZones)
	f.udpHTTPMonitors = f.udpHTTPMonitors && v.has(minorUDPHTTPMonitors)
	return f
}

// lacking says who lacks feature what: the provider when it has none,
// else the API version (which has it only from v2.<since>).
func (f providerFeatures) lacking(what string, providerHas bool, since int) string {
	if !providerHas {
		return "the " + f.name + " provider does not support " + what
	}
	return fmt.Sprintf("Octavia API %s does not support %s (needs v2.%d)", f.api, what, since)
}

// fitValues refuses, naming where it comes from, a value the Service
// needs that API version v does not accept: an older Octavia would
// refuse the whole load balancer, and there is nothing to fall back to.
func fitValues(svc *v1.Service, sc *svcConfig, f providerFeatures) error {
	v := f.api
	needs := func(since int) string { return fmt.Sprintf("(Octavia API %s has it only from v2.%d)", v, since) }
	switch {
	case hasProtocol(svc, v1.ProtocolSCTP) && !v.has(minorSCTP):
		return &annotationError{key: "spec.ports.protocol", value: "SCTP", allowed: "TCP, UDP " + needs(minorSCTP)}
	case sc.proxy == "PROXYV2" && !v.has(minorProxyV2):
		return &annotationError{key: AnnProxyProtocol, value: svc.Annotations[AnnProxyProtocol], allowed: `"true", "v1" or "false" ` + needs(minorProxyV2)}
	case sc.lbMethod == "SOURCE_IP_PORT" && !v.has(minorSourceIPPort):
		key := "[LoadBalancer] lb-method"
		switch {
		case sc.annotated[AnnLBMethod]:
			key = AnnLBMethod
		case f.method != "":
			// The provider has no other algorithm (ovn).
			return &annotationError{key: "[LoadBalancer] lb-provider", value: f.name, allowed: "a provider other than " + f.name +
				" (it needs the SOURCE_IP_PORT algorithm) " + needs(minorSourceIPPort)}
		}
		return &annotationError{key: key, value: sc.lbMethod, allowed: "ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP " + needs(minorSourceIPPort)}
	}
	return nil
}

// capabilities returns what Services can use on this cloud: the
// provider's features and the Octavia API version's.
func (l *LoadBalancer) capabilities(ctx context.Context) (providerFeatures, error) {
	v, err := l.apiVersion(ctx)
	if err != nil {
		return providerFeatures{}, err
	}
	return l.features.withAPI(v), nil
}

// fitAPI fits a Service parsed for the provider to the Octavia API
// version too (the first call reads it). Parsing first without it keeps
// invalid input free of cloud calls.
func (l *LoadBalancer) fitAPI(ctx context.Context, svc *v1.Service, sc *svcConfig, ds dualStack) (*svcConfig, dualStack, error) {
	f, err := l.capabilities(ctx)
	if err != nil {
		return nil, dualStack{}, err
	}
	if f.api.has(minorNewest) {
		return sc, ds, nil // nothing to cut
	}
	if sc, err = l.parseServiceFor(svc, f); err == nil {
		ds, err = parseDualStack(svc, sc)
	}
	if err != nil {
		l.reportInvalid(svc, err)
		return nil, dualStack{}, err
	}
	return sc, ds, nil
}
