package driver

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

const (
	// defaultFSType is used when a mount capability names no file system.
	defaultFSType = "ext4"
	// reservedParamPrefix marks parameters added by the external-provisioner
	// (e.g. csi.storage.k8s.io/pvc/name with --extra-create-metadata).
	reservedParamPrefix = "csi.storage.k8s.io/"
	// VolumeContextResizeRequired is set in the volume context of volumes
	// created from a snapshot or another volume: NodeStageVolume then grows
	// the file system to the (possibly larger) disk.
	VolumeContextResizeRequired = "kumo-project.io/resize-required"
)

// supportedFSTypes are the file systems NodeStageVolume can create.
func supportedFSTypes() []string { return []string{"ext2", "ext3", "ext4", "xfs"} }

func invalidArg(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// require returns InvalidArgument naming the first empty field.
func require(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] == "" {
			return invalidArg("%s is required", fields[i])
		}
	}
	return nil
}

// validateCapability checks one volume capability against the profile.
func (d *Driver) validateCapability(c *csi.VolumeCapability) error {
	if c == nil {
		return invalidArg("volume capability is required")
	}
	mode := c.GetAccessMode().GetMode()
	if mode == csi.VolumeCapability_AccessMode_UNKNOWN {
		return invalidArg("volume capability access mode is required")
	}
	if !slices.Contains(d.profile.SupportedAccessModes(), backend.AccessMode(mode)) {
		return invalidArg("access mode %s is not supported by %s", mode, d.profile.Name())
	}
	switch t := c.GetAccessType().(type) {
	case *csi.VolumeCapability_Block:
	case *csi.VolumeCapability_Mount:
		fs := strings.ToLower(t.Mount.GetFsType())
		if fs != "" && !slices.Contains(supportedFSTypes(), fs) {
			return invalidArg("fs_type %q is not supported (want one of %s)", t.Mount.GetFsType(), strings.Join(supportedFSTypes(), ", "))
		}
		if t.Mount.GetVolumeMountGroup() != "" {
			return invalidArg("volume_mount_group is not supported")
		}
	default:
		return invalidArg("volume capability access type (block or mount) is required")
	}
	return nil
}

// validateCapabilities checks a non-empty list of capabilities.
func (d *Driver) validateCapabilities(caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return invalidArg("volume capabilities are required")
	}
	for _, c := range caps {
		if err := d.validateCapability(c); err != nil {
			return err
		}
	}
	return nil
}

func isBlock(c *csi.VolumeCapability) bool { return c.GetBlock() != nil }

// fsTypeOf returns the file system of a mount capability (default ext4).
func fsTypeOf(c *csi.VolumeCapability) string {
	if fs := strings.ToLower(c.GetMount().GetFsType()); fs != "" {
		return fs
	}
	return defaultFSType
}

// isReadOnlyMode reports access modes that forbid writes.
func isReadOnlyMode(c *csi.VolumeCapability) bool {
	switch c.GetAccessMode().GetMode() {
	case csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY, csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY:
		return true
	}
	return false
}

// splitParameters separates reserved provisioner keys (metadata for the
// disk) from the StorageClass parameters proper.
func splitParameters(in map[string]string) (params, metadata map[string]string) {
	params, metadata = map[string]string{}, map[string]string{}
	for k, v := range in {
		if strings.HasPrefix(k, reservedParamPrefix) {
			metadata[k] = v
			continue
		}
		params[k] = v
	}
	return params, metadata
}

// parseParameters validates StorageClass parameters through the profile;
// errors are InvalidArgument and name the offending key.
func (d *Driver) parseParameters(in map[string]string) (backend.Parameters, map[string]string, error) {
	params, metadata := splitParameters(in)
	p, err := d.profile.ParseParameters(params)
	if err != nil {
		return backend.Parameters{}, nil, status.Errorf(codes.InvalidArgument, "invalid parameters: %v", err)
	}
	return p, metadata, nil
}

// validateCapacityRange rejects negative or inverted ranges.
func validateCapacityRange(r *csi.CapacityRange) error {
	req, lim := r.GetRequiredBytes(), r.GetLimitBytes()
	if req < 0 || lim < 0 {
		return invalidArg("capacity_range must not be negative (required_bytes %d, limit_bytes %d)", req, lim)
	}
	if lim > 0 && req > lim {
		return status.Errorf(codes.OutOfRange, "required_bytes %d exceeds limit_bytes %d", req, lim)
	}
	return nil
}

// roundSize applies the profile's size rules to a capacity range.
func (d *Driver) roundSize(r *csi.CapacityRange) (int64, error) {
	if err := validateCapacityRange(r); err != nil {
		return 0, err
	}
	size, err := d.profile.RoundSize(r.GetRequiredBytes(), r.GetLimitBytes())
	if err != nil {
		return 0, StatusFromError(err, "capacity range")
	}
	return size, nil
}

// describeParams is a stable rendering of parameters for messages.
func describeParams(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%s", k, m[k]))
	}
	return strings.Join(parts, ",")
}
