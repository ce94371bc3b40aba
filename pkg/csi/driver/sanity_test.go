package driver

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// TestSanityWithFakes runs csi-sanity against the driver in ModeAll over
// the in-memory cloud and an in-memory mounter. It checks the driver's
// spec conformance (error codes, idempotency); the cloud backends run it
// again against their simulators.
func TestSanityWithFakes(t *testing.T) {
	if testing.Short() {
		t.Skip("csi-sanity takes a while")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "csi.sock")
	cloud := newFakeCloud("i-node1")
	d := newTestDriver(t, Options{
		Mode:     ModeAll,
		Profile:  profile.Cinder{},
		Endpoint: "unix://" + sock,
		Disks:    cloud,
		Finder:   fakeFinder{device: "/dev/fake-disk"},
		Mounter:  newFakeMounter(),
		Identity: backend.StaticIdentity{ID: "i-node1", ZoneName: "nova"},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("driver did not stop")
		}
	})

	cfg := sanity.NewTestConfig()
	cfg.Address = "unix://" + sock
	cfg.TargetPath = filepath.Join(dir, "mount")
	cfg.StagingPath = filepath.Join(dir, "staging")
	cfg.TestNodeVolumeAttachLimit = false
	sanity.Test(t, cfg)
}

// fakeMounter is an in-memory backend.Mounter: it creates directories
// and files for real but only records mounts.
type fakeMounter struct {
	mu     sync.Mutex
	mounts map[string]string // target -> source
}

var _ backend.Mounter = (*fakeMounter)(nil)

func newFakeMounter() *fakeMounter { return &fakeMounter{mounts: map[string]string{}} }

func (m *fakeMounter) FormatAndMount(source, target, _ string, _ []string) error {
	return m.Mount(source, target, "", nil)
}

func (m *fakeMounter) Mount(source, target, _ string, _ []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mounts[filepath.Clean(target)] = filepath.Clean(source)
	return nil
}

func (m *fakeMounter) Unmount(target string) error {
	m.mu.Lock()
	delete(m.mounts, filepath.Clean(target))
	m.mu.Unlock()
	if err := os.RemoveAll(target); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

func (m *fakeMounter) IsLikelyNotMountPoint(path string) (bool, error) {
	mounted, err := m.IsMountPoint(path)
	return !mounted, err
}

func (m *fakeMounter) IsMountPoint(path string) (bool, error) {
	if _, err := os.Stat(path); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.mounts[filepath.Clean(path)]
	return ok, nil
}

func (m *fakeMounter) GetDeviceNameFromMount(path string) (string, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	src, ok := m.mounts[filepath.Clean(path)]
	if !ok {
		return "", 0, nil
	}
	for {
		next, ok := m.mounts[src]
		if !ok {
			break
		}
		src = next
	}
	return src, 1, nil
}

func (m *fakeMounter) GetMountRefs(path string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	path = filepath.Clean(path)
	var refs []string
	for target, src := range m.mounts {
		if src == path && target != path {
			refs = append(refs, target)
		}
	}
	return refs, nil
}

func (m *fakeMounter) PathExists(path string) (bool, error) {
	_, err := os.Stat(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	return err == nil, err
}

func (m *fakeMounter) MakeDir(path string) error { return os.MkdirAll(path, 0o750) }

func (m *fakeMounter) MakeFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o640)
	if err != nil {
		return err
	}
	return f.Close()
}

func (m *fakeMounter) NeedResize(string, string) (bool, error) { return false, nil }
func (m *fakeMounter) ResizeFS(string, string) (bool, error)   { return true, nil }

func (m *fakeMounter) GetStatistics(string) (backend.VolumeStatistics, error) {
	return backend.VolumeStatistics{TotalBytes: 10 << 30, AvailableBytes: 9 << 30, UsedBytes: 1 << 30, TotalInodes: 1000, FreeInodes: 900, UsedInodes: 100}, nil
}

// GetBlockSizeBytes reports a device larger than any test volume, as
// NodeExpandVolume refuses devices smaller than the requested size.
func (m *fakeMounter) GetBlockSizeBytes(string) (int64, error) { return 1 << 40, nil }
func (m *fakeMounter) DeviceExists(string) (bool, error)       { return true, nil }
