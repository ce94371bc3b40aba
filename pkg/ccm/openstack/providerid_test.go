package openstack

import (
	"strings"
	"testing"
)

func TestParseProviderID(t *testing.T) {
	const id = "0b3c2b5e-1f5a-4c55-9f0e-2d0a5d6a7b8c"
	for _, tc := range []struct {
		in, region, want, errPart string
	}{
		{in: "openstack:///" + id, region: "RegionOne", want: id},
		{in: "openstack://RegionOne/" + id, region: "RegionOne", want: id},
		{in: "openstack://RegionOne/" + id, region: "", want: id},
		{in: id, region: "RegionOne", want: id},
		{in: "openstack://RegionTwo/" + id, region: "RegionOne", errPart: `region "RegionTwo"`},
		{in: "aws:///" + id, region: "RegionOne", errPart: "invalid providerID"},
		{in: "openstack:///", region: "RegionOne", errPart: "invalid providerID"},
		{in: "openstack:///a/b", region: "RegionOne", errPart: "invalid providerID"},
		{in: "a/b", region: "RegionOne", errPart: "invalid providerID"},
	} {
		got, err := parseProviderID(tc.in, tc.region)
		switch {
		case tc.errPart != "":
			if err == nil || !strings.Contains(err.Error(), tc.errPart) || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("parseProviderID(%q) = %q, %v; want error naming the ID and containing %q", tc.in, got, err, tc.errPart)
			}
		case err != nil || got != tc.want:
			t.Errorf("parseProviderID(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestFormatProviderIDRoundTrip(t *testing.T) {
	for _, regional := range []bool{false, true} {
		pid := formatProviderID("RegionOne", "abc-123", regional)
		want := map[bool]string{false: "openstack:///abc-123", true: "openstack://RegionOne/abc-123"}[regional]
		if pid != want {
			t.Errorf("formatProviderID(regional=%v) = %q, want %q", regional, pid, want)
		}
		if got, err := parseProviderID(pid, "RegionOne"); err != nil || got != "abc-123" {
			t.Errorf("parseProviderID(%q) = %q, %v", pid, got, err)
		}
	}
}

func TestSanitizeLabel(t *testing.T) {
	for in, want := range map[string]string{
		"nova":                         "nova",
		"az 1/rack:2":                  "az-1-rack-2",
		"-edge-":                       "edge",
		strings.Repeat("a", 70):        strings.Repeat("a", 63),
		"zone_A.b":                     "zone_A.b",
		"":                             "",
		"ünïcode":                      "n-code",
		strings.Repeat("b", 62) + "-x": strings.Repeat("b", 62),
	} {
		if got := sanitizeLabel(in); got != want {
			t.Errorf("sanitizeLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
