package cloudsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/cloudsim/localdisk"
	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// Server is a running simulator process: up to two listeners.
type Server struct {
	NIFCLOUD     *nifcloudsim.Sim
	OpenStack    *openstacksim.Sim
	NIFCLOUDURL  string // base URL, e.g. http://127.0.0.1:8780 (API at /api/)
	OpenStackURL string // base URL (Keystone at /identity/v3)

	servers []*http.Server
	disks   *localdisk.LoopManager
}

// Start builds the simulators described by cfg and starts serving them.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	s := &Server{}
	var disks localdisk.Manager
	if cfg.LocalDiskRoot != "" {
		data := cfg.LocalDiskData
		if data == "" {
			data = filepath.Join(cfg.StateDir, "disks")
		}
		m, err := localdisk.NewLoopManager(cfg.LocalDiskRoot, data)
		if err != nil {
			return nil, err
		}
		s.disks, disks = m, m
	}
	latency := simcore.LatencyConfig{Calls: cfg.CallLatency, Transitions: cfg.TransitionLatency}
	if cfg.NIFCLOUDListen != "" {
		controls := simcore.NewControls()
		controls.SetLatency(latency)
		sim, err := nifcloudsim.New(nifcloudsim.Options{
			Credentials:          map[string]string{cfg.NIFCLOUDAccessKey: cfg.NIFCLOUDSecretKey},
			Region:               cfg.NIFCLOUDRegion,
			StatePath:            statePath(cfg.StateDir, "nifcloud.json"),
			Controls:             controls,
			LocalDisks:           disks,
			LocalInstances:       cfg.LocalInstances,
			LocalDiskPerInstance: cfg.LocalDiskPerNode,
		})
		if err != nil {
			return nil, fmt.Errorf("nifcloud simulator: %w", err)
		}
		if cfg.NIFCLOUDSeed != "" {
			if err := sim.LoadSeed(cfg.NIFCLOUDSeed); err != nil {
				return nil, err
			}
		}
		url, err := s.serve(ctx, cfg.NIFCLOUDListen, simcore.HostileMiddleware(controls, simcore.DialectNIFCLOUD, nifcloudsim.AdminPrefix, sim.Handler()))
		if err != nil {
			return nil, err
		}
		s.NIFCLOUD, s.NIFCLOUDURL = sim, url
	}
	if cfg.OpenStackListen != "" {
		controls := simcore.NewControls()
		controls.SetLatency(latency)
		opts := openstacksim.Options{
			Region:             cfg.OpenStackRegion,
			StatePath:          statePath(cfg.StateDir, "openstack.json"),
			Controls:           controls,
			LocalDisks:         disks,
			LocalServers:       cfg.LocalServers,
			LocalDiskPerServer: cfg.LocalDiskPerNode,
		}
		if cfg.OpenStackUser != "" {
			opts.Users = []openstacksim.User{{Name: cfg.OpenStackUser, Password: cfg.OpenStackPassword, ProjectName: cfg.OpenStackProject}}
		}
		sim, err := openstacksim.New(opts)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("openstack simulator: %w", err)
		}
		if cfg.OpenStackSeed != "" {
			if err := sim.LoadSeed(cfg.OpenStackSeed); err != nil {
				s.Close()
				return nil, err
			}
		}
		url, err := s.serve(ctx, cfg.OpenStackListen, simcore.HostileMiddleware(controls, simcore.DialectOpenStack, openstacksim.AdminPrefix, sim.Handler()))
		if err != nil {
			s.Close()
			return nil, err
		}
		s.OpenStack, s.OpenStackURL = sim, url
	}
	return s, nil
}

func (s *Server) serve(ctx context.Context, addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.FromContext(ctx).Error(err, "simulator listener stopped", "addr", addr)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the listeners and releases local loop devices (the backing
// data stays, so a restarted simulator re-attaches them).
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		_ = srv.Shutdown(ctx)
	}
	if s.disks != nil {
		s.disks.DetachAll()
	}
}

func statePath(dir, name string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, name)
}
