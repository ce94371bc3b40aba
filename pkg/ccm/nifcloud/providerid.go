package nifcloud

import (
	"fmt"
	"regexp"
	"strings"
)

// providerIDPrefix starts every providerID this provider sets:
// nifcloud:///<zone>/<instanceUniqueId>.
const providerIDPrefix = ProviderName + "://"

var uniqueIDPattern = regexp.MustCompile(`^i-[0-9A-Za-z]+$`)

// formatProviderID builds nifcloud:///<zone>/<instanceUniqueId>.
func formatProviderID(zone, uniqueID string) string {
	return providerIDPrefix + "/" + zone + "/" + uniqueID
}

// parseProviderID accepts the forms the reference CCM accepts:
//
//	nifcloud:///<zone>/<instanceUniqueId>
//	nifcloud:////<instanceUniqueId>      (zone unknown)
//	<instanceUniqueId>                   (bare)
//
// and returns the zone ("" when absent) and the unique id (i-xxxx).
// Anything else is rejected with an error naming the expected form.
func parseProviderID(providerID string) (zone, uniqueID string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("invalid nifcloud providerID %q: %s (want %s/<zone>/<instanceUniqueId>, e.g. nifcloud:///east-11/i-abcd1234)",
			providerID, why, providerIDPrefix)
	}
	if providerID == "" {
		return bad("empty")
	}
	rest, ok := strings.CutPrefix(providerID, providerIDPrefix)
	if !ok {
		if strings.Contains(providerID, "://") {
			return bad("not a " + ProviderName + " providerID")
		}
		if !uniqueIDPattern.MatchString(providerID) {
			return bad("instance unique id must match " + uniqueIDPattern.String())
		}
		return "", providerID, nil
	}
	// rest is "/<zone>/<id>" or "//<id>".
	rest, ok = strings.CutPrefix(rest, "/")
	if !ok {
		return bad("missing '/' after scheme")
	}
	zone, id, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("missing zone segment")
	}
	if strings.Contains(zone, " ") {
		return bad("zone contains a space")
	}
	if !uniqueIDPattern.MatchString(id) {
		return bad("instance unique id must match " + uniqueIDPattern.String())
	}
	return zone, id, nil
}
