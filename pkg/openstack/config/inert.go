package config

import (
	"fmt"
	"strings"
)

// inertKeys are the keys kumo accepts so that an OCCM or cinder-csi
// cloud.conf loads unchanged, but that have no effect in kumo yet, each
// with what the user gets instead. Setting one (to anything but false or
// empty) adds a warning naming it; docs/install-openstack.md lists them.
// A test fails when a key here is read by code, or when a key that is
// not here is read by nothing.
func inertKeys() map[string]string {
	return map[string]string{
		"BlockStorage/ignore-volume-microversion": "kumo's volume lookups use no microversion, so there is nothing to turn off",
	}
}

// noteInert warns about an inert key set to a value that asks for
// something: "false" and empty ask for nothing, a bare key means true.
func (c *Config) noteInert(section, key string, v value) {
	base, _, _ := strings.Cut(section, " ")
	why, ok := inertKeys()[base+"/"+key]
	if !ok {
		return
	}
	if v.set {
		switch strings.ToLower(strings.TrimSpace(v.s)) {
		case "", "false", "no", "off", "0":
			return
		}
	}
	c.Warnings = append(c.Warnings, fmt.Sprintf("[%s] %s has no effect in kumo: %s", section, key, why))
}
