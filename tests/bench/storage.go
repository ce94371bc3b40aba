package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/cinderdisk"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/csi/nifclouddisk"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/pkg/nifcloud"
	"github.com/kumo-project/kumo/tests/csitest"
)

// StoragePhase is one concurrent phase over all volumes.
type StoragePhase struct {
	WallMillis     float64 `json:"wallMillis"`
	MeanMillis     float64 `json:"meanMillis"` // mean per-volume time
	MaxMillis      float64 `json:"maxMillis"`
	FloorMillis    float64 `json:"floorMillis"`
	Ratio          float64 `json:"ratio"` // wall / floor
	Calls          Counts  `json:"calls"`
	CallsPerVolume float64 `json:"callsPerVolume"`
	Failures       int     `json:"failures"`
	FirstError     string  `json:"firstError,omitempty"`
}

// StorageResult is one storage run: Volumes concurrent CreateVolume +
// ControllerPublishVolume over Nodes nodes, then the reverse.
type StorageResult struct {
	Cloud   string       `json:"cloud"`
	Volumes int          `json:"volumes"`
	Nodes   int          `json:"nodes"`
	Up      StoragePhase `json:"up"`   // create + publish
	Down    StoragePhase `json:"down"` // unpublish + delete
	// Throttling: answers the simulator throttled, and the client's own
	// count of throttled answers and retries.
	SimThrottles    int64  `json:"simThrottles"`
	ClientThrottles int64  `json:"clientThrottles"`
	ClientRetries   int64  `json:"clientRetries"`
	Leaked          int    `json:"leaked"` // volumes left in the cloud
	ClientQPS       string `json:"clientQPS"`
}

// storageCloud is what a storage run needs from one simulated cloud.
type storageCloud struct {
	controls *simcore.Controls
	metrics  *prometheus.Registry
	disks    backend.Disks
	profile  backend.Profile
	nodeIDs  []string
	volumes  func() int
	qps      string
	close    func()
}

// StorageConfig describes a storage run.
type StorageConfig struct {
	Cloud   string
	Volumes int
	Nodes   int
	Profile Profile
	// Poll overrides the backends' default poll policy (smoke tests only;
	// the benchmark measures the production defaults).
	Poll backoff.Policy
	// NIFCLOUDQPS overrides the NIFCLOUD client's rate limit (0: the
	// production default; negative: unlimited).
	NIFCLOUDQPS float64
}

func newStorageCloud(ctx context.Context, cfg StorageConfig) (*storageCloud, error) {
	cloud, nodes, prof := cfg.Cloud, cfg.Nodes, cfg.Profile
	switch cloud {
	case CloudOpenStack:
		c, err := startOpenStack(ctx, prof.OpenStackLatency(), "")
		if err != nil {
			return nil, err
		}
		svs, err := c.addServers("node", 0, nodes)
		if err != nil {
			c.Close()
			return nil, err
		}
		// Production wiring (cmd/csi-driver): default poll and wait.
		b, err := cinderdisk.New(c.clients, cinderdisk.Options{ClusterID: benchCluster, Poll: cfg.Poll})
		if err != nil {
			c.Close()
			return nil, err
		}
		sc := &storageCloud{controls: c.controls, metrics: c.metrics, disks: b, profile: profile.Cinder{}, close: c.Close,
			volumes: func() int { return len(c.sim.Snapshot().Volumes) }, qps: "unlimited (default)"}
		for _, sv := range svs {
			sc.nodeIDs = append(sc.nodeIDs, sv.ID)
		}
		return sc, nil
	case CloudNIFCLOUD:
		c, err := startNIFCLOUD(prof.NIFCLOUDLatency(), func(nc *nifcloud.Config) { nc.QPS = cfg.NIFCLOUDQPS })
		if err != nil {
			return nil, err
		}
		qps := "10/s burst 20 (default)"
		switch {
		case cfg.NIFCLOUDQPS < 0:
			qps = "unlimited"
		case cfg.NIFCLOUDQPS > 0:
			qps = fmt.Sprintf("%g/s", cfg.NIFCLOUDQPS)
		}
		ids, err := c.addInstances("node", 0, nodes)
		if err != nil {
			c.Close()
			return nil, err
		}
		// The controller's own instance hosts disks while they are created.
		if _, err := c.addInstances("ctrl", nodes, 1); err != nil {
			c.Close()
			return nil, err
		}
		d, err := nifclouddisk.New(c.api, nifclouddisk.Options{PreferredInstances: []string{fmt.Sprintf("ctrl%04d", nodes)}, Poll: cfg.Poll})
		if err != nil {
			c.Close()
			return nil, err
		}
		return &storageCloud{controls: c.controls, metrics: c.metrics, disks: d, profile: profile.NIFCLOUD{}, nodeIDs: ids,
			close: c.Close, volumes: func() int { return len(c.sim.Snapshot().Volumes) }, qps: qps}, nil
	}
	return nil, fmt.Errorf("unknown cloud %q", cloud)
}

