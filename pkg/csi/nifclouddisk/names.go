package nifclouddisk

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// MaxDescription is NIFCLOUD's limit on a disk Description.
const MaxDescription = 40

// readablePrefix is how much of a long name survives in its short form.
const readablePrefix = 15

// plainName are names stored verbatim: short and made of characters any
// Description accepts ("pvc-<uuid>" is exactly 40 characters).
var plainName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,40}$`)

// Description is the Description a disk for the CSI volume name gets: the
// name itself when it is at most 40 safe characters, otherwise its first
// 15 characters (unsafe ones replaced by '-') followed by '-' and 24 hex
// digits of its SHA-256, 40 characters in all. It is deterministic, so the
// disk can be found again by name.
func Description(name string) string {
	if plainName.MatchString(name) {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	prefix := []rune(name)
	if len(prefix) > readablePrefix {
		prefix = prefix[:readablePrefix]
	}
	p := strings.Map(func(r rune) rune {
		if r < 0x80 && plainName.MatchString(string(r)) {
			return r
		}
		return '-'
	}, string(prefix))
	return p + "-" + hex.EncodeToString(sum[:])[:MaxDescription-len(p)-1]
}

// VolumeIDFor is the NIFCLOUD VolumeId requested for the CSI volume name:
// "kumo" and 28 hex digits of the name's SHA-256 (32 alphanumerics, the
// API's maximum). A retried CreateVolume then fails as a duplicate instead
// of making a second disk.
func VolumeIDFor(name string) string {
	sum := sha256.Sum256([]byte("kumo-volume:" + name))
	return "kumo" + hex.EncodeToString(sum[:])[:28]
}

// diskTypeCodes maps the CSI "type" parameter to the DiskType wire value.
func diskTypeCode(t string) (string, error) {
	if t == "" {
		t = profile.NIFCLOUDDefaultType
	}
	codes := map[string]string{
		"standard":           "2",
		"high-speed-a":       "3",
		"high-speed-b":       "4",
		"flash":              "5",
		"standard-flash-a":   "6",
		"standard-flash-b":   "7",
		"high-speed-flash-a": "8",
		"high-speed-flash-b": "9",
	}
	c, ok := codes[t]
	if !ok {
		return "", fmt.Errorf("parameter %q: unknown disk type %q: %w", profile.NIFCLOUDParamType, t, backend.ErrInvalidArgument)
	}
	return c, nil
}

// accountingCode maps the "accountingtype" parameter to AccountingType.
func accountingCode(a string) (string, error) {
	switch a {
	case "", profile.NIFCLOUDAccountingHourly:
		return "2", nil
	case profile.NIFCLOUDAccountingMonthly:
		return "1", nil
	}
	return "", fmt.Errorf("parameter %q: unknown accounting type %q: %w", profile.NIFCLOUDParamAccountingType, a, backend.ErrInvalidArgument)
}

// stepGB is NIFCLOUD's size granularity and ExtendVolumeSize's increment.
const stepGB = 100

// sizeGB converts bytes to GB (GiB, as the profile rounds) rounded up to
// a multiple of 100.
func sizeGB(bytes int64) (int, error) {
	if bytes <= 0 {
		return 0, fmt.Errorf("disk size %d bytes: %w", bytes, backend.ErrOutOfRange)
	}
	gb := (bytes + profile.GiB - 1) / profile.GiB
	gb = (gb + stepGB - 1) / stepGB * stepGB
	if gb > 1<<30 {
		return 0, fmt.Errorf("disk size %d bytes is too large: %w", bytes, backend.ErrOutOfRange)
	}
	return int(gb), nil
}
