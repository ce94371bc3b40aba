// Package loopdev gives tests real block devices: sparse files attached to
// loop devices with losetup. It is for tests only; everything it creates
// is removed in t.Cleanup.
package loopdev

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Require skips the test unless it runs as root with the given tools (and
// losetup) available.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs root and loop devices; skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for loop devices and mounts")
	}
	for _, tool := range append([]string{"losetup"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (%v); run hack/install-deps.sh", tool, err)
		}
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("no loop device support: %v", err)
	}
}

// Device is a loop device backed by a sparse file.
type Device struct {
	Path string // /dev/loopN
	File string // backing file
}

// New attaches a sparse file of sizeBytes to a free loop device.
func New(t testing.TB, sizeBytes int64) *Device {
	t.Helper()
	file := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(sizeBytes); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", file).CombinedOutput()
	if err != nil {
		t.Skipf("losetup failed (no free loop device?): %v: %s", err, out)
	}
	d := &Device{Path: strings.TrimSpace(string(out)), File: file}
	t.Cleanup(func() { d.Detach(t) })
	return d
}

// Grow enlarges the backing file and tells the kernel (losetup -c).
func (d *Device) Grow(t testing.TB, sizeBytes int64) {
	t.Helper()
	if err := os.Truncate(d.File, sizeBytes); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("losetup", "-c", d.Path).CombinedOutput(); err != nil {
		t.Fatalf("losetup -c %s: %v: %s", d.Path, err, out)
	}
}

// Detach removes the loop device (idempotent).
func (d *Device) Detach(t testing.TB) {
	t.Helper()
	if d.Path == "" {
		return
	}
	if out, err := exec.Command("losetup", "-d", d.Path).CombinedOutput(); err != nil {
		t.Logf("losetup -d %s: %v: %s", d.Path, err, out)
	}
	d.Path = ""
}

// UnmountUnder registers a cleanup that unmounts everything mounted below
// dir (deepest first), so that t.TempDir can be removed. Call it right
// after creating dir.
func UnmountUnder(t testing.TB, dir string) {
	t.Helper()
	t.Cleanup(func() {
		for _, mp := range mountsUnder(t, dir) {
			if out, err := exec.Command("umount", "-l", mp).CombinedOutput(); err != nil {
				t.Logf("umount %s: %v: %s", mp, err, out)
			}
		}
	})
}

func mountsUnder(t testing.TB, dir string) []string {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		t.Logf("reading mounts: %v", err)
		return nil
	}
	defer func() { _ = f.Close() }()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		p := strings.ReplaceAll(fields[1], `\040`, " ")
		if p == dir || strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	slices.Reverse(out)
	return out
}
