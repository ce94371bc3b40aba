package driver

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultKubeletRootDir is where kubelets keep pods and plugins unless
// started with --root-dir.
const DefaultKubeletRootDir = "/var/lib/kubelet"

// checkNodePath refuses a node path that the CO could not legitimately
// have passed: relative, not in clean form ("..", "//"), outside the
// kubelet root, or reaching outside it through a symlink in an existing
// ancestor. A path starting with '-' (read by mount(8) as an option) is
// relative and refused with the rest. field names the request field.
func (d *Driver) checkNodePath(field, path string) error {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return status.Errorf(codes.InvalidArgument, "%s %q must be an absolute path in clean form", field, path)
	}
	if !within(d.kubeletRoot, path) {
		return status.Errorf(codes.InvalidArgument, "%s %q is not under the kubelet root directory %s (see --kubelet-root-dir)", field, path, d.kubeletRoot)
	}
	// The last element may be a stale mount point: resolve its parent and
	// refuse a symlink as the element itself.
	parent, err := resolveExisting(filepath.Dir(path))
	if err != nil {
		return status.Errorf(codes.Internal, "%s %q: resolving its directory: %v", field, path, err)
	}
	if !within(d.kubeletRootResolved, parent) {
		return status.Errorf(codes.InvalidArgument, "%s %q leaves the kubelet root directory through a symbolic link (to %s)", field, path, parent)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return status.Errorf(codes.InvalidArgument, "%s %q is a symbolic link", field, path)
	}
	return nil
}

// within reports whether path is root or below it (both clean).
func within(root, path string) bool {
	return path == root || strings.HasPrefix(path, strings.TrimSuffix(root, "/")+"/")
}

// resolveExisting resolves the symlinks of the longest existing prefix of
// path and appends the rest unchanged.
func resolveExisting(path string) (string, error) {
	rest := ""
	for {
		r, err := filepath.EvalSymlinks(path)
		if err == nil {
			return filepath.Join(r, rest), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(path)
		if parent == path {
			return "", err
		}
		rest = filepath.Join(filepath.Base(path), rest)
		path = parent
	}
}

// kubeletClaims reports whether the kubelet's own record of the volume
// next to path (vol_data.json, written before it calls the plugin) names
// this driver and volumeID. It proves ownership of paths staged or
// published by a kumo version that kept no records. Layouts
// (pkg/volume/csi of the kubelet):
//
//	pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount            → <pv>/vol_data.json
//	plugins/kubernetes.io/csi/<driver>/<sha256>/globalmount     → <sha256>/vol_data.json
//	plugins/kubernetes.io/csi/volumeDevices/staging/<pv>        → volumeDevices/<pv>/data/vol_data.json
//	plugins/kubernetes.io/csi/volumeDevices/publish/<pv>/<uid>  → volumeDevices/<pv>/data/vol_data.json
func (d *Driver) kubeletClaims(path, volumeID string) bool {
	for _, f := range kubeletVolDataFiles(path) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var data map[string]string
		if json.Unmarshal(b, &data) == nil && data["volumeHandle"] == volumeID && data["driverName"] == d.name {
			return true
		}
	}
	return false
}

func kubeletVolDataFiles(path string) []string {
	files := []string{filepath.Join(filepath.Dir(path), "vol_data.json")}
	parts := strings.Split(path, "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if parts[i] != "volumeDevices" || i+2 >= len(parts) {
			continue
		}
		if kind := parts[i+1]; kind == "staging" || kind == "publish" {
			base := strings.Join(parts[:i+1], "/")
			files = append(files, filepath.Join(base, parts[i+2], "data", "vol_data.json"))
		}
		break
	}
	return files
}

// removeUnmounted removes a path with nothing mounted on it, as the CO
// expects after unpublish/unstage, but only an empty directory or an empty
// regular file: anything with content is not ours to delete.
func removeUnmounted(field, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return status.Errorf(codes.Internal, "%s %s: %v", field, path, err)
	}
	switch {
	case fi.IsDir():
		entries, err := os.ReadDir(path)
		if err != nil {
			return status.Errorf(codes.Internal, "%s %s: %v", field, path, err)
		}
		if len(entries) > 0 {
			return status.Errorf(codes.FailedPrecondition, "%s %s has nothing mounted but is not empty: left alone", field, path)
		}
	case fi.Mode().IsRegular():
		if fi.Size() > 0 {
			return status.Errorf(codes.FailedPrecondition, "%s %s is a regular file with content, not a volume: left alone", field, path)
		}
	default:
		return status.Errorf(codes.FailedPrecondition, "%s %s is a %s, not a volume: left alone", field, path, fi.Mode().Type())
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return status.Errorf(codes.Internal, "removing %s %s: %v", field, path, err)
	}
	return nil
}

// notOurs is the refusal for a path that holds something this plugin did
// not stage or publish for the volume.
func notOurs(field, path, volumeID string) error {
	return status.Error(codes.FailedPrecondition, fmt.Sprintf(
		"%s %s holds a mount this plugin did not make for volume %s: refusing to touch it", field, path, volumeID))
}

// setUpNodeState resolves the kubelet root and the record directory.
func (d *Driver) setUpNodeState(opts Options) error {
	root := opts.KubeletRootDir
	if root == "" {
		root = DefaultKubeletRootDir
	}
	if !filepath.IsAbs(root) {
		return fmt.Errorf("invalid CSI driver options: kubelet root directory %q is not absolute", root)
	}
	d.kubeletRoot = filepath.Clean(root)
	resolved, err := resolveExisting(d.kubeletRoot)
	if err != nil {
		return fmt.Errorf("resolving the kubelet root directory %s: %w", d.kubeletRoot, err)
	}
	d.kubeletRootResolved = resolved
	dir := opts.StateDir
	if dir == "" {
		dir = filepath.Join(d.kubeletRoot, "plugins", d.name, "node-records")
	}
	d.records = newRecordStore(dir)
	return nil
}

// owns reports whether path was staged or published for volumeID by this
// plugin (its record) or, for mounts made before records were kept, by the
// kubelet for this driver and volume (vol_data.json).
func (d *Driver) owns(volumeID, path string) (bool, error) {
	ok, _, err := d.ownsWithRecord(volumeID, path)
	return ok, err
}

// ownsWithRecord is owns that also returns the volume's record (nil if
// there is none), for callers that check the recorded device too.
func (d *Driver) ownsWithRecord(volumeID, path string) (bool, *volumeRecord, error) {
	r, err := d.records.get(volumeID)
	if err != nil {
		return false, nil, status.Errorf(codes.Internal, "%v", err)
	}
	return r.holds(path) || d.kubeletClaims(path, volumeID), r, nil
}
