package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"k8s.io/klog/v2"
)

// Config sizes a whole benchmark run.
type Config struct {
	Profile     Profile  `json:"profile"`
	NodeCounts  []int    `json:"nodeCounts"`
	SyncPeriods int      `json:"syncPeriods"`
	LBNodes     int      `json:"lbNodes"`
	LBPorts     int      `json:"lbPorts"`
	Volumes     int      `json:"volumes"`
	VolumeNodes int      `json:"volumeNodes"`
	Clouds      []string `json:"clouds"`
	// NIFCLOUDUnlimited adds a NIFCLOUD storage run without the client's
	// rate limit, separating its cost from the polling's.
	NIFCLOUDUnlimited bool `json:"nifcloudUnlimited"`
	// Only, when non-empty, limits the run to some of "nodesync", "lb",
	// "storage".
	Only []string `json:"only,omitempty"`
}

// DefaultConfig is the scenario: 100/500/1,000 nodes, a 10-port
// Service on 100 nodes, 100 concurrent volumes (over 25 nodes, so no node
// exceeds NIFCLOUD's 14 disk slots).
func DefaultConfig() Config {
	return Config{
		Profile: DefaultProfile(), NodeCounts: []int{100, 500, 1000}, SyncPeriods: 3,
		LBNodes: 100, LBPorts: 10, Volumes: 100, VolumeNodes: 25,
		Clouds: []string{CloudOpenStack, CloudNIFCLOUD}, NIFCLOUDUnlimited: true,
	}
}

// Machine describes where the run happened.
type Machine struct {
	CPU       string `json:"cpu"`
	CPUs      int    `json:"cpus"`
	OS        string `json:"os"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"goVersion"`
}

// Results is everything a run measured (results.json).
type Results struct {
	Started       time.Time        `json:"started"`
	DurationSecs  float64          `json:"durationSeconds"`
	Machine       Machine          `json:"machine"`
	Config        Config           `json:"config"`
	NodeSync      []NodeSyncResult `json:"nodeSync"`
	LoadBalancers []LBResult       `json:"loadBalancers"`
	Storage       []StorageResult  `json:"storage"`
}

func (c Config) wants(part string) bool {
	if len(c.Only) == 0 {
		return true
	}
	for _, o := range c.Only {
		if o == part {
			return true
		}
	}
	return false
}

// Run runs every benchmark of cfg one after the other (they would
// distort each other's timings in parallel on a small machine).
func Run(ctx context.Context, cfg Config) (*Results, error) {
	logger := klog.FromContext(ctx)
	res := &Results{Started: time.Now().UTC(), Machine: machine(), Config: cfg}
	if cfg.wants("nodesync") {
		for _, cloud := range cfg.Clouds {
			for _, n := range cfg.NodeCounts {
				logger.Info("Node sync benchmark", "cloud", cloud, "nodes", n)
				r, err := RunNodeSync(ctx, cloud, n, cfg.SyncPeriods, cfg.Profile)
				if err != nil {
					return res, fmt.Errorf("node sync, %s, %d nodes: %w", cloud, n, err)
				}
				res.NodeSync = append(res.NodeSync, *r)
			}
		}
	}
	if cfg.wants("lb") {
		for _, cloud := range cfg.Clouds {
			logger.Info("Load balancer benchmark", "cloud", cloud, "nodes", cfg.LBNodes, "ports", cfg.LBPorts)
			r, err := RunLoadBalancer(ctx, cloud, cfg.LBNodes, cfg.LBPorts, cfg.Profile)
			if err != nil {
				return res, fmt.Errorf("load balancer, %s: %w", cloud, err)
			}
			res.LoadBalancers = append(res.LoadBalancers, *r)
		}
	}
	if cfg.wants("storage") {
		for _, cloud := range cfg.Clouds {
			logger.Info("Storage benchmark", "cloud", cloud, "volumes", cfg.Volumes)
			r, err := RunStorage(ctx, StorageConfig{Cloud: cloud, Volumes: cfg.Volumes, Nodes: cfg.VolumeNodes, Profile: cfg.Profile})
			if err != nil {
				return res, fmt.Errorf("storage, %s: %w", cloud, err)
			}
			res.Storage = append(res.Storage, *r)
			if cloud != CloudNIFCLOUD || !cfg.NIFCLOUDUnlimited {
				continue
			}
			logger.Info("Storage benchmark without client rate limit", "cloud", cloud, "volumes", cfg.Volumes)
			r, err = RunStorage(ctx, StorageConfig{Cloud: cloud, Volumes: cfg.Volumes, Nodes: cfg.VolumeNodes, Profile: cfg.Profile, NIFCLOUDQPS: -1})
			if err != nil {
				return res, fmt.Errorf("storage, %s without rate limit: %w", cloud, err)
			}
			res.Storage = append(res.Storage, *r)
		}
	}
	res.DurationSecs = time.Since(res.Started).Seconds()
	return res, nil
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, GoVersion: runtime.Version()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	return m
}
