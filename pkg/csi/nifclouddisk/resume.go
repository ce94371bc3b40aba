package nifclouddisk

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

var _ backend.CreateResumer = (*Disks)(nil)

// ResumeCreate implements backend.CreateResumer: a disk found by name may
// still be attached to the instance it was created on (the controller died
// or timed out between CreateVolume and the detach). Finishing the create
// detaches it from there only; a disk a node has published (attached after
// the creation) is already complete and stays attached.
func (d *Disks) ResumeCreate(ctx context.Context, disk *backend.Disk) (*backend.Disk, error) {
	if !isKumoID(disk.ID) {
		return nil, fmt.Errorf("volume %s was not created by kumo: %w", disk.ID, backend.ErrNotFound)
	}
	if disk.Status == backend.StatusAvailable && len(disk.AttachedNodes) == 0 {
		return disk, nil
	}
	klog.FromContext(ctx).Info("Finishing an interrupted disk creation", "volumeID", disk.ID, "status", disk.Status, "attachedTo", disk.AttachedNodes)
	v, err := d.finishCreate(ctx, disk.ID, Description(disk.Name), "")
	if err != nil {
		return nil, err
	}
	return toDisk(v), nil
}
