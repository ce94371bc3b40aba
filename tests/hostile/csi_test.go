package hostile

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/cinderdisk"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/pkg/csi/nifclouddisk"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/tests/csitest"
)

// fastPoll keeps the backends' waits short: a call that polls through
// hostile answers still ends within its deadline.
var fastPoll = backoff.Policy{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, Factor: 1.5}

// csiCloud is the real CSI controller of one cloud in front of its
// hostile simulator.
type csiCloud struct {
	name     string
	ctrl     csi.ControllerClient
	controls *simcore.Controls
	wire     *wire
	secrets  func() []string
	node     string
	// mutating names the cloud calls (hostile Actions) that do the work
	// of one CSI method on volume vol.
	mutating func(method, vol string) []string
}

func serveCSI(t *testing.T, prof backend.Profile, disks backend.Disks) csi.ControllerClient {
	t.Helper()
	// A background context: the driver logs through the global klog,
	// which captureKlog scans.
	cc, stop, err := csitest.ServeController(context.Background(), driver.Options{Profile: prof, Disks: disks, Version: "hostile"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return csi.NewControllerClient(cc)
}

func nifCSI(t *testing.T) csiCloud {
	env := startNIFCLOUD(t)
	disks, err := nifclouddisk.New(env.api, nifclouddisk.Options{PreferredInstances: []string{"ctrl00"},
		Poll: fastPoll, BatchInterval: 2 * time.Millisecond, Timeout: clientDeadline})
	if err != nil {
		t.Fatal(err)
	}
	return csiCloud{name: "nifcloud", ctrl: serveCSI(t, profile.NIFCLOUD{}, disks), controls: env.controls, wire: env.wire,
		secrets: env.secrets, node: "node00",
		mutating: func(method, _ string) []string {
			return map[string][]string{"CreateVolume": {"CreateVolume"}, "ControllerPublishVolume": {"AttachVolume"},
				"DeleteVolume": {"DeleteVolume"}}[method]
		}}
}

func osCSI(t *testing.T) csiCloud {
	env := startOpenStack(t)
	disks, err := cinderdisk.New(env.clients, cinderdisk.Options{ClusterID: "kumo-hostile", Poll: fastPoll, WaitTimeout: clientDeadline})
	if err != nil {
		t.Fatal(err)
	}
	path := func(endpoint string) string {
		u, err := url.Parse(endpoint)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimRight(u.Path, "/")
	}
	cinder, nova := path(env.clients.BlockStorage.Endpoint), path(env.clients.Compute.Endpoint)
	node := env.servers[0]
	return csiCloud{name: "openstack", ctrl: serveCSI(t, profile.Cinder{}, disks), controls: env.controls, wire: env.wire,
		secrets: env.secrets, node: node,
		mutating: func(method, vol string) []string {
			return map[string][]string{"CreateVolume": {"POST " + cinder + "/volumes"},
				"ControllerPublishVolume": {"POST " + nova + "/servers/" + node + "/os-volume_attachments"},
				"DeleteVolume":            {"DELETE " + cinder + "/volumes/" + vol}}[method]
		}}
}

// hostileHits returns the hostile answers of mode so far, keyed by action.
func hostileHits(c *simcore.Controls, mode string) map[string]int64 {
	out := map[string]int64{}
	for k, v := range c.FaultsInjected() {
		if a, ok := strings.CutPrefix(k, mode+":"); ok {
			out[a] = v
		}
	}
	return out
}

// newHits lists the actions answered in mode since before.
func newHits(c *simcore.Controls, mode string, before map[string]int64) []string {
	var out []string
	for a, n := range hostileHits(c, mode) {
		if n > before[a] {
			out = append(out, fmt.Sprintf("%s x%d", a, n-before[a]))
		}
	}
	sort.Strings(out)
	return out
}

// sensibleCode reports whether a failed call's code fits a hostile
// answer: internal or retryable; for echo (an HTTP 400) also the codes
// the backends give a cloud's 400. Never NotFound or AlreadyExists, which
// would make the CO treat the failure as done.
func sensibleCode(mode string, c codes.Code) bool {
	switch c {
	case codes.Internal, codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return true
	case codes.InvalidArgument, codes.FailedPrecondition:
		return mode == simcore.HostileEcho
	}
	return false
}

// csiModes are the hostile modes the controller meets (slowloris is left
// to the client tests: it only costs the client deadline per call).
func csiModes() []string {
	return []string{simcore.HostileEcho, simcore.HostileError200, simcore.HostileNonJSON, simcore.HostileTruncate,
		simcore.HostileRedirect, simcore.HostileHuge}
}

// csiCall is one controller method on an existing volume.
type csiCall struct {
	method string
	call   func(ctx context.Context, c csiCloud, vol string) error
}

func csiCalls() []csiCall {
	return []csiCall{
		{"CreateVolume", func(ctx context.Context, c csiCloud, _ string) error {
			_, err := c.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: fmt.Sprintf("pvc-hostile-%d", time.Now().UnixNano()),
				VolumeCapabilities: []*csi.VolumeCapability{csitest.MountCapability()},
				CapacityRange:      &csi.CapacityRange{RequiredBytes: profile.GiB}})
			return err
		}},
		{"ControllerPublishVolume", func(ctx context.Context, c csiCloud, vol string) error {
			_, err := c.ctrl.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: vol, NodeId: c.node,
				VolumeCapability: csitest.MountCapability()})
			return err
		}},
		{"DeleteVolume", func(ctx context.Context, c csiCloud, vol string) error {
			_, err := c.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: vol})
			return err
		}},
	}
}

