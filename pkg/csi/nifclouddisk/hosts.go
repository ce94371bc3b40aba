package nifclouddisk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// hostCandidates returns the instances that may host a new disk in zone,
// preferred instances first, and the zone chosen when zone is "".
func (d *Disks) hostCandidates(ctx context.Context, zone string) ([]string, string, error) {
	all, err := d.listInstances(ctx)
	if err != nil {
		return nil, "", err
	}
	usable := slices.DeleteFunc(slices.Clone(all), func(in nifcloud.Instance) bool {
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
		// The next try lists again: the zone may have gained an instance.
		d.forgetInstances()
		return nil, zone, noHostError(all, zone)
	}
	return hosts, zone, nil
}

// errNoInstanceInZone marks a zone where the account has no instance;
// zoneOrigin turns it into the sentinel that fits where the zone came
// from.
var errNoInstanceInZone = errors.New("no instance in the zone")

// noHostError explains an empty candidate list. A zone where no instance
// exists wraps errNoInstanceInZone (naming the zones that have
// instances); one whose instances are all starting, stopping or
// otherwise busy will have a host again (Unavailable, retried).
func noHostError(all []nifcloud.Instance, zone string) error {
	var zones []string
	busy := 0
	for _, in := range all {
		if z := in.Placement.AvailabilityZone; z == zone {
			busy++
		} else if z != "" && !slices.Contains(zones, z) {
			zones = append(zones, z)
		}
	}
	if busy > 0 {
		return fmt.Errorf("none of the %d instances in zone %q is running or stopped, and NIFCLOUD creates a disk attached to a server: %w",
			busy, zone, backend.ErrUnavailable)
	}
	slices.Sort(zones)
	return fmt.Errorf("zone %q has no instance of this account to create the disk on (NIFCLOUD creates a disk attached to a server); zones with instances: %s: %w",
		zone, strings.Join(zones, ", "), errNoInstanceInZone)
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

// zoneOrigin adds to a zone-without-instances error where the zone came
// from. The StorageClass's zone parameter is wrong (InvalidArgument); a
// zone from the requested topology (the node chosen for the Pod, or
// allowedTopologies) cannot hold the disk (ErrZoneExhausted, so the
// provisioner reschedules the claim), and so can a configured default.
func zoneOrigin(err error, req backend.CreateRequest) error {
	if !errors.Is(err, errNoInstanceInZone) {
		return err
	}
	switch {
	case req.Parameters.Zone != "":
		return fmt.Errorf("StorageClass parameter %q: %w: %w", req.Parameters.ZoneKey, backend.ErrInvalidArgument, err)
	case req.Zone != "":
		return fmt.Errorf("the requested topology %s=%s (the zone of the node chosen for the Pod, or the StorageClass's allowedTopologies): %w: %w",
			(profile.NIFCLOUD{}).TopologyKey(), req.Zone, backend.ErrZoneExhausted, err)
	}
	return fmt.Errorf("%w: %w", backend.ErrZoneExhausted, err)
}
