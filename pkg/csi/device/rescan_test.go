package device

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kumo-project/kumo/pkg/csi/internal/loopdev"
)

// deviceSize is the size of a block device as the kernel reports it.
func deviceSize(t *testing.T, dev string) int64 {
	t.Helper()
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	n, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A loop device whose backing file grew is rescanned like "losetup -c";
// a SCSI-like sysfs rescan attribute, when present, is used instead.
func TestRescanDevice(t *testing.T) {
	loopdev.Require(t)
	dev := loopdev.New(t, 16<<20)
	ctx := context.Background()
	f := NewCinder(testOptions(t.TempDir())) // no sysfs under this root

	if err := os.Truncate(dev.File, 32<<20); err != nil {
		t.Fatal(err)
	}
	if got := deviceSize(t, dev.Path); got != 16<<20 {
		t.Fatalf("size before the rescan = %d, want the old 16 MiB", got)
	}
	if err := f.RescanDevice(ctx, dev.Path); err != nil {
		t.Fatalf("RescanDevice(loop): %v", err)
	}
	if got := deviceSize(t, dev.Path); got != 32<<20 {
		t.Errorf("size after the rescan = %d, want 32 MiB", got)
	}

	root := t.TempDir()
	rescan := filepath.Join(root, "sys/block", filepath.Base(dev.Path), "device/rescan")
	mkfile(t, rescan, "")
	if err := os.Truncate(dev.File, 48<<20); err != nil {
		t.Fatal(err)
	}
	if err := NewCinder(testOptions(root)).RescanDevice(ctx, dev.Path); err != nil || readFile(t, rescan) != "1" {
		t.Errorf("RescanDevice(sysfs): %v, rescan = %q", err, readFile(t, rescan))
	}
	if got := deviceSize(t, dev.Path); got != 32<<20 {
		t.Errorf("size = %d: the loop device was rescanned although a sysfs rescan attribute exists", got)
	}
}

// Devices with nothing to rescan (virtio-blk, here a character device)
// are left alone; a missing device or an unwritable attribute is an error.
func TestRescanDeviceNothingOrError(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	f := NewCinder(testOptions(root))
	if err := f.RescanDevice(ctx, "/dev/null"); err != nil {
		t.Errorf("RescanDevice(/dev/null) = %v, want nothing done", err)
	}
	if err := f.RescanDevice(ctx, filepath.Join(root, "dev/vdz")); err == nil {
		t.Error("RescanDevice of a missing device succeeded")
	}
	if err := os.MkdirAll(filepath.Join(root, "sys/block/sdq/device/rescan"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := f.RescanDevice(ctx, "/dev/sdq"); err == nil {
		t.Error("RescanDevice with an unwritable rescan attribute succeeded")
	}
}
