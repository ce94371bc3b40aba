package openstack

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"k8s.io/klog/v2"
)

// refreshTimeout bounds one shared refresh. It runs detached from the
// caller that started it, so one cancelled caller does not fail the others
// waiting on it.
const refreshTimeout = 2 * time.Minute

// serverInfo is one Nova server with the Neutron ports bound to it.
type serverInfo struct {
	server servers.Server
	ports  []ports.Port
}

// snapshot is the result of one server list and one port list.
type snapshot struct {
	// started is when the listing began: anything created before it is in
	// the snapshot, so a miss in a snapshot started after a lookup began
	// is authoritative.
	started time.Time
	byID    map[string]*serverInfo
	byName  map[string][]*serverInfo
}

func newSnapshot(started time.Time, list []servers.Server, all []ports.Port) *snapshot {
	s := &snapshot{started: started, byID: make(map[string]*serverInfo, len(list)), byName: make(map[string][]*serverInfo, len(list))}
	for i := range list {
		info := &serverInfo{server: list[i]}
		s.byID[info.server.ID] = info
		s.byName[info.server.Name] = append(s.byName[info.server.Name], info)
	}
	for _, p := range all {
		if info := s.byID[p.DeviceID]; info != nil && p.DeviceID != "" {
			info.ports = append(info.ports, p)
		}
	}
	return s
}

// lookup finds a server by ID, or by exact name when id is empty. Several
// servers of that name are an error: guessing could bind a node to the
// wrong machine.
func (s *snapshot) lookup(id, name string) (*serverInfo, error) {
	if id != "" {
		return s.byID[id], nil
	}
	switch l := s.byName[name]; len(l) {
	case 0:
		return nil, nil
	case 1:
		return l[0], nil
	default:
		return nil, fmt.Errorf("node name %q matches %d servers; refusing to guess (set spec.providerID)", name, len(l))
	}
}

// refreshCall is one in-flight refresh shared by all callers.
type refreshCall struct {
	started time.Time
	done    chan struct{}
	snap    *snapshot
	err     error
}

// serverCache serves instance lookups for all nodes from one Nova server
// list (detail) and one Neutron port list per maxAge: concurrent callers
// share one in-flight refresh, and a lookup miss forces at most one extra
// refresh per minRefresh. Flavor names are cached for the process life
// (Nova flavors are immutable) and listed only when an unknown flavor
// shows up.
type serverCache struct {
	compute, network *gophercloud.ServiceClient
	maxAge           time.Duration
	minRefresh       time.Duration
	now              func() time.Time

	mu       sync.Mutex
	snap     *snapshot
	inflight *refreshCall
	flavors  map[string]string // id → name
}

func newServerCache(compute, network *gophercloud.ServiceClient, maxAge, minRefresh time.Duration, now func() time.Time) *serverCache {
	return &serverCache{compute: compute, network: network, maxAge: maxAge, minRefresh: minRefresh, now: now, flavors: map[string]string{}}
}

// get returns a snapshot started no longer than maxAge ago.
func (c *serverCache) get(ctx context.Context) (*snapshot, error) {
	c.mu.Lock()
	if s := c.snap; s != nil && c.now().Sub(s.started) < c.maxAge {
		c.mu.Unlock()
		return s, nil
	}
	call := c.startLocked(ctx)
	c.mu.Unlock()
	return wait(ctx, call)
}

// refreshAfterMiss is called when s lacked the wanted server. It returns a
// newer snapshot when one exists, is being fetched, or may be fetched (at
// most once per minRefresh); otherwise s itself.
func (c *serverCache) refreshAfterMiss(ctx context.Context, s *snapshot) (*snapshot, error) {
	c.mu.Lock()
	if c.snap != nil && c.snap.started.After(s.started) {
		newer := c.snap
		c.mu.Unlock()
		return newer, nil
	}
	if c.inflight == nil && c.now().Sub(s.started) < c.minRefresh {
		c.mu.Unlock()
		return s, nil
	}
	call := c.startLocked(ctx)
	c.mu.Unlock()
	return wait(ctx, call)
}

// flavorName returns the cached name of a flavor ID.
func (c *serverCache) flavorName(id string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.flavors[id]
	return n, ok
}

func (c *serverCache) startLocked(ctx context.Context) *refreshCall {
	if c.inflight != nil {
		return c.inflight
	}
	call := &refreshCall{started: c.now(), done: make(chan struct{})}
	c.inflight = call
	logger := klog.FromContext(ctx)
	go c.run(klog.NewContext(context.Background(), logger), call)
	return call
}

func (c *serverCache) run(ctx context.Context, call *refreshCall) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	snap, err := c.fetch(ctx, call.started)
	c.mu.Lock()
	if err == nil {
		call.snap = snap
		if c.snap == nil || !c.snap.started.After(snap.started) {
			c.snap = snap
		}
	} else {
		call.err = err
	}
	c.inflight = nil
	c.mu.Unlock()
	close(call.done)
}

func (c *serverCache) fetch(ctx context.Context, started time.Time) (*snapshot, error) {
	logger := klog.FromContext(ctx)
	pages, err := servers.List(c.compute, servers.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing servers: %w", err)
	}
	list, err := servers.ExtractServers(pages)
	if err != nil {
		return nil, fmt.Errorf("listing servers: %w", err)
	}
	ppages, err := ports.List(c.network, ports.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing ports: %w", err)
	}
	all, err := ports.ExtractPorts(ppages)
	if err != nil {
		return nil, fmt.Errorf("listing ports: %w", err)
	}
	if err := c.learnFlavors(ctx, list); err != nil {
		// Not fatal: the instance type then falls back to the flavor ID.
		logger.Info("Cannot list flavors; instance types fall back to flavor IDs", "err", err)
	}
	logger.V(4).Info("Refreshed OpenStack server cache", "servers", len(list), "ports", len(all))
	return newSnapshot(started, list, all), nil
}

// learnFlavors lists flavors (one call) only when a server uses a flavor
// whose name is not known yet and the server does not carry it itself.
func (c *serverCache) learnFlavors(ctx context.Context, list []servers.Server) error {
	c.mu.Lock()
	unknown := false
	for i := range list {
		if _, ok := c.flavors[flavorID(&list[i])]; !ok && flavorOriginalName(&list[i]) == "" && flavorID(&list[i]) != "" {
			unknown = true
			break
		}
	}
	c.mu.Unlock()
	if !unknown {
		return nil
	}
	pages, err := flavors.ListDetail(c.compute, flavors.ListOpts{AccessType: flavors.AllAccess}).AllPages(ctx)
	if err != nil {
		return err
	}
	fl, err := flavors.ExtractFlavors(pages)
	if err != nil {
		return err
	}
	c.mu.Lock()
	for _, f := range fl {
		c.flavors[f.ID] = f.Name
	}
	c.mu.Unlock()
	return nil
}

func wait(ctx context.Context, call *refreshCall) (*snapshot, error) {
	select {
	case <-call.done:
		return call.snap, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func flavorID(s *servers.Server) string {
	id, _ := s.Flavor["id"].(string)
	return id
}

// flavorOriginalName is set by Nova from microversion 2.47 on.
func flavorOriginalName(s *servers.Server) string {
	n, _ := s.Flavor["original_name"].(string)
	return n
}
