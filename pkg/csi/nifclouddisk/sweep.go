package nifclouddisk

import (
	"context"
	"time"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// Defaults of the sweeper of half-created disks.
const (
	DefaultSweepInterval = 5 * time.Minute
	// DefaultSweepGrace is well above DefaultTimeout, so a create still
	// being finished by a live request is never swept.
	DefaultSweepGrace = 10 * time.Minute
)

// StartSweeper runs the sweeper (see sweep) every SweepInterval in a
// goroutine until ctx ends. The controller calls it once.
func (d *Disks) StartSweeper(ctx context.Context) {
	logger := klog.FromContext(ctx).WithName("sweeper")
	ctx = klog.NewContext(ctx, logger)
	logger.V(2).Info("Sweeping half-created disks", "interval", d.opts.SweepInterval, "grace", d.opts.SweepGrace)
	go func() {
		t := time.NewTicker(d.opts.SweepInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if n, err := d.sweep(ctx); err != nil {
				logger.Error(err, "Sweeping half-created disks failed; trying again next time")
			} else if n > 0 {
				logger.Info("Removed half-created disks", "count", n)
			}
		}
	}()
}

// sweep removes kumo disks older than SweepGrace that are still attached
// to their creation host: their CreateVolume never succeeded (success
// needs the detach) and the controller that sent it is gone, so the CO
// holds no volume for them and no node ever used them. Such a disk holds
// no data, so it is detached and deleted; a retried CreateVolume simply
// makes it again. A disk attached to any other instance (a publish), not
// of kumo's ID form, or younger than the grace is never touched. One tick
// costs one shared DescribeVolumes listing; each swept disk adds a
// DetachVolume, a DeleteVolume and the shared polls of their waits.
func (d *Disks) sweep(ctx context.Context) (int, error) {
	vols, err := d.listVolumes(ctx)
	if err != nil {
		return 0, err
	}
	now, removed := time.Now(), 0
	for i := range vols {
		v := &vols[i]
		host, ok := d.strandedHost(v, now)
		if !ok {
			continue
		}
		logger := klog.FromContext(ctx).WithValues("volumeID", v.VolumeID, "hostInstanceID", host, "createTime", v.CreateTime)
		logger.Info("Removing a disk left attached to its creation host")
		if err := d.removeDisk(klog.NewContext(ctx, logger), v.VolumeID, host); err != nil {
			logger.Error(err, "Removing the half-created disk failed")
			continue
		}
		removed++
	}
	return removed, nil
}

// strandedHost returns the creation host of v if the sweeper may remove v.
func (d *Disks) strandedHost(v *nifcloud.Volume, now time.Time) (string, bool) {
	if !isKumoID(v.VolumeID) {
		return "", false
	}
	created, err := parseAPITime(v.CreateTime)
	if err != nil || now.Sub(created) < d.opts.SweepGrace {
		return "", false
	}
	att, active := creationAttachments(v, d.opts.CreationWindow), activeAttachments(v)
	// Exactly one attachment, and it is the creation's: anything else
	// means a node is involved.
	if len(att) != 1 || len(active) != 1 {
		return "", false
	}
	return att[0].InstanceID, true
}
