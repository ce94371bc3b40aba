package driver

import (
	"context"
	"errors"
	"fmt"
	"path"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
)

// metrics holds the driver's Prometheus collectors; a nil *metrics records
// nothing.
type metrics struct {
	operations *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	ops := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kumo_csi_operations_seconds",
		Help:    "Duration of CSI gRPC calls, by method and gRPC status code.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
	}, []string{"method", "grpc_code"})
	if err := reg.Register(ops); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, fmt.Errorf("registering CSI metrics: %w", err)
		}
		existing, ok := are.ExistingCollector.(*prometheus.HistogramVec)
		if !ok {
			return nil, fmt.Errorf("registering CSI metrics: %w", err)
		}
		ops = existing
	}
	return &metrics{operations: ops}, nil
}

func (m *metrics) observe(method string, code codes.Code, d time.Duration) {
	if m == nil {
		return
	}
	m.operations.WithLabelValues(method, code.String()).Observe(d.Seconds())
}

// quietMethod reports methods the CO polls; their success is logged at V(5).
func quietMethod(method string) bool {
	switch method {
	case "Probe", "GetPluginInfo", "GetPluginCapabilities", "ControllerGetCapabilities",
		"NodeGetCapabilities", "NodeGetInfo", "NodeGetVolumeStats", "NodeGetVolumeHealth",
		"ControllerGetVolumeHealth", "ControllerListVolumeHealth", "ListVolumes", "ListSnapshots", "GetCapacity":
		return true
	}
	return false
}

// requestKeys extracts the identifying fields of a CSI request for logs.
func requestKeys(req any) []any {
	var kv []any
	if r, ok := req.(interface{ GetVolumeId() string }); ok && r.GetVolumeId() != "" {
		kv = append(kv, "volumeID", r.GetVolumeId())
	}
	if r, ok := req.(interface{ GetName() string }); ok && r.GetName() != "" {
		kv = append(kv, "name", r.GetName())
	}
	if r, ok := req.(interface{ GetNodeId() string }); ok && r.GetNodeId() != "" {
		kv = append(kv, "nodeID", r.GetNodeId())
	}
	if r, ok := req.(interface{ GetSnapshotId() string }); ok && r.GetSnapshotId() != "" {
		kv = append(kv, "snapshotID", r.GetSnapshotId())
	}
	if r, ok := req.(interface{ GetSourceVolumeId() string }); ok && r.GetSourceVolumeId() != "" {
		kv = append(kv, "sourceVolumeID", r.GetSourceVolumeId())
	}
	if r, ok := req.(interface{ GetTargetPath() string }); ok && r.GetTargetPath() != "" {
		kv = append(kv, "targetPath", r.GetTargetPath())
	}
	return kv
}

// intercept gives every call a contextual logger (method, request ID and
// the volume/node/snapshot it concerns), vets its secrets, logs its
// outcome, records its duration and turns panics into codes.Internal.
func (d *Driver) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	method := path.Base(info.FullMethod)
	kv := append([]any{"method", method, "requestID", d.requestSeq.Add(1)}, requestKeys(req)...)
	logger := d.baseLogger().WithValues(kv...)
	ctx = klog.NewContext(ctx, logger)
	start := time.Now()
	quiet := quietMethod(method)
	if !quiet {
		logger.V(4).Info("RPC started")
	}
	defer func() {
		if r := recover(); r != nil {
			logger.Error(nil, "RPC panicked", "panic", r, "stack", string(debug.Stack()))
			resp, err = nil, status.Errorf(codes.Internal, "internal error: panic in %s: %v", method, r)
		}
		elapsed := time.Since(start)
		code := status.Code(err)
		d.metrics.observe(method, code, elapsed)
		switch {
		case err == nil && quiet:
			logger.V(5).Info("RPC succeeded", "duration", elapsed)
		case err == nil:
			logger.V(2).Info("RPC succeeded", "duration", elapsed)
		case code == codes.Aborted || (code == codes.NotFound && quiet):
			logger.V(2).Info("RPC failed", "code", code.String(), "err", err, "duration", elapsed)
		default:
			logger.Error(err, "RPC failed", "code", code.String(), "duration", elapsed)
		}
	}()
	if err := d.checkSecrets(req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}
