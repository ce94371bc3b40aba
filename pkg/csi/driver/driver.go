// Package driver implements kumo's cloud-neutral CSI driver: the Identity,
// Controller and Node gRPC services over the seams of package backend.
//
// The controller service turns CSI calls into backend.Disks calls (plus the
// optional backend.Snapshots and backend.Capacity), following the error
// codes of the CSI specification; the node service finds devices through a
// backend.DeviceFinder and formats and mounts them through a
// backend.Mounter. Cloud specifics (names, sizes, parameters) come from a
// backend.Profile.
package driver

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// Mode selects which CSI services a Driver serves.
type Mode string

// Modes.
const (
	// ModeController serves Identity and Controller (the Deployment).
	ModeController Mode = "controller"
	// ModeNode serves Identity and Node (the DaemonSet).
	ModeNode Mode = "node"
	// ModeAll serves all three (development, csi-sanity).
	ModeAll Mode = "all"
)

// DefaultShutdownTimeout bounds GracefulStop when Options.ShutdownTimeout
// is zero.
const DefaultShutdownTimeout = 30 * time.Second

// Options configure a Driver.
type Options struct {
	// DriverName is the CSI driver name; "" uses Profile.DriverName().
	DriverName string
	// Version is reported as the vendor version.
	Version string
	// Mode selects the services served (default ModeAll).
	Mode Mode
	// Endpoint is "unix:///path/csi.sock" or "tcp://host:port".
	Endpoint string
	// Profile describes the cloud. Required.
	Profile backend.Profile
	// Disks is the cloud backend. Required for the controller service.
	// If it also implements backend.Snapshots or backend.Capacity the
	// corresponding RPCs are served.
	Disks backend.Disks
	// Finder, Mounter and Identity are required for the node service.
	Finder   backend.DeviceFinder
	Mounter  backend.Mounter
	Identity backend.NodeIdentity
	// MaxVolumesPerNode overrides Profile.DefaultMaxVolumesPerNode when > 0.
	MaxVolumesPerNode int64
	// RescanOnResize (OpenStack [BlockStorage] rescan-on-resize) makes
	// NodeExpandVolume rescan the device, failing if that fails, and wait
	// until the kernel reports the requested size before growing the file
	// system. It needs a Finder that is a backend.DeviceRescanner.
	RescanOnResize bool
	// WithoutTopology (cinder-csi's --with-topology=false) turns topology
	// off: no VOLUME_ACCESSIBILITY_CONSTRAINTS capability, no topology in
	// NodeGetInfo or on volumes, and a requested topology does not pick the
	// zone of a new disk (only the zone parameter does, else the cloud).
	WithoutTopology bool
	// IgnoreDiskZone (OpenStack [BlockStorage] ignore-volume-az) is for
	// clouds whose storage zones are not their compute zones: the zone
	// parameter names a storage zone that need not be in the topology, and
	// a new disk is accessible from the requested topology (preferred,
	// else requisite) instead of its own zone.
	IgnoreDiskZone bool
	// ZoneMismatchHint ends the refusal of a zone parameter outside the
	// requisite topology (e.g. how to set IgnoreDiskZone for this cloud).
	ZoneMismatchHint string
	// CheckSecrets, if set, vets the secrets of every request that has
	// them (e.g. refusing a "cloud" key selecting a cloud.conf section the
	// driver does not serve); its error becomes InvalidArgument and must
	// not contain secret values.
	CheckSecrets func(secrets map[string]string) error
	// KubeletRootDir is the kubelet's --root-dir (default
	// DefaultKubeletRootDir): node paths outside it are refused.
	KubeletRootDir string
	// StateDir keeps the node's per-volume records (default
	// <KubeletRootDir>/plugins/<driver name>/node-records).
	StateDir string
	// Registerer receives the kumo_csi_operations_seconds histogram; nil
	// disables metrics.
	Registerer prometheus.Registerer
	// ShutdownTimeout bounds the graceful stop after the context of Run
	// ends (default DefaultShutdownTimeout); then the server is stopped
	// hard.
	ShutdownTimeout time.Duration
}

// Driver is a CSI plugin. Create it with New and serve it with Run.
type Driver struct {
	name     string
	version  string
	mode     Mode
	endpoint string
	profile  backend.Profile
	features backend.Features

	disks     backend.Disks
	snapshots backend.Snapshots // nil: not supported
	capacity  backend.Capacity  // nil: not supported

	finder     backend.DeviceFinder
	mounter    backend.Mounter
	identity   backend.NodeIdentity
	maxVolumes int64
	// topology says how zones map to CSI topology (Options'
	// WithoutTopology, IgnoreDiskZone, ZoneMismatchHint).
	topology topologyMode
	// secretsCheck is Options.CheckSecrets.
	secretsCheck func(map[string]string) error
	// rescanner is set with Options.RescanOnResize; rescanWait bounds the
	// wait for the new size after the rescan.
	rescanner  backend.DeviceRescanner
	rescanWait time.Duration

	kubeletRoot         string
	kubeletRootResolved string
	records             *recordStore

	shutdownTimeout time.Duration
	inflight        *inFlight
	metrics         *metrics
	requestSeq      atomic.Uint64
	logger          atomic.Pointer[klog.Logger]

	identityServer   *identityServer
	controllerServer *controllerServer
	nodeServer       *nodeServer
}

