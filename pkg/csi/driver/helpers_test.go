package driver

import (
	"os"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

const gib = profile.GiB

func newTestDriver(t *testing.T, opts Options) *Driver {
	t.Helper()
	if opts.Endpoint == "" {
		opts.Endpoint = "unix:///tmp/kumo-csi-test.sock"
	}
	if opts.Profile == nil {
		opts.Profile = profile.NIFCLOUD{}
	}
	if opts.KubeletRootDir == "" {
		// Node tests use t.TempDir() paths as kubelet paths.
		opts.KubeletRootDir = os.TempDir()
	}
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	d, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

func newController(t *testing.T, p backend.Profile, disks backend.Disks) csi.ControllerServer {
	t.Helper()
	return newTestDriver(t, Options{Mode: ModeController, Profile: p, Disks: disks}).Controller()
}

func mountCap(mode csi.VolumeCapability_AccessMode_Mode, fsType string, flags ...string) *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: fsType, MountFlags: flags}},
	}
}

func blockCap(mode csi.VolumeCapability_AccessMode_Mode) *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
		AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
	}
}

var snw = csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER

func rwo() []*csi.VolumeCapability { return []*csi.VolumeCapability{mountCap(snw, "ext4")} }

// wantCode fails unless err has code and its message contains every
// fragment.
func wantCode(t *testing.T, err error, code codes.Code, fragments ...string) {
	t.Helper()
	s, ok := status.FromError(err)
	if !ok || s.Code() != code {
		t.Fatalf("got error %v (code %s), want code %s", err, status.Code(err), code)
	}
	for _, f := range fragments {
		if !strings.Contains(s.Message(), f) {
			t.Errorf("error %q does not mention %q", s.Message(), f)
		}
	}
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}
