package nifcloudsim

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// params reads the NIFCLOUD query-protocol form: EC2-style "Name.N" lists,
// ELB-style ".member.N" lists and dotted nested structs.
type params struct{ url.Values }

func (p params) str(key string) string { return strings.TrimSpace(p.Get(key)) }

func (p params) req(key string) (string, *apiError) {
	v := p.str(key)
	if v == "" {
		return "", errMissing(key)
	}
	return v, nil
}

func (p params) reqInt(key string, lo, hi int) (int, *apiError) {
	v, err := p.req(key)
	if err != nil {
		return 0, err
	}
	n, convErr := strconv.Atoi(v)
	if convErr != nil || n < lo || n > hi {
		return 0, errInvalid(key, v)
	}
	return n, nil
}

// optInt returns def when the key is absent.
func (p params) optInt(key string, def, lo, hi int) (int, *apiError) {
	if p.str(key) == "" {
		return def, nil
	}
	return p.reqInt(key, lo, hi)
}

// optBool returns (value, present, error).
func (p params) optBool(key string) (bool, bool, *apiError) {
	v := p.str(key)
	if v == "" {
		return false, false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, true, errInvalid(key, v)
	}
	return b, true, nil
}

// indices lists the N of every key "prefix.N" or "prefix.N.…", ascending.
func (p params) indices(prefix string) []int {
	seen := map[int]bool{}
	for k := range p.Values {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		head, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(head); err == nil && n > 0 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// list returns the non-empty values of "prefix.1", "prefix.2", … in order.
func (p params) list(prefix string) []string {
	var out []string
	for _, n := range p.indices(prefix) {
		if v := p.str(prefix + "." + strconv.Itoa(n)); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func key(parts ...any) string {
	s := make([]string, len(parts))
	for i, x := range parts {
		switch v := x.(type) {
		case int:
			s[i] = strconv.Itoa(v)
		default:
			s[i] = x.(string)
		}
	}
	return strings.Join(s, ".")
}