// New validates opts and builds a Driver.
func New(opts Options) (*Driver, error) {
	if opts.Mode == "" {
		opts.Mode = ModeAll
	}
	var errs []error
	switch opts.Mode {
	case ModeController, ModeNode, ModeAll:
	default:
		errs = append(errs, fmt.Errorf("unknown mode %q (want controller, node or all)", opts.Mode))
	}
	if opts.Profile == nil {
		errs = append(errs, errors.New("a cloud profile is required"))
	}
	if opts.Endpoint == "" {
		errs = append(errs, errors.New("an endpoint is required"))
	} else if _, _, err := parseEndpoint(opts.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if opts.Mode != ModeNode && opts.Disks == nil {
		errs = append(errs, fmt.Errorf("mode %s needs a disks backend", opts.Mode))
	}
	if opts.Mode != ModeController {
		if opts.Finder == nil {
			errs = append(errs, fmt.Errorf("mode %s needs a device finder", opts.Mode))
		}
		if opts.Mounter == nil {
			errs = append(errs, fmt.Errorf("mode %s needs a mounter", opts.Mode))
		}
		if opts.Identity == nil {
			errs = append(errs, fmt.Errorf("mode %s needs a node identity", opts.Mode))
		}
		if _, ok := opts.Finder.(backend.DeviceRescanner); opts.RescanOnResize && opts.Finder != nil && !ok {
			errs = append(errs, errors.New("rescan on resize needs a device finder that can rescan devices"))
		}
	}
	if opts.MaxVolumesPerNode < 0 {
		errs = append(errs, fmt.Errorf("max volumes per node must not be negative (got %d)", opts.MaxVolumesPerNode))
	}
	if opts.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout must not be negative (got %s)", opts.ShutdownTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("invalid CSI driver options: %w", err)
	}

	d := &Driver{
		name:            opts.DriverName,
		version:         opts.Version,
		mode:            opts.Mode,
		endpoint:        opts.Endpoint,
		profile:         opts.Profile,
		features:        opts.Profile.Features(),
		disks:           opts.Disks,
		finder:          opts.Finder,
		mounter:         opts.Mounter,
		identity:        opts.Identity,
		maxVolumes:      opts.MaxVolumesPerNode,
		secretsCheck:    opts.CheckSecrets,
		topology:        topologyMode{off: opts.WithoutTopology, ignoreDiskZone: opts.IgnoreDiskZone, mismatchHint: opts.ZoneMismatchHint},
		shutdownTimeout: opts.ShutdownTimeout,
		inflight:        newInFlight(),
	}
	if d.name == "" {
		d.name = opts.Profile.DriverName()
	}
	if d.version == "" {
		d.version = "dev"
	}
	if d.maxVolumes == 0 {
		d.maxVolumes = opts.Profile.DefaultMaxVolumesPerNode()
	}
	if d.shutdownTimeout == 0 {
		d.shutdownTimeout = DefaultShutdownTimeout
	}
	if d.servesNode() {
		if err := d.setUpNodeState(opts); err != nil {
			return nil, err
		}
		if opts.RescanOnResize {
			d.rescanner, _ = opts.Finder.(backend.DeviceRescanner)
			d.rescanWait = defaultRescanWait
		}
	}
	if s, ok := opts.Disks.(backend.Snapshots); ok && d.features.Snapshots {
		d.snapshots = s
	}
	if c, ok := opts.Disks.(backend.Capacity); ok {
		d.capacity = c
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	d.metrics = m
	logger := klog.Background()
	d.logger.Store(&logger)

	d.identityServer = &identityServer{d: d}
	if d.servesController() {
		d.controllerServer = &controllerServer{d: d}
	}
	if d.servesNode() {
		d.nodeServer = &nodeServer{d: d}
	}
	return d, nil
}

// Name is the CSI driver name.
func (d *Driver) Name() string { return d.name }

// Identity returns the Identity service.
func (d *Driver) Identity() csi.IdentityServer { return d.identityServer }

// Controller returns the Controller service (nil in ModeNode).
func (d *Driver) Controller() csi.ControllerServer {
	if d.controllerServer == nil {
		return nil
	}
	return d.controllerServer
}

// Node returns the Node service (nil in ModeController).
func (d *Driver) Node() csi.NodeServer {
	if d.nodeServer == nil {
		return nil
	}
	return d.nodeServer
}

func (d *Driver) servesController() bool { return d.mode == ModeController || d.mode == ModeAll }
func (d *Driver) servesNode() bool       { return d.mode == ModeNode || d.mode == ModeAll }

// baseLogger is the logger of Run's context (klog.Background before Run).
func (d *Driver) baseLogger() klog.Logger { return *d.logger.Load() }