// RunStorage serves the real CSI controller over gRPC on a unix socket and
// drives cfg.Volumes concurrent create+publish, then unpublish+delete.
func RunStorage(ctx context.Context, cfg StorageConfig) (*StorageResult, error) {
	cloud, volumes, nodes, prof := cfg.Cloud, cfg.Volumes, cfg.Nodes, cfg.Profile
	logger := klog.FromContext(ctx).WithValues("benchmark", "storage", "cloud", cloud)
	ctx = klog.NewContext(ctx, logger)
	sc, err := newStorageCloud(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer sc.close()
	cc, stop, err := csitest.ServeController(ctx, driver.Options{Profile: sc.profile, Disks: sc.disks, Version: "bench", ShutdownTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	defer stop()
	ctrl := csi.NewControllerClient(cc)
	res := &StorageResult{Cloud: cloud, Volumes: volumes, Nodes: nodes, ClientQPS: sc.qps}

	ids := make([]string, volumes)
	res.Up = runPhase(sc.controls, volumes, prof.storageFloor(cloud, true), func(ctx context.Context, i int) error {
		v, err := ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
			Name: fmt.Sprintf("pvc-bench-%04d", i), VolumeCapabilities: []*csi.VolumeCapability{csitest.MountCapability()},
			CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 30},
		})
		if err != nil {
			return fmt.Errorf("CreateVolume %d: %w", i, err)
		}
		ids[i] = v.GetVolume().GetVolumeId()
		_, err = ctrl.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{
			VolumeId: ids[i], NodeId: sc.nodeIDs[i%len(sc.nodeIDs)], VolumeCapability: csitest.MountCapability()})
		if err != nil {
			return fmt.Errorf("ControllerPublishVolume %s: %w", ids[i], err)
		}
		return nil
	})
	logger.Info("Create+publish done", "phase", res.Up)
	res.Down = runPhase(sc.controls, volumes, prof.storageFloor(cloud, false), func(ctx context.Context, i int) error {
		if ids[i] == "" {
			return nil // never created; counted as a failure of the first phase
		}
		_, err := ctrl.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: ids[i], NodeId: sc.nodeIDs[i%len(sc.nodeIDs)]})
		if err != nil {
			return fmt.Errorf("ControllerUnpublishVolume %s: %w", ids[i], err)
		}
		if _, err := ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: ids[i]}); err != nil {
			return fmt.Errorf("DeleteVolume %s: %w", ids[i], err)
		}
		return nil
	})
	logger.Info("Unpublish+delete done", "phase", res.Down)
	for k, v := range sc.controls.FaultsInjected() {
		if strings.HasPrefix(k, "throttle:") {
			res.SimThrottles += v
		}
	}
	res.ClientThrottles = metricSum(sc.metrics, "kumo_cloud_api_throttles_total")
	res.ClientRetries = metricSum(sc.metrics, "kumo_cloud_api_retries_total")
	res.Leaked = sc.volumes()
	return res, nil
}

// runPhase runs op for every volume at once and measures the phase.
func runPhase(controls *simcore.Controls, n int, floor time.Duration, op func(ctx context.Context, i int) error) StoragePhase {
	before := snapshot(controls)
	var (
		mu    sync.Mutex
		total time.Duration
		worst time.Duration
		errs  []error
		wg    sync.WaitGroup
	)
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			t := time.Now()
			err := op(ctx, i)
			d := time.Since(t)
			mu.Lock()
			defer mu.Unlock()
			total += d
			worst = max(worst, d)
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	p := StoragePhase{WallMillis: ms(wall), MeanMillis: ms(total / time.Duration(max(n, 1))), MaxMillis: ms(worst),
		FloorMillis: ms(floor), Calls: since(controls, before), Failures: len(errs)}
	if floor > 0 {
		p.Ratio = float64(wall) / float64(floor)
	}
	p.CallsPerVolume = float64(p.Calls.Total()) / float64(max(n, 1))
	if len(errs) > 0 {
		p.FirstError = errs[0].Error()
	}
	return p
}
