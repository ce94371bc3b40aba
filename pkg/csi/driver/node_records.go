package driver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// volumeRecord is what the node plugin remembers about a volume it staged
// or published, so that unstage/unpublish/expand act only on paths it
// mounted for that volume. It lives in a file under the kubelet root, so
// it survives plugin restarts.
type volumeRecord struct {
	VolumeID string   `json:"volumeID"`
	Staging  string   `json:"staging,omitempty"`
	Device   string   `json:"device,omitempty"`
	Targets  []string `json:"targets,omitempty"`
}

// holds reports whether path is the record's staging path or a target.
func (r *volumeRecord) holds(path string) bool {
	return r != nil && (r.Staging == path || slices.Contains(r.Targets, path))
}

// recordStore keeps one JSON file per volume in dir. Records are written
// before a mount is made (an intent) and dropped after it is gone, so a
// crash between the two leaves the plugin able to clean up.
type recordStore struct {
	dir string
	mu  sync.Mutex
}

func newRecordStore(dir string) *recordStore { return &recordStore{dir: dir} }

// file names hash the ID: IDs are validated, but a file name must not
// depend on that.
func (s *recordStore) file(volumeID string) string {
	sum := sha256.Sum256([]byte(volumeID))
	return filepath.Join(s.dir, hex.EncodeToString(sum[:])+".json")
}

// get returns the volume's record, nil if there is none.
func (s *recordStore) get(volumeID string) (*volumeRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read(volumeID)
}

func (s *recordStore) read(volumeID string) (*volumeRecord, error) {
	b, err := os.ReadFile(s.file(volumeID))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("reading the node record of volume %s: %w", volumeID, err)
	}
	var r volumeRecord
	if err := json.Unmarshal(b, &r); err != nil || r.VolumeID != volumeID {
		return nil, fmt.Errorf("node record %s of volume %s is corrupt (%v)", s.file(volumeID), volumeID, err)
	}
	return &r, nil
}

// update applies change to the volume's record (a new one if absent) and
// writes it atomically; a record left empty is deleted.
func (s *recordStore) update(volumeID string, change func(*volumeRecord)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.read(volumeID)
	if err != nil {
		return err
	}
	if r == nil {
		r = &volumeRecord{VolumeID: volumeID}
	}
	change(r)
	path := s.file(volumeID)
	if r.Staging == "" && len(r.Targets) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing the node record of volume %s: %w", volumeID, err)
		}
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("creating the node record directory: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("writing the node record of volume %s: %w", volumeID, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing the node record of volume %s: %w", volumeID, err)
	}
	return nil
}

func (s *recordStore) staged(volumeID, staging, device string) error {
	return s.update(volumeID, func(r *volumeRecord) { r.Staging, r.Device = staging, device })
}

func (s *recordStore) unstaged(volumeID string) error {
	return s.update(volumeID, func(r *volumeRecord) { r.Staging, r.Device = "", "" })
}

func (s *recordStore) published(volumeID, target string) error {
	return s.update(volumeID, func(r *volumeRecord) {
		if !slices.Contains(r.Targets, target) {
			r.Targets = append(r.Targets, target)
		}
	})
}

func (s *recordStore) unpublished(volumeID, target string) error {
	return s.update(volumeID, func(r *volumeRecord) {
		r.Targets = slices.DeleteFunc(r.Targets, func(t string) bool { return t == target })
	})
}
