package device

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// traversalID is a volume_id whose by-id links, joined below the finder's
// root, climb out of /dev/disk/by-id: "virtio-x/../../../dev/loop0" and
// "wwn-0xx/../../../dev/loop0" both clean to <root>/dev/dev/loop0. It is
// exactly 20 characters, so the short (serial-length) links are the same.
const traversalID = "x/../../../dev/loop0"

// hostBlockDevice returns some block device of the host, or "". Only its
// mode is read (stat), so no privilege is needed and nothing is opened.
func hostBlockDevice() string {
	for _, pattern := range []string{"/dev/loop[0-9]*", "/dev/vd[a-z]", "/dev/sd[a-z]", "/dev/xvd[a-z]", "/dev/nvme[0-9]n[0-9]"} {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0 {
				return m
			}
		}
	}
	return ""
}

func TestCinderFindDeviceRefusesUnsafeIDs(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	opts := testOptions(root)
	f := NewCinder(opts)

	// Plant what a path join of traversalID would reach, and prove that it
	// does: at least one of the finder's own link paths lands on it.
	planted := filepath.Join(root, "dev/dev/loop0")
	hostDev := hostBlockDevice()
	if hostDev != "" {
		symlink(t, hostDev, planted)
	} else {
		mkfile(t, planted, "")
	}
	reached := 0
	for _, name := range cinderLinks(traversalID) {
		p := f.opts.devPath("disk", "by-id", name)
		if p == planted {
			if _, err := os.Lstat(p); err != nil {
				t.Fatalf("planted target %s: %v", p, err)
			}
			reached++
		}
	}
	if reached == 0 {
		t.Fatalf("no link of %q reaches %s: %v", traversalID, planted, cinderLinks(traversalID))
	}
	// Without the ID check the search resolves the planted device: the
	// check is all that stands between the volume_id and /dev.
	if hostDev != "" {
		got, err := f.find(ctx, traversalID)
		if err != nil || got != hostDev {
			t.Fatalf("unchecked search = %q, %v; want it to reach %s (the test relies on it)", got, err, hostDev)
		}
	}

	// A SCSI host scan file shows whether the finder started polling
	// (every poll rescans the hosts).
	scan := filepath.Join(root, "sys/class/scsi_host/host0/scan")
	mkfile(t, scan, "")

	for _, id := range []string{
		traversalID,
		"../",
		"..",
		"%2e%2e",
		"%2e%2e%2f" + testVolumeID,
		testVolumeID + "/../" + testVolumeID,
		"-V",
		"",
		strings.Repeat("a", backend.MaxPathSafeIDLen+1),
		"vol\x00",
		"vol ume",
	} {
		start := time.Now()
		got, err := f.FindDevice(ctx, id, nil)
		if got != "" || !errors.Is(err, backend.ErrInvalidArgument) {
			t.Errorf("FindDevice(%q) = %q, %v; want ErrInvalidArgument", id, got, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "volume_id") || !strings.Contains(msg, "not a valid Cinder volume ID") {
			t.Errorf("FindDevice(%q): error %q does not name volume_id", id, msg)
		}
		if d := time.Since(start); d >= opts.Timeout/2 {
			t.Errorf("FindDevice(%q) took %s: it polled instead of refusing", id, d)
		}
		if s := readFile(t, scan); s != "" {
			t.Fatalf("FindDevice(%q) rescanned the SCSI hosts (scan = %q): it searched", id, s)
		}
	}

	// A well-formed ID does search (and rescan), so the scan file check
	// above can see a search.
	if _, err := f.FindDevice(ctx, testVolumeID, nil); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("FindDevice(valid, missing) = %v, want ErrNotFound", err)
	}
	if s := readFile(t, scan); s != "- - -" {
		t.Errorf("a valid ID did not search (scan = %q)", s)
	}
}

func TestCinderValidateVolumeID(t *testing.T) {
	f := NewCinder(testOptions(t.TempDir()))
	for _, id := range []string{testVolumeID, "short-id", "a", "A_b-9", strings.Repeat("a", backend.MaxPathSafeIDLen)} {
		if err := f.ValidateVolumeID(id); err != nil {
			t.Errorf("ValidateVolumeID(%q) = %v, want nil", id, err)
		}
	}
	err := f.ValidateVolumeID("x/../y")
	if want := `volume_id "x/../y" is not a valid Cinder volume ID: invalid argument`; err == nil || err.Error() != want {
		t.Errorf("ValidateVolumeID error = %v, want %q", err, want)
	}
	var _ backend.VolumeIDValidator = f
}
