package openstack

import (
	"fmt"
	"regexp"
	"strings"
)

// providerIDScheme prefixes every providerID this provider writes.
const providerIDScheme = "openstack://"

// providerIDRe is OCCM's format: openstack://<region>/<server-uuid>, the
// region being empty in the default (non-regional) form.
var providerIDRe = regexp.MustCompile(`^openstack://([^/]*)/([^/]+)$`)

// formatProviderID returns openstack:///<id>, or openstack://<region>/<id>
// when regional IDs are enabled (OCCM's OS_CCM_REGIONAL).
func formatProviderID(region, serverID string, regional bool) string {
	if regional {
		return providerIDScheme + region + "/" + serverID
	}
	return providerIDScheme + "/" + serverID
}

// parseProviderID returns the server ID of a node's spec.providerID. Both
// the plain and the regional form are accepted, as is a bare ID without a
// scheme; a region different from the configured one is refused, because
// the server then lives in another cloud region this provider cannot see.
func parseProviderID(providerID, region string) (string, error) {
	if !strings.Contains(providerID, "://") {
		if providerID == "" || strings.Contains(providerID, "/") {
			return "", fmt.Errorf("invalid providerID %q: want %s/<server-id>", providerID, providerIDScheme)
		}
		return providerID, nil
	}
	m := providerIDRe.FindStringSubmatch(providerID)
	if m == nil {
		return "", fmt.Errorf("invalid providerID %q: want %s/<server-id> or %s<region>/<server-id>", providerID, providerIDScheme, providerIDScheme)
	}
	if m[1] != "" && region != "" && m[1] != region {
		return "", fmt.Errorf("providerID %q names region %q but this provider serves region %q ([Global] region)", providerID, m[1], region)
	}
	return m[2], nil
}
