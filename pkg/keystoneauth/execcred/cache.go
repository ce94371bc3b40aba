package execcred

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// cachedToken is one cache file; the file is 0600 in a 0700 directory.
type cachedToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func cachePath(dir string, o *Options) string {
	h := sha256.Sum256([]byte(o.cacheKey()))
	return filepath.Join(dir, hex.EncodeToString(h[:16])+".json")
}

// readCache returns a cached token still valid at now+margin, or nil.
func readCache(dir string, o *Options, now time.Time, margin time.Duration) *cachedToken {
	data, err := os.ReadFile(cachePath(dir, o))
	if err != nil {
		return nil
	}
	var c cachedToken
	if json.Unmarshal(data, &c) != nil || c.Token == "" || !now.Add(margin).Before(c.ExpiresAt) {
		return nil
	}
	return &c
}

// writeCache stores the token atomically (rename) with owner-only access.
func writeCache(dir string, o *Options, c cachedToken) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	data, _ := json.Marshal(c)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // after a rename: nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("token cache: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("token cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	return os.Rename(tmp.Name(), cachePath(dir, o))
}

// dropCache forgets the cached token (after Keystone refused it).
func dropCache(dir string, o *Options) error {
	if err := os.Remove(cachePath(dir, o)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
