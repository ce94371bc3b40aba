package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kumo-project/kumo/pkg/cloudmetrics"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/tests/csitest"
)

// TestOpenStackSecretsSelectingAnotherCloud: cinder-csi's multi-cloud
// secrets (key "cloud" selecting [Global "name"]) are refused by name,
// over gRPC, before the cloud is asked — a volume is never made in the
// wrong project. An empty "cloud" key and other keys are accepted as by
// cinder-csi, and no secret value appears in an error.
func TestOpenStackSecretsSelectingAnotherCloud(t *testing.T) {
	sim, srv := startSim(t)
	second := fmt.Sprintf("\n[Global \"east\"]\nauth-url = %s/identity/v3\nusername = admin\npassword = other-secret-value\nuser-domain-name = Default\nproject-name = demo\nproject-domain-name = Default\n", srv.URL)
	f := flags{mode: "controller", cloudConfig: writeCloudConf(t, srv.URL, second)}
	var opts driver.Options
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := setupOpenStack(ctx, f, cloudmetrics.New(), &opts); err != nil {
		t.Fatal(err)
	}
	conn, stop, err := csitest.ServeController(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctrl := csi.NewControllerClient(conn)
	caps := []*csi.VolumeCapability{csitest.MountCapability()}
	creates := sim.Controls().Count("cinder.volume_create")
	for secrets, want := range map[string]string{
		"east":  `selects [Global "east"], but kumo's CSI driver serves only the [Global] section`,
		"north": `names "north", which is no [Global "name"] section`,
	} {
		_, err := ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-" + secrets, VolumeCapabilities: caps,
			Secrets: map[string]string{"cloud": secrets, "password": "hunter2"}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("cloud=%s: %v, want InvalidArgument containing %q and no secret value", secrets, err, want)
		}
		_, err = ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "00000000-0000-0000-0000-000000000000", Secrets: map[string]string{"cloud": secrets}})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("DeleteVolume cloud=%s: %v, want InvalidArgument", secrets, err)
		}
	}
	if n := sim.Controls().Count("cinder.volume_create") - creates; n != 0 {
		t.Errorf("%d creates reached Cinder for refused secrets", n)
	}
	resp, err := ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-default", VolumeCapabilities: caps,
		Secrets: map[string]string{"cloud": "", "unrelated": "x"}})
	if err != nil {
		t.Fatalf("empty cloud key: %v", err)
	}
	if _, err := ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: resp.GetVolume().GetVolumeId()}); err != nil {
		t.Fatal(err)
	}
}