// TestCSIControllerUnderHostileTransport drives the real CSI controllers
// of both clouds over gRPC while every cloud call (scope "all") or only
// the call doing the work (scope "mutating", echo only) gets a hostile
// answer. Each call must fail with a code fitting the answer, after
// reaching the hostile mode, with a non-empty message, and neither the
// gRPC message nor the klog output (-v=10) may carry a credential.
func TestCSIControllerUnderHostileTransport(t *testing.T) {
	for _, start := range []func(*testing.T) csiCloud{nifCSI, osCSI} {
		c := start(t)
		t.Run(c.name, func(t *testing.T) {
			for _, mode := range csiModes() {
				t.Run(mode+"/all", func(t *testing.T) {
					runCSIMode(t, c, mode, false)
				})
			}
			t.Run("echo/mutating", func(t *testing.T) { runCSIMode(t, c, simcore.HostileEcho, true) })
		})
	}
}

func runCSIMode(t *testing.T, c csiCloud, mode string, scoped bool) {
	logs := captureKlog(t)
	other := newSink(t)
	ctx := context.Background()
	c.controls.SetHostile(simcore.HostileConfig{})
	cr, err := c.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-" + strings.ReplaceAll(t.Name(), "/", "-"),
		VolumeCapabilities: []*csi.VolumeCapability{csitest.MountCapability()}, CapacityRange: &csi.CapacityRange{RequiredBytes: profile.GiB}})
	if err != nil {
		t.Fatalf("CreateVolume without hostile answers: %v", err)
	}
	vol := cr.GetVolume().GetVolumeId()
	defer func() {
		c.controls.SetHostile(simcore.HostileConfig{})
		if _, err := c.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: vol}); err != nil {
			t.Logf("cleanup of %s: %v", vol, err)
		}
	}()
	for _, call := range csiCalls() {
		h := simcore.HostileConfig{Rates: map[string]float64{mode: 1}, RedirectTo: other.srv.URL, HugeBytes: 9 << 20}
		if scoped {
			h.Actions = c.mutating(call.method, vol)
		}
		c.controls.SetHostile(h)
		hits0 := hostileHits(c.controls, mode)
		echo0 := c.wire.echoes()
		cctx, cancel := context.WithTimeout(ctx, 4*clientDeadline)
		start := time.Now()
		err := call.call(cctx, c, vol)
		took := time.Since(start)
		cancel()
		c.controls.SetHostile(simcore.HostileConfig{})
		hit := newHits(c.controls, mode, hits0)
		st := status.Convert(err)
		t.Logf("%s: %v in %v (hostile answers: %v)", call.method, err, took.Round(time.Millisecond), hit)
		if err == nil {
			t.Errorf("%s succeeded although the cloud answered %s", call.method, mode)
			continue
		}
		if len(hit) == 0 {
			t.Errorf("%s failed (%v) before reaching the hostile mode", call.method, err)
		}
		if mode == simcore.HostileEcho && c.wire.echoes() == echo0 {
			t.Errorf("%s: no answer echoed a credential: the scan proves nothing", call.method)
		}
		if !sensibleCode(mode, st.Code()) {
			t.Errorf("%s: code %s does not fit a hostile %s answer", call.method, st.Code(), mode)
		}
		if len(strings.TrimSpace(st.Message())) < 10 {
			t.Errorf("%s: message %q says nothing", call.method, st.Message())
		}
		if mode == simcore.HostileEcho && !strings.Contains(st.Message(), "400") && !strings.Contains(st.Message(), "Hostile") {
			t.Errorf("%s: message %q names neither the HTTP status nor the cloud's error code", call.method, st.Message())
		}
		assertNoSecret(t, call.method+" gRPC message", st.Message(), c.secrets()...)
	}
	if len(c.wire.secrets()) == 0 {
		t.Error("no Signature or X-Auth-Token seen on the wire: the scan misses them")
	}
	if other.hits.Load() > 0 || other.leak.Load() {
		t.Errorf("redirect followed to another host (hits %d, credential leaked %v)", other.hits.Load(), other.leak.Load())
	}
	klog.Flush()
	assertNoSecret(t, "logs", logs.String(), c.secrets()...)
}
