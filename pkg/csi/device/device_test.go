package device

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/internal/loopdev"
)

const testVolumeID = "0b8cd2a4-6f44-4e0f-9d1c-8b2f0c4d5e6f"

func testOptions(root string) Options {
	return Options{Root: root, Timeout: 400 * time.Millisecond, Backoff: backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Factor: 2}}
}

func mkfile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNIFCLOUDFindDevice(t *testing.T) {
	loopdev.Require(t)
	dev := loopdev.New(t, 16<<20)
	root := t.TempDir()
	scan := filepath.Join(root, "sys/class/scsi_host/host0/scan")
	mkfile(t, scan, "")
	byPath := filepath.Join(root, "dev/disk/by-path")
	symlink(t, dev.Path, filepath.Join(byPath, "pci-0000:0b:00.0-scsi-0:0:3:0"))
	symlink(t, dev.Path, filepath.Join(byPath, "pci-0000:0b:00.0-scsi-0:0:3:0-part1")) // must not match
	f := NewNIFCLOUD(testOptions(root))
	ctx := context.Background()

	got, err := f.FindDevice(ctx, "vol-1", map[string]string{"devicePath": "SCSI (0:3)"})
	if err != nil || got != dev.Path {
		t.Fatalf("FindDevice = %q, %v; want %s", got, err, dev.Path)
	}
	if s := readFile(t, scan); s != "- - -" {
		t.Errorf("scan file = %q, want a rescan", s)
	}

	_, err = f.FindDevice(ctx, "vol-2", map[string]string{"devicePath": "SCSI (0:4)"})
	if !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("missing slot: %v, want ErrNotFound", err)
	}
	_, err = f.FindDevice(ctx, "vol-3", map[string]string{"devicePath": "/dev/sdb"})
	if !errors.Is(err, backend.ErrInvalidArgument) {
		t.Errorf("bad publish context: %v, want ErrInvalidArgument", err)
	}

	// A device that appears while the finder polls.
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = os.Symlink(dev.Path, filepath.Join(byPath, "pci-0000:00:10.0-scsi-0:0:12:0"))
	}()
	got, err = f.FindDevice(ctx, "vol-4", map[string]string{"devicePath": "SCSI (0:12)"})
	if err != nil || got != dev.Path {
		t.Fatalf("delayed FindDevice = %q, %v", got, err)
	}

	// A link to something that is not a block device never matches.
	mkfile(t, filepath.Join(root, "notadevice"), "x")
	symlink(t, filepath.Join(root, "notadevice"), filepath.Join(byPath, "pci-0000:00:10.0-scsi-0:0:7:0"))
	if _, err := f.FindDevice(ctx, "vol-5", map[string]string{"devicePath": "SCSI (0:7)"}); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("non-block target: %v, want ErrNotFound", err)
	}

	// The request's deadline wins over the finder's timeout.
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := f.FindDevice(short, "vol-6", map[string]string{"devicePath": "SCSI (0:9)"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("short deadline: %v, want DeadlineExceeded", err)
	}

	// Release and rescan write the SCSI device attributes when present.
	base := filepath.Base(dev.Path)
	del := filepath.Join(root, "sys/block", base, "device/delete")
	rescan := filepath.Join(root, "sys/block", base, "device/rescan")
	mkfile(t, del, "")
	mkfile(t, rescan, "")
	if err := f.ReleaseDevice(ctx, dev.Path); err != nil || readFile(t, del) != "1" {
		t.Errorf("ReleaseDevice: %v, delete = %q", err, readFile(t, del))
	}
	if err := f.RescanDevice(ctx, dev.Path); err != nil || readFile(t, rescan) != "1" {
		t.Errorf("RescanDevice: %v, rescan = %q", err, readFile(t, rescan))
	}
	if err := f.ReleaseDevice(ctx, "/dev/nonexistent"); err != nil {
		t.Errorf("ReleaseDevice without sysfs attribute: %v", err)
	}
}

func TestCinderFindDevice(t *testing.T) {
	loopdev.Require(t)
	dev := loopdev.New(t, 16<<20)
	ctx := context.Background()
	base := filepath.Base(dev.Path)

	for _, link := range []string{
		"virtio-" + testVolumeID[:20],
		"scsi-0QEMU_QEMU_HARDDISK_" + testVolumeID[:20],
		"scsi-0QEMU_QEMU_HARDDISK_" + testVolumeID,
		"wwn-0x" + strings.ReplaceAll(testVolumeID, "-", ""),
	} {
		t.Run(link, func(t *testing.T) {
			root := t.TempDir()
			symlink(t, dev.Path, filepath.Join(root, "dev/disk/by-id", link))
			got, err := NewCinder(testOptions(root)).FindDevice(ctx, testVolumeID, nil)
			if err != nil || got != dev.Path {
				t.Fatalf("FindDevice = %q, %v; want %s", got, err, dev.Path)
			}
		})
	}

	t.Run("serial matches", func(t *testing.T) {
		root := t.TempDir()
		symlink(t, dev.Path, filepath.Join(root, "dev/disk/by-id/virtio-"+testVolumeID[:20]))
		mkfile(t, filepath.Join(root, "sys/block", base, "serial"), testVolumeID[:20]+"\n")
		got, err := NewCinder(testOptions(root)).FindDevice(ctx, testVolumeID, nil)
		if err != nil || got != dev.Path {
			t.Fatalf("FindDevice = %q, %v", got, err)
		}
	})

	t.Run("serial mismatch is refused", func(t *testing.T) {
		root := t.TempDir()
		symlink(t, dev.Path, filepath.Join(root, "dev/disk/by-id/virtio-"+testVolumeID[:20]))
		mkfile(t, filepath.Join(root, "sys/block", base, "serial"), "ffffffff-0000-0000-0")
		got, err := NewCinder(testOptions(root)).FindDevice(ctx, testVolumeID, nil)
		if err == nil || !errors.Is(err, backend.ErrFailedPrecondition) || !strings.Contains(err.Error(), "serial") {
			t.Fatalf("FindDevice = %q, %v; want a serial mismatch", got, err)
		}
	})

	t.Run("missing", func(t *testing.T) {
		root := t.TempDir()
		mkfile(t, filepath.Join(root, "sys/class/scsi_host/host1/scan"), "")
		_, err := NewCinder(testOptions(root)).FindDevice(ctx, testVolumeID, nil)
		if !errors.Is(err, backend.ErrNotFound) {
			t.Fatalf("FindDevice: %v, want ErrNotFound", err)
		}
		if s := readFile(t, filepath.Join(root, "sys/class/scsi_host/host1/scan")); s != "- - -" {
			t.Errorf("no SCSI rescan while polling (scan = %q)", s)
		}
	})
}

func TestSerialMatches(t *testing.T) {
	for serial, want := range map[string]bool{
		testVolumeID:      true,
		testVolumeID[:20]: true,
		strings.ReplaceAll(testVolumeID, "-", ""): true,
		testVolumeID[:19]:                         false,
		"deadbeef":                                false,
	} {
		if got := serialMatches(serial, testVolumeID); got != want {
			t.Errorf("serialMatches(%q) = %t, want %t", serial, got, want)
		}
	}
}

func TestCinderLinksShortID(t *testing.T) {
	links := cinderLinks("short-id")
	if len(links) != 3 {
		t.Fatalf("links for a short ID should be deduplicated: %v", links)
	}
}
