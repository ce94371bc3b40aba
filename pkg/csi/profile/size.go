// Package profile holds the backend.Profile of each cloud kumo supports:
// driver names, topology keys, StorageClass parameter validation, size
// rounding, attach limits and features.
package profile

import (
	"fmt"
	"math"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// GiB is 2^30 bytes.
const GiB int64 = 1 << 30

// roundSize rounds requiredBytes (defaultBytes when 0) up to a multiple of
// step and checks the result against limitBytes (0 = none) and maxBytes
// (0 = none).
func roundSize(requiredBytes, limitBytes, defaultBytes, step, maxBytes int64) (int64, error) {
	if requiredBytes < 0 || limitBytes < 0 {
		return 0, fmt.Errorf("negative capacity range (required %d, limit %d): %w", requiredBytes, limitBytes, backend.ErrOutOfRange)
	}
	size := requiredBytes
	if size == 0 {
		size = defaultBytes
		if limitBytes > 0 && limitBytes < size {
			// No explicit size: the smallest size that fits the limit.
			size = limitBytes
		}
	}
	if size > math.MaxInt64-step {
		return 0, fmt.Errorf("required size %d bytes is too large: %w", requiredBytes, backend.ErrOutOfRange)
	}
	size = (size + step - 1) / step * step
	if limitBytes > 0 && size > limitBytes {
		return 0, fmt.Errorf("volume size %d bytes (required %d rounded up to a multiple of %d) exceeds limit %d bytes: %w",
			size, requiredBytes, step, limitBytes, backend.ErrOutOfRange)
	}
	if maxBytes > 0 && size > maxBytes {
		return 0, fmt.Errorf("volume size %d bytes exceeds the maximum of %d bytes: %w", size, maxBytes, backend.ErrOutOfRange)
	}
	return size, nil
}

func invalidParam(key, format string, args ...any) error {
	return fmt.Errorf("parameter %q: %s: %w", key, fmt.Sprintf(format, args...), backend.ErrInvalidArgument)
}

// singleNodeModes are the access modes of a disk attached to one node.
func singleNodeModes() []backend.AccessMode {
	return []backend.AccessMode{
		backend.SingleNodeWriter,
		backend.SingleNodeSingleWriter,
		backend.SingleNodeMultiWriter,
	}
}
