package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

func TestCodeFromError(t *testing.T) {
	tests := []struct {
		err  error
		want codes.Code
	}{
		{nil, codes.OK},
		{fmt.Errorf("x: %w", backend.ErrNotFound), codes.NotFound},
		{fmt.Errorf("x: %w", backend.ErrAlreadyExists), codes.AlreadyExists},
		{fmt.Errorf("x: %w", backend.ErrQuota), codes.ResourceExhausted},
		{fmt.Errorf("x: %w", backend.ErrZoneExhausted), codes.ResourceExhausted},
		{fmt.Errorf("x: %w", backend.ErrInvalidArgument), codes.InvalidArgument},
		{fmt.Errorf("x: %w", backend.ErrFailedPrecondition), codes.FailedPrecondition},
		{fmt.Errorf("x: %w", backend.ErrUnavailable), codes.Unavailable},
		{fmt.Errorf("x: %w", backend.ErrOutOfRange), codes.OutOfRange},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{context.Canceled, codes.Canceled},
		{status.Error(codes.Aborted, "busy"), codes.Aborted},
		{errors.New("boom"), codes.Internal},
	}
	for _, tt := range tests {
		if got := CodeFromError(tt.err); got != tt.want {
			t.Errorf("CodeFromError(%v) = %s, want %s", tt.err, got, tt.want)
		}
		if tt.err != nil {
			if got := status.Code(StatusFromError(tt.err, "op")); got != tt.want {
				t.Errorf("StatusFromError(%v) code = %s, want %s", tt.err, got, tt.want)
			}
		}
	}
	if StatusFromError(nil, "op") != nil {
		t.Error("StatusFromError(nil) != nil")
	}
}

func TestServeOverGRPC(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "csi", "csi.sock")
	reg := prometheus.NewRegistry()
	d := newTestDriver(t, Options{
		Mode: ModeController, Profile: profile.NIFCLOUD{}, Disks: newFakeCloud(),
		Endpoint: "unix://" + sock, Registerer: reg, ShutdownTimeout: 2 * time.Second,
	})
	// A stale socket file from a previous run is replaced.
	mustNoErr(t, os.MkdirAll(filepath.Dir(sock), 0o755))

	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx) }()

	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	mustNoErr(t, err)
	defer func() { _ = conn.Close() }()
	id := csi.NewIdentityClient(conn)
	var info *csi.GetPluginInfoResponse
	for range 100 {
		if info, err = id.GetPluginInfo(ctx, &csi.GetPluginInfoRequest{}); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mustNoErr(t, err)
	if info.GetName() != d.Name() {
		t.Errorf("plugin name = %q", info.GetName())
	}
	ctrl := csi.NewControllerClient(conn)
	_, err = ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{VolumeCapabilities: rwo()})
	wantCode(t, err, codes.InvalidArgument, "name")
	_, err = ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-grpc", VolumeCapabilities: rwo()})
	mustNoErr(t, err)
	// The node service is not served in controller mode.
	_, err = csi.NewNodeClient(conn).NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	wantCode(t, err, codes.Unimplemented)

	if n := testutil.CollectAndCount(reg, "kumo_csi_operations_seconds"); n < 3 {
		t.Errorf("%d metric series, want one per method and code", n)
	}
	for _, labels := range [][2]string{{"CreateVolume", "InvalidArgument"}, {"CreateVolume", "OK"}, {"GetPluginInfo", "OK"}} {
		h, err := reg.Gather()
		mustNoErr(t, err)
		if !hasSeries(h, labels[0], labels[1]) {
			t.Errorf("no kumo_csi_operations_seconds{method=%q,grpc_code=%q}", labels[0], labels[1])
		}
	}

	cancel()
	select {
	case err := <-runErr:
		mustNoErr(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the context ended")
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
}

func hasSeries(families []*dto.MetricFamily, method, code string) bool {
	for _, f := range families {
		if f.GetName() != "kumo_csi_operations_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if got["method"] == method && got["grpc_code"] == code && m.GetHistogram().GetSampleCount() > 0 {
				return true
			}
		}
	}
	return false
}

func TestInterceptorRecoversPanics(t *testing.T) {
	d := newTestDriver(t, Options{Mode: ModeController, Disks: newFakeCloud(), Registerer: prometheus.NewRegistry()})
	resp, err := d.intercept(context.Background(), &csi.DeleteVolumeRequest{VolumeId: "v"}, &grpc.UnaryServerInfo{FullMethod: "/csi.v1.Controller/DeleteVolume"},
		func(context.Context, any) (any, error) { panic("bug") })
	if resp != nil {
		t.Errorf("resp = %v", resp)
	}
	wantCode(t, err, codes.Internal, "panic")
}

func TestMetricsSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	newTestDriver(t, Options{Mode: ModeController, Disks: newFakeCloud(), Registerer: reg})
	// A second driver on the same registry reuses the collector.
	newTestDriver(t, Options{Mode: ModeController, Disks: newFakeCloud(), Registerer: reg})
}
