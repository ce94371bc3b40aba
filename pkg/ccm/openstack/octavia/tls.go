package octavia

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/keymanager/v1/containers"
	"github.com/gophercloud/gophercloud/v2/openstack/keymanager/v1/secrets"
)

// AnnDefaultTLSContainerRef makes every TCP port a TERMINATED_HTTPS
// listener with this Barbican certificate ([LoadBalancer]
// default-tls-container-ref is the default).
const AnnDefaultTLSContainerRef = annPrefix + "default-tls-container-ref"

func tcpBased(protocol string) bool {
	return protocol == "TCP" || protocol == "HTTP" || protocol == "TERMINATED_HTTPS"
}

// checkTLS looks the certificate up in Barbican (container-store =
// barbican, the default) before a listener uses it, so that a typo is
// reported against its key instead of as Octavia's 400; with
// container-store = external the reference is passed on unchecked.
func (l *LoadBalancer) checkTLS(ctx context.Context, sc *svcConfig) error {
	ref := sc.tlsRef
	if ref == "" || l.cfg.ContainerStore == "external" {
		return nil
	}
	key := sc.origin(AnnDefaultTLSContainerRef)
	km := l.clients.KeyManager
	if km == nil {
		return &refError{key: key, kind: "TLS certificate", id: ref,
			problem: "cannot be checked: the service catalog has no key-manager (Barbican) endpoint (set [LoadBalancer] container-store = external to skip the check)"}
	}
	parts := strings.Split(strings.TrimRight(ref, "/"), "/")
	if len(parts) < 2 {
		return &refError{key: key, kind: "TLS certificate", id: ref, problem: "is not a Barbican reference (…/v1/containers/<id> or …/v1/secrets/<id>)"}
	}
	id := parts[len(parts)-1]
	var err error
	switch parts[len(parts)-2] {
	case "containers":
		_, err = containers.Get(ctx, km, id).Extract()
	case "secrets":
		_, err = secrets.Get(ctx, km, id).Extract()
	default:
		return &refError{key: key, kind: "TLS certificate", id: ref, problem: "is not a Barbican reference (…/v1/containers/<id> or …/v1/secrets/<id>)"}
	}
	if isStatus(err, http.StatusNotFound) {
		return &refError{key: key, kind: "TLS certificate", id: ref, problem: "does not exist in Barbican"}
	}
	if err != nil {
		return fmt.Errorf("get TLS certificate %s (%s): %w", ref, key, err)
	}
	return nil
}

// tlsRefNew reports whether the Service's certificate is on none of the
// load balancer's listeners yet.
func tlsRefNew(sc *svcConfig, have *actualTree) bool {
	if sc.tlsRef == "" {
		return false
	}
	for _, li := range have.listeners {
		if li.DefaultTlsContainerRef == sc.tlsRef {
			return false
		}
	}
	return true
}
