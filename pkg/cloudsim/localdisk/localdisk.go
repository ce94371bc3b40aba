// Package localdisk gives simulated cloud volumes a real block device on
// this machine: a sparse backing file per volume, attached to a loop device
// while the volume is attached to an instance that represents the local
// machine, with the symlinks the node plugin looks for (by-path for
// NIFCLOUD's SCSI slots, by-id for OpenStack's virtio serials) created under
// a configurable root instead of the real /dev.
package localdisk

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Manager creates and removes local block devices for volumes.
type Manager interface {
	// Attach makes the volume's device appear and creates each link (paths
	// relative to the manager's root) pointing at it. It returns the device.
	Attach(volumeID string, sizeBytes int64, links []string) (string, error)
	// Detach removes the links and the loop device, keeping the data.
	Detach(volumeID string) error
	// Resize grows the backing file and tells the kernel about it.
	Resize(volumeID string, sizeBytes int64) error
	// Delete removes the backing data of a deleted volume.
	Delete(volumeID string) error
	// Root is the directory the links are created under.
	Root() string
}

// DataCopier is optionally implemented by a Manager that can copy a
// volume's data: snapshots, restores and clones then carry real bytes.
type DataCopier interface {
	// CopyData copies from's backing data to to's (sparse); a source
	// without data (never attached) copies nothing.
	CopyData(from, to string) error
}

var _ DataCopier = (*LoopManager)(nil)

// LoopManager implements Manager with losetup. It needs root.
type LoopManager struct {
	root    string // links are created below root
	dataDir string // sparse backing files
	mu      sync.Mutex
	devices map[string]attached
}

type attached struct {
	device string
	links  []string
}

// NewLoopManager returns a manager that keeps backing files in dataDir and
// creates links under root.
func NewLoopManager(root, dataDir string) (*LoopManager, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("localdisk data dir: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("localdisk root: %w", err)
	}
	return &LoopManager{root: root, dataDir: dataDir, devices: map[string]attached{}}, nil
}

// Root implements Manager.
func (m *LoopManager) Root() string { return m.root }

func (m *LoopManager) backing(volumeID string) string {
	return filepath.Join(m.dataDir, sanitize(volumeID)+".img")
}

// Attach implements Manager.
func (m *LoopManager) Attach(volumeID string, sizeBytes int64, links []string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.devices[volumeID]; ok {
		return a.device, nil
	}
	file := m.backing(volumeID)
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("backing file: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.Size() < sizeBytes {
		err = f.Truncate(sizeBytes)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("size backing file: %w", err)
	}
	out, err := exec.Command("losetup", "--find", "--show", file).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("losetup %s: %v: %s", file, err, strings.TrimSpace(string(out)))
	}
	dev := strings.TrimSpace(string(out))
	var made []string
	for _, l := range links {
		p := filepath.Join(m.root, l)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			m.undo(dev, made)
			return "", err
		}
		_ = os.Remove(p)
		if err := os.Symlink(dev, p); err != nil {
			m.undo(dev, made)
			return "", fmt.Errorf("link %s: %w", p, err)
		}
		made = append(made, p)
	}
	m.devices[volumeID] = attached{device: dev, links: made}
	return dev, nil
}

func (m *LoopManager) undo(dev string, links []string) {
	for _, l := range links {
		_ = os.Remove(l)
	}
	_ = exec.Command("losetup", "-d", dev).Run()
}

// Detach implements Manager.
func (m *LoopManager) Detach(volumeID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.devices[volumeID]
	if !ok {
		return nil
	}
	for _, l := range a.links {
		_ = os.Remove(l)
	}
	if out, err := exec.Command("losetup", "-d", a.device).CombinedOutput(); err != nil {
		return fmt.Errorf("losetup -d %s: %v: %s", a.device, err, strings.TrimSpace(string(out)))
	}
	delete(m.devices, volumeID)
	return nil
}

// Resize implements Manager.
func (m *LoopManager) Resize(volumeID string, sizeBytes int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	file := m.backing(volumeID)
	if err := os.Truncate(file, sizeBytes); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("grow backing file: %w", err)
	}
	if a, ok := m.devices[volumeID]; ok {
		if out, err := exec.Command("losetup", "-c", a.device).CombinedOutput(); err != nil {
			return fmt.Errorf("losetup -c %s: %v: %s", a.device, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// Delete implements Manager.
func (m *LoopManager) Delete(volumeID string) error {
	if err := m.Detach(volumeID); err != nil {
		return err
	}
	if err := os.Remove(m.backing(volumeID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// CopyData implements DataCopier with cp --sparse=always (a 100 GB sparse
// disk costs only its written blocks). Snapshot data is kept under IDs the
// caller chooses (e.g. "snapshot-<id>").
func (m *LoopManager) CopyData(from, to string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	src := m.backing(from)
	if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if out, err := exec.Command("cp", "--sparse=always", src, m.backing(to)).CombinedOutput(); err != nil {
		return fmt.Errorf("copying the data of %s to %s: %v: %s", from, to, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// DetachAll releases every loop device; used on simulator shutdown.
func (m *LoopManager) DetachAll() {
	m.mu.Lock()
	ids := make([]string, 0, len(m.devices))
	for id := range m.devices {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	for _, id := range ids {
		_ = m.Detach(id)
	}
}

func sanitize(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == os.PathSeparator {
			return '_'
		}
		return r
	}, id)
}
