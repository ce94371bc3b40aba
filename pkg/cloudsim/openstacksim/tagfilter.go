package openstacksim

import (
	"net/url"
	"slices"
	"strings"
)

// matchTags applies Neutron's tag filters to a view with a "tags" list:
// tags (all of), tags-any (one of), not-tags (not all of), not-tags-any
// (none of); each takes a comma-separated list. "tags" itself is matched
// by matchQuery like any list field.
func matchTags(view M, q url.Values) bool {
	have, ok := view["tags"].([]string)
	if !ok {
		return true
	}
	hasAny := func(want []string) bool {
		return slices.ContainsFunc(want, func(w string) bool { return slices.Contains(have, w) })
	}
	for _, v := range q["tags-any"] {
		if !hasAny(strings.Split(v, ",")) {
			return false
		}
	}
	for _, v := range q["not-tags"] {
		if containsAll(have, strings.Split(v, ",")) {
			return false
		}
	}
	for _, v := range q["not-tags-any"] {
		if hasAny(strings.Split(v, ",")) {
			return false
		}
	}
	return true
}
