package cinderdisk

import (
	"context"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

var _ backend.CreateResumer = (*Backend)(nil)

// ResumeCreate implements backend.CreateResumer: a volume found by name
// may still be creating (the controller died or timed out while waiting);
// it becomes usable only once available, so finish that wait. (The
// reference driver answers at once, and the attach then fails.)
func (b *Backend) ResumeCreate(ctx context.Context, disk *backend.Disk) (*backend.Disk, error) {
	if disk.Status != backend.StatusCreating {
		return disk, nil
	}
	klog.FromContext(ctx).Info("Waiting for a volume found by name to become available", "volumeID", disk.ID)
	v, err := b.waitAvailable(ctx, disk.ID)
	if err != nil {
		return nil, err
	}
	return diskOf(v), nil
}
