package nifclouddisk

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// hostCandidates returns the instances that may host a new disk in zone,
// preferred instances first, and the zone chosen when zone is "".
func (d *Disks) hostCandidates(ctx context.Context, zone string) ([]string, string, error) {
	all, err := d.listInstances(ctx)
	if err != nil {
		return nil, "", err
	}
	usable := slices.DeleteFunc(all, func(in nifcloud.Instance) bool {
		// NIFCLOUD creates disks only on running or stopped servers.
		return in.State.Name != "running" && in.State.Name != "stopped"
	})
	slices.SortFunc(usable, func(a, b nifcloud.Instance) int {
		pa, pb := d.preference(a.InstanceID), d.preference(b.InstanceID)
		if pa != pb {
			return pa - pb
		}
		return strings.Compare(a.InstanceID, b.InstanceID)
	})
	if zone == "" {
		zone = d.opts.Zone
	}
	if zone == "" && len(usable) > 0 {
		zone = usable[0].Placement.AvailabilityZone
		klog.FromContext(ctx).V(2).Info("No zone requested; using the zone of an instance", "zone", zone, "instanceID", usable[0].InstanceID)
	}
	var hosts []string
	for _, in := range usable {
		if in.Placement.AvailabilityZone == zone {
			hosts = append(hosts, in.InstanceID)
		}
	}
	if len(hosts) == 0 {
		return nil, zone, fmt.Errorf("no running or stopped instance in zone %q to create the disk on (NIFCLOUD creates disks attached to a server): %w",
			zone, backend.ErrQuota)
	}
	return hosts, zone, nil
}

// preference orders instances: the configured ones by position, then all
// others.
func (d *Disks) preference(id string) int {
	if i := slices.Index(d.opts.PreferredInstances, id); i >= 0 {
		return i
	}
	return len(d.opts.PreferredInstances)
}

// listInstances returns all instances, listed at most once per
// InstanceCacheTTL (host selection does not need fresh data: a bad choice
// fails CreateVolume, which pauses the host, and a vanished host drops the
// cache).
func (d *Disks) listInstances(ctx context.Context) ([]nifcloud.Instance, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.instances != nil && time.Since(d.listedAt) < d.opts.InstanceCacheTTL {
		return slices.Clone(d.instances), nil
	}
	out, err := d.api.DescribeInstances(ctx, &nifcloud.DescribeInstancesInput{})
	if err != nil {
		return nil, mapError(err, "listing instances")
	}
	d.instances = out.Instances()
	if d.instances == nil {
		d.instances = []nifcloud.Instance{}
	}
	d.listedAt = time.Now()
	return slices.Clone(d.instances), nil
}

// forgetInstances drops the instance cache (an instance in it is gone).
func (d *Disks) forgetInstances() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.instances = nil
}

// cachedInstance reports an instance in the fresh instance cache.
func (d *Disks) cachedInstance(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.instances == nil || time.Since(d.listedAt) >= d.opts.InstanceCacheTTL {
		return false
	}
	return slices.ContainsFunc(d.instances, func(in nifcloud.Instance) bool { return in.InstanceID == id })
}
