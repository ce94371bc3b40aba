//go:build linux

package mounter

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/kumo-project/kumo/pkg/csi/internal/loopdev"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLinuxMounter(t *testing.T) {
	loopdev.Require(t, "mkfs.ext4", "blkid", "umount")
	dev := loopdev.New(t, 64<<20)
	work := t.TempDir()
	loopdev.UnmountUnder(t, work)
	m := New()
	staging := filepath.Join(work, "staging")
	target := filepath.Join(work, "target")
	blockTarget := filepath.Join(work, "block", "dev")

	must(t, m.MakeDir(staging))
	if notMnt, err := m.IsLikelyNotMountPoint(staging); err != nil || !notMnt {
		t.Fatalf("fresh directory: notMnt %t, %v", notMnt, err)
	}
	if _, err := m.IsLikelyNotMountPoint(filepath.Join(work, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: %v, want ErrNotExist", err)
	}
	must(t, m.FormatAndMount(dev.Path, staging, "ext4", []string{"noatime"}))
	if ok, err := m.IsMountPoint(staging); err != nil || !ok {
		t.Fatalf("staging not mounted: %t, %v", ok, err)
	}
	if d, refs, err := m.GetDeviceNameFromMount(staging); err != nil || d != dev.Path || refs != 1 {
		t.Errorf("GetDeviceNameFromMount = %q, %d, %v", d, refs, err)
	}

	must(t, m.MakeDir(target))
	must(t, m.Mount(staging, target, "ext4", []string{"bind", "ro"}))
	if ok, err := m.IsMountPoint(target); err != nil || !ok {
		t.Fatalf("bind mount not detected: %t, %v", ok, err)
	}
	if err := os.WriteFile(filepath.Join(target, "x"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("read-only bind mount is writable: %v", err)
	}
	if refs, err := m.GetMountRefs(staging); err != nil || !slices.Contains(refs, target) {
		t.Errorf("GetMountRefs = %v, %v", refs, err)
	}

	st, err := m.GetStatistics(staging)
	must(t, err)
	if st.TotalBytes <= 0 || st.AvailableBytes <= 0 || st.UsedBytes <= 0 || st.TotalInodes <= 0 || st.UsedInodes+st.FreeInodes != st.TotalInodes {
		t.Errorf("statistics = %+v", st)
	}
	if size, err := m.GetBlockSizeBytes(dev.Path); err != nil || size != 64<<20 {
		t.Errorf("GetBlockSizeBytes = %d, %v", size, err)
	}
	if ok, err := m.DeviceExists(dev.Path); err != nil || !ok {
		t.Errorf("DeviceExists(loop) = %t, %v", ok, err)
	}
	if ok, err := m.DeviceExists(filepath.Join(work, "nodev")); err != nil || ok {
		t.Errorf("DeviceExists(missing) = %t, %v", ok, err)
	}
	if need, err := m.NeedResize(dev.Path, staging); err != nil || !need {
		// ext4 always defers to resize2fs.
		t.Errorf("NeedResize = %t, %v", need, err)
	}

	// Raw block: the device bind-mounted onto a file.
	must(t, m.MakeFile(blockTarget))
	must(t, m.Mount(dev.Path, blockTarget, "", []string{"bind"}))
	if ok, err := m.IsMountPoint(blockTarget); err != nil || !ok {
		t.Errorf("block bind mount not detected: %t, %v", ok, err)
	}
	if size, err := m.GetBlockSizeBytes(blockTarget); err != nil || size != 64<<20 {
		t.Errorf("size through the published file = %d, %v", size, err)
	}

	// Unmount is idempotent and removes the mount point, file or directory.
	for _, p := range []string{blockTarget, target, staging} {
		for range 2 {
			must(t, m.Unmount(p))
		}
		if exists, err := m.PathExists(p); err != nil || exists {
			t.Errorf("%s still exists after Unmount (%v)", p, err)
		}
	}
	must(t, m.Unmount(filepath.Join(work, "never-existed")))

}

// "-V" given as a target made mount(8) print its version and succeed with
// nothing mounted; relative paths never reach mount, mkfs or umount.
func TestLinuxMounterRefusesRelativePaths(t *testing.T) {
	m := New()
	dir := t.TempDir()
	for name, err := range map[string]error{
		"mount target":     m.Mount(dir, "-V", "", []string{"bind"}),
		"mount source":     m.Mount("-V", dir, "", []string{"bind"}),
		"format source":    m.FormatAndMount("-V", dir, "ext4", nil),
		"format target":    m.FormatAndMount("/dev/null", "relative/dir", "ext4", nil),
		"unmount option":   m.Unmount("-l"),
		"unmount relative": m.Unmount("relative/dir"),
	} {
		if err == nil {
			t.Errorf("%s: relative path accepted", name)
		}
	}
}
