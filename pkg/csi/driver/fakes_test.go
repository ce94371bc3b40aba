package driver

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// fakeCloud is an in-memory backend (Disks, Snapshots and Capacity) for
// unit tests. It lives in a _test.go file so it never ships.
type fakeCloud struct {
	mu        sync.Mutex
	seq       int
	disks     map[string]*backend.Disk
	order     []string
	snaps     map[string]*backend.Snapshot
	snapOrder []string
	nodes     map[string]bool
	created   []backend.CreateRequest

	// createGate, when set, blocks CreateDisk until it is closed.
	createGate chan struct{}
	// createStarted is signalled when CreateDisk begins.
	createStarted chan struct{}
	available     int64
}

var (
	_ backend.Disks     = (*fakeCloud)(nil)
	_ backend.Snapshots = (*fakeCloud)(nil)
	_ backend.Capacity  = (*fakeCloud)(nil)
)

func newFakeCloud(nodes ...string) *fakeCloud {
	c := &fakeCloud{disks: map[string]*backend.Disk{}, snaps: map[string]*backend.Snapshot{}, nodes: map[string]bool{}, available: 1 << 40}
	for _, n := range nodes {
		c.nodes[n] = true
	}
	return c
}

func copyDisk(d *backend.Disk) *backend.Disk {
	c := *d
	c.AttachedNodes = slices.Clone(d.AttachedNodes)
	return &c
}

func (c *fakeCloud) CreateDisk(ctx context.Context, req backend.CreateRequest) (*backend.Disk, error) {
	if c.createStarted != nil {
		c.createStarted <- struct{}{}
	}
	if c.createGate != nil {
		select {
		case <-c.createGate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if req.SourceSnapshotID != "" && c.snaps[req.SourceSnapshotID] == nil {
		return nil, fmt.Errorf("snapshot %s: %w", req.SourceSnapshotID, backend.ErrNotFound)
	}
	if req.SourceVolumeID != "" && c.disks[req.SourceVolumeID] == nil {
		return nil, fmt.Errorf("volume %s: %w", req.SourceVolumeID, backend.ErrNotFound)
	}
	c.seq++
	d := &backend.Disk{
		ID: fmt.Sprintf("vol-%04d", c.seq), Name: req.Name, SizeBytes: req.SizeBytes, Zone: req.Zone,
		Status: backend.StatusAvailable, SourceSnapshotID: req.SourceSnapshotID, SourceVolumeID: req.SourceVolumeID,
	}
	if d.Zone == "" {
		d.Zone = "zone-default"
	}
	c.disks[d.ID] = d
	c.order = append(c.order, d.ID)
	c.created = append(c.created, req)
	return copyDisk(d), nil
}

func (c *fakeCloud) DeleteDisk(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.disks[id]
	if !ok {
		return fmt.Errorf("volume %s: %w", id, backend.ErrNotFound)
	}
	if len(d.AttachedNodes) > 0 {
		return fmt.Errorf("volume %s is attached: %w", id, backend.ErrFailedPrecondition)
	}
	delete(c.disks, id)
	c.order = slices.DeleteFunc(c.order, func(s string) bool { return s == id })
	return nil
}

func (c *fakeCloud) GetDisk(_ context.Context, id string) (*backend.Disk, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.disks[id]
	if !ok {
		return nil, fmt.Errorf("volume %s: %w", id, backend.ErrNotFound)
	}
	return copyDisk(d), nil
}

func (c *fakeCloud) FindDiskByName(_ context.Context, name string) (*backend.Disk, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range c.order {
		if c.disks[id].Name == name {
			return copyDisk(c.disks[id]), nil
		}
	}
	return nil, fmt.Errorf("volume named %s: %w", name, backend.ErrNotFound)
}

// page implements index tokens ("i:<n>") over ids.
func page(ids []string, maxEntries int, token string) ([]string, string, error) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(token, "i:"))
		if !strings.HasPrefix(token, "i:") || err != nil || n < 0 || n > len(ids) {
			return nil, "", fmt.Errorf("token %q: %w", token, backend.ErrInvalidArgument)
		}
		start = n
	}
	end := len(ids)
	if maxEntries > 0 && start+maxEntries < end {
		end = start + maxEntries
	}
	next := ""
	if end < len(ids) {
		next = "i:" + strconv.Itoa(end)
	}
	return ids[start:end], next, nil
}

func (c *fakeCloud) ListDisks(_ context.Context, maxEntries int, token string) ([]*backend.Disk, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids, next, err := page(c.order, maxEntries, token)
	if err != nil {
		return nil, "", err
	}
	out := make([]*backend.Disk, 0, len(ids))
	for _, id := range ids {
		out = append(out, copyDisk(c.disks[id]))
	}
	return out, next, nil
}

