package driver

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/csi/cinderdisk"
	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// newCinderController serves the controller over the real Cinder backend
// talking HTTP to a simulated cloud.
func newCinderController(t *testing.T, simOpts openstacksim.Options) (csi.ControllerServer, *openstacksim.Sim) {
	t.Helper()
	controls := simcore.NewControls()
	controls.SetLatency(simcore.LatencyConfig{Transitions: map[string]time.Duration{"*": 10 * time.Millisecond}})
	simOpts.Controls = controls
	sim, err := openstacksim.New(simOpts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg, err := config.Parse("cloud.conf", []byte(openstacksim.CloudConf(srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(context.Background(), cfg, client.Options{
		RetryBackoff: &backoff.Policy{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cinderdisk.New(cl, cinderdisk.Options{Poll: backoff.Policy{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 1.5},
		WaitTimeout: 10 * time.Second, CapacityTTL: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	return newController(t, profile.Cinder{}, b), sim
}

func simVolumeType(t *testing.T, sim *openstacksim.Sim, id string) string {
	t.Helper()
	v := sim.Snapshot().Volumes[id]
	if v == nil {
		t.Fatalf("volume %s not in the cloud", id)
	}
	return v.VolumeType
}

func TestModifyVolumeCapability(t *testing.T) {
	c, _ := newCinderController(t, openstacksim.Options{})
	caps := controllerCaps(t, c)
	for _, want := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_MODIFY_VOLUME, csi.ControllerServiceCapability_RPC_GET_CAPACITY,
	} {
		if !slices.Contains(caps, want) {
			t.Errorf("Cinder capabilities %v lack %s", caps, want)
		}
	}
	// NIFCLOUD cannot change a disk's type: not advertised, and the RPC
	// says what NIFCLOUD can change.
	n := newController(t, profile.NIFCLOUD{}, newFakeCloud())
	if slices.Contains(controllerCaps(t, n), csi.ControllerServiceCapability_RPC_MODIFY_VOLUME) {
		t.Error("NIFCLOUD advertises MODIFY_VOLUME")
	}
	_, err := n.ControllerModifyVolume(context.Background(), &csi.ControllerModifyVolumeRequest{VolumeId: "vol-1", MutableParameters: map[string]string{"type": "flash"}})
	wantCode(t, err, codes.Unimplemented, "nifcloud", "accountingType", "disk type")
}

func TestModifyVolumeRetypes(t *testing.T) {
	c, sim := newCinderController(t, openstacksim.Options{})
	ctx := context.Background()
	vol, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: rwo(),
		Parameters: map[string]string{"type": "standard"}})
	mustNoErr(t, err)
	id := vol.GetVolume().GetVolumeId()

	_, err = c.ControllerModifyVolume(ctx, &csi.ControllerModifyVolumeRequest{VolumeId: id, MutableParameters: map[string]string{"type": "ssd"}})
	mustNoErr(t, err)
	if got := simVolumeType(t, sim, id); got != "ssd" {
		t.Fatalf("type after ControllerModifyVolume = %s, want ssd", got)
	}
	// Repeated: success, nothing changes.
	_, err = c.ControllerModifyVolume(ctx, &csi.ControllerModifyVolumeRequest{VolumeId: id, MutableParameters: map[string]string{"Type": "ssd"}})
	mustNoErr(t, err)

	for _, tc := range []struct {
		name      string
		req       *csi.ControllerModifyVolumeRequest
		code      codes.Code
		fragments []string
	}{
		{"no volume_id", &csi.ControllerModifyVolumeRequest{MutableParameters: map[string]string{"type": "ssd"}}, codes.InvalidArgument, []string{"volume_id"}},
		{"malformed volume_id", &csi.ControllerModifyVolumeRequest{VolumeId: "x/../y", MutableParameters: map[string]string{"type": "ssd"}}, codes.InvalidArgument, []string{"volume_id"}},
		{"no mutable_parameters", &csi.ControllerModifyVolumeRequest{VolumeId: id}, codes.InvalidArgument, []string{"mutable_parameters"}},
		{"unknown parameter", &csi.ControllerModifyVolumeRequest{VolumeId: id, MutableParameters: map[string]string{"iops": "3000"}}, codes.InvalidArgument, []string{`"iops"`}},
		{"empty type", &csi.ControllerModifyVolumeRequest{VolumeId: id, MutableParameters: map[string]string{"type": " "}}, codes.InvalidArgument, []string{`"type"`}},
		{"bad policy", &csi.ControllerModifyVolumeRequest{VolumeId: id, MutableParameters: map[string]string{"type": "standard", "migrationPolicy": "always"}}, codes.InvalidArgument, []string{`"migrationPolicy"`, "never or on-demand"}},
		{"unknown type", &csi.ControllerModifyVolumeRequest{VolumeId: id, MutableParameters: map[string]string{"type": "gold"}}, codes.InvalidArgument, []string{`"type"`, "gold"}},
		{"migration forbidden", &csi.ControllerModifyVolumeRequest{VolumeId: id, MutableParameters: map[string]string{"type": "standard", "migrationPolicy": "never"}}, codes.InvalidArgument, []string{"migrationPolicy", "on-demand"}},
		{"missing volume", &csi.ControllerModifyVolumeRequest{VolumeId: "0b8cd2a4-6f44-4e0f-9d1c-8b2f0c4d5e6f", MutableParameters: map[string]string{"type": "ssd"}}, codes.NotFound, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ControllerModifyVolume(ctx, tc.req)
			wantCode(t, err, tc.code, tc.fragments...)
		})
	}
	if got := simVolumeType(t, sim, id); got != "ssd" {
		t.Fatalf("refused modifications changed the type to %s", got)
	}
}

// CreateVolume applies mutable_parameters (the PVC's class at creation)
// over the StorageClass parameters.
func TestCreateVolumeWithMutableParameters(t *testing.T) {
	c, sim := newCinderController(t, openstacksim.Options{})
	ctx := context.Background()
	vol, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: rwo(),
		Parameters: map[string]string{"type": "standard"}, MutableParameters: map[string]string{"type": "ssd", "migrationPolicy": "never"}})
	mustNoErr(t, err)
	if got := simVolumeType(t, sim, vol.GetVolume().GetVolumeId()); got != "ssd" {
		t.Fatalf("type = %s, want the mutable parameter's ssd", got)
	}
	_, err = c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-2", VolumeCapabilities: rwo(), MutableParameters: map[string]string{"iops": "1"}})
	wantCode(t, err, codes.InvalidArgument, `"iops"`)
	_, err = c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-3", VolumeCapabilities: rwo(), MutableParameters: map[string]string{"type": "gold"}})
	wantCode(t, err, codes.InvalidArgument, `"type"`, "gold")
	if n := len(sim.Snapshot().Volumes); n != 1 {
		t.Fatalf("%d volumes, want only pvc-1", n)
	}
}

func TestGetCapacityFromCinderQuota(t *testing.T) {
	c, _ := newCinderController(t, openstacksim.Options{VolumeQuotaGB: 20})
	ctx := context.Background()
	_, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: rwo(), CapacityRange: &csi.CapacityRange{RequiredBytes: 5 * gib}})
	mustNoErr(t, err)
	key := (profile.Cinder{}).TopologyKey()
	resp, err := c.GetCapacity(ctx, &csi.GetCapacityRequest{VolumeCapabilities: rwo(), Parameters: map[string]string{"type": "ssd"},
		AccessibleTopology: &csi.Topology{Segments: map[string]string{key: "nova"}}})
	mustNoErr(t, err)
	if resp.GetAvailableCapacity() != 15*gib {
		t.Fatalf("available = %d, want 15 GiB", resp.GetAvailableCapacity())
	}
	resp, err = c.GetCapacity(ctx, &csi.GetCapacityRequest{Parameters: map[string]string{"type": "gold"}})
	mustNoErr(t, err)
	if resp.GetAvailableCapacity() != 0 {
		t.Fatalf("unknown type: available = %d, want 0", resp.GetAvailableCapacity())
	}
	_, err = c.GetCapacity(ctx, &csi.GetCapacityRequest{Parameters: map[string]string{"iops": "1"}})
	wantCode(t, err, codes.InvalidArgument, `"iops"`)
}

// TestValidateVolumeCapabilitiesMutableParameters: mutable parameters are
// confirmed when the cloud can apply them and a bad key is named; on
// NIFCLOUD, which cannot modify disks, they are never confirmed.
func TestValidateVolumeCapabilitiesMutableParameters(t *testing.T) {
	ctx := context.Background()
	c, _ := newCinderController(t, openstacksim.Options{})
	vol, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pv-vvc", VolumeCapabilities: rwo()})
	mustNoErr(t, err)
	id := vol.GetVolume().GetVolumeId()
	ok, err := c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: id, VolumeCapabilities: rwo(),
		MutableParameters: map[string]string{"migrationPolicy": "never"}})
	mustNoErr(t, err)
	if ok.GetConfirmed() == nil || ok.GetConfirmed().GetMutableParameters()["migrationPolicy"] != "never" {
		t.Errorf("valid mutable parameters not confirmed: %v", ok)
	}
	bad, err := c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: id, VolumeCapabilities: rwo(),
		MutableParameters: map[string]string{"iops": "100"}})
	mustNoErr(t, err)
	if bad.GetConfirmed() != nil || !strings.Contains(bad.GetMessage(), `"iops"`) {
		t.Errorf("unknown mutable parameter: %v, want unconfirmed naming it", bad)
	}

	nif := newController(t, profile.NIFCLOUD{}, newFakeCloud())
	nid := createN(t, nif, 1)[0]
	no, err := nif.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: nid, VolumeCapabilities: rwo(),
		MutableParameters: map[string]string{"type": "x"}})
	mustNoErr(t, err)
	if no.GetConfirmed() != nil || !strings.Contains(no.GetMessage(), "not supported") {
		t.Errorf("NIFCLOUD mutable parameters: %v, want unconfirmed", no)
	}
}
