package simcore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Store persists a simulator's state as JSON in one file, written
// atomically (temp file + rename) so a crash never leaves half a state.
// An empty path disables persistence.
type Store struct {
	path string
}

// NewStore returns a store writing to path ("" = in memory only).
func NewStore(path string) *Store { return &Store{path: path} }

// Enabled reports whether state is persisted.
func (s *Store) Enabled() bool { return s != nil && s.path != "" }

// Load decodes the saved state into v. It returns false, nil when there is
// no saved state yet.
func (s *Store) Load(v any) (bool, error) {
	if !s.Enabled() {
		return false, nil
	}
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read state %s: %w", s.path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("decode state %s: %w", s.path, err)
	}
	return true, nil
}

// Save writes v. Callers hold their own state lock while calling it so the
// file always matches a consistent snapshot.
func (s *Store) Save(v any) error {
	if !s.Enabled() {
		return nil
	}
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, ".state-*")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	// On failure the temp file is removed best effort: the write error is the
	// one worth returning, and a stray dot-file does not affect Load.
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write state: %w", err)
	}
	return os.Rename(tmp.Name(), s.path)
}