func (c *fakeCloud) AttachDisk(_ context.Context, diskID, nodeID string) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.disks[diskID]
	if !ok {
		return nil, fmt.Errorf("volume %s: %w", diskID, backend.ErrNotFound)
	}
	if !c.nodes[nodeID] {
		return nil, fmt.Errorf("node %s: %w", nodeID, backend.ErrNotFound)
	}
	if !slices.Contains(d.AttachedNodes, nodeID) {
		d.AttachedNodes = append(d.AttachedNodes, nodeID)
		d.Status = backend.StatusInUse
	}
	return map[string]string{backend.PublishContextDevicePath: "SCSI (0:1)"}, nil
}

func (c *fakeCloud) DetachDisk(_ context.Context, diskID, nodeID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.disks[diskID]
	if !ok {
		return fmt.Errorf("volume %s: %w", diskID, backend.ErrNotFound)
	}
	d.AttachedNodes = slices.DeleteFunc(d.AttachedNodes, func(n string) bool { return n == nodeID })
	if len(d.AttachedNodes) == 0 {
		d.Status = backend.StatusAvailable
	}
	return nil
}

func (c *fakeCloud) ExpandDisk(_ context.Context, id string, newSize int64) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.disks[id]
	if !ok {
		return 0, fmt.Errorf("volume %s: %w", id, backend.ErrNotFound)
	}
	if newSize > d.SizeBytes {
		d.SizeBytes = newSize
	}
	return d.SizeBytes, nil
}

func (c *fakeCloud) NodeExists(_ context.Context, nodeID string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[nodeID], nil
}

func (c *fakeCloud) setStatus(id string, s backend.DiskStatus, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disks[id].Status, c.disks[id].StatusMessage = s, msg
}

func (c *fakeCloud) CreateSnapshot(_ context.Context, name, source string, _ backend.Parameters) (*backend.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.disks[source]
	if !ok {
		return nil, fmt.Errorf("volume %s: %w", source, backend.ErrNotFound)
	}
	c.seq++
	s := &backend.Snapshot{ID: fmt.Sprintf("snap-%04d", c.seq), Name: name, SourceVolumeID: source, SizeBytes: d.SizeBytes, CreatedAt: time.Unix(1700000000, 0), ReadyToUse: true}
	c.snaps[s.ID] = s
	c.snapOrder = append(c.snapOrder, s.ID)
	cp := *s
	return &cp, nil
}

func (c *fakeCloud) DeleteSnapshot(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.snaps[id]; !ok {
		return fmt.Errorf("snapshot %s: %w", id, backend.ErrNotFound)
	}
	delete(c.snaps, id)
	c.snapOrder = slices.DeleteFunc(c.snapOrder, func(s string) bool { return s == id })
	return nil
}

func (c *fakeCloud) GetSnapshot(_ context.Context, id string) (*backend.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.snaps[id]
	if !ok {
		return nil, fmt.Errorf("snapshot %s: %w", id, backend.ErrNotFound)
	}
	cp := *s
	return &cp, nil
}

func (c *fakeCloud) FindSnapshotByName(_ context.Context, name string) (*backend.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range c.snapOrder {
		if c.snaps[id].Name == name {
			cp := *c.snaps[id]
			return &cp, nil
		}
	}
	return nil, fmt.Errorf("snapshot named %s: %w", name, backend.ErrNotFound)
}

func (c *fakeCloud) ListSnapshots(_ context.Context, source string, maxEntries int, token string) ([]*backend.Snapshot, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for _, id := range c.snapOrder {
		if source == "" || c.snaps[id].SourceVolumeID == source {
			ids = append(ids, id)
		}
	}
	ids, next, err := page(ids, maxEntries, token)
	if err != nil {
		return nil, "", err
	}
	var out []*backend.Snapshot
	for _, id := range ids {
		cp := *c.snaps[id]
		out = append(out, &cp)
	}
	return out, next, nil
}

func (c *fakeCloud) GetCapacity(_ context.Context, zone string, _ backend.Parameters) (backend.CapacityInfo, error) {
	if zone == "nowhere" {
		return backend.CapacityInfo{}, nil
	}
	return backend.CapacityInfo{AvailableBytes: c.available, MaximumVolumeSizeBytes: 1 << 42}, nil
}

// disksOnly hides the optional interfaces of a backend.
type disksOnly struct{ backend.Disks }

// fakeFinder returns a fixed device.
type fakeFinder struct{ device string }

func (f fakeFinder) FindDevice(context.Context, string, map[string]string) (string, error) {
	if f.device == "" {
		return "", fmt.Errorf("no device: %w", backend.ErrNotFound)
	}
	return f.device, nil
}
