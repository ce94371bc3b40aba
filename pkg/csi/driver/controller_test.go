package driver

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

func TestNewValidatesOptions(t *testing.T) {
	cloud := newFakeCloud()
	node := Options{Finder: fakeFinder{}, Mounter: nil, Identity: backend.StaticIdentity{ID: "i-1"}}
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"no profile", Options{Endpoint: "unix:///x.sock", Mode: ModeController, Disks: cloud}, "profile"},
		{"no endpoint", Options{Profile: profile.NIFCLOUD{}, Mode: ModeController, Disks: cloud}, "endpoint"},
		{"bad endpoint", Options{Endpoint: "http://x", Profile: profile.NIFCLOUD{}, Mode: ModeController, Disks: cloud}, "endpoint"},
		{"relative socket", Options{Endpoint: "unix://x.sock", Profile: profile.NIFCLOUD{}, Mode: ModeController, Disks: cloud}, "absolute"},
		{"bad mode", Options{Endpoint: "unix:///x.sock", Profile: profile.NIFCLOUD{}, Mode: "both", Disks: cloud}, "mode"},
		{"controller without disks", Options{Endpoint: "unix:///x.sock", Profile: profile.NIFCLOUD{}, Mode: ModeController}, "disks"},
		{"node without mounter", Options{Endpoint: "tcp://127.0.0.1:0", Profile: profile.NIFCLOUD{}, Mode: ModeNode, Finder: node.Finder, Identity: node.Identity}, "mounter"},
		{"all needs everything", Options{Endpoint: "tcp://127.0.0.1:0", Profile: profile.NIFCLOUD{}, Disks: cloud}, "finder"},
		{"negative limit", Options{Endpoint: "unix:///x.sock", Profile: profile.NIFCLOUD{}, Mode: ModeController, Disks: cloud, MaxVolumesPerNode: -1}, "max volumes"},
		{"controller ok", Options{Endpoint: "unix:///x.sock", Profile: profile.NIFCLOUD{}, Mode: ModeController, Disks: cloud}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(tt.opts)
			if tt.wantErr == "" {
				mustNoErr(t, err)
				if d.Node() != nil || d.Controller() == nil {
					t.Error("controller mode must serve the controller only")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
}

func TestIdentity(t *testing.T) {
	d := newTestDriver(t, Options{Mode: ModeController, Profile: profile.NIFCLOUD{}, Disks: newFakeCloud(), Version: "v1.2.3"})
	ctx := context.Background()
	info, err := d.Identity().GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
	mustNoErr(t, err)
	if info.GetName() != (profile.NIFCLOUD{}).DriverName() || info.GetVendorVersion() != "v1.2.3" {
		t.Errorf("plugin info = %v", info)
	}
	caps, err := d.Identity().GetPluginCapabilities(ctx, &csi.GetPluginCapabilitiesRequest{})
	mustNoErr(t, err)
	var services []csi.PluginCapability_Service_Type
	var expansion csi.PluginCapability_VolumeExpansion_Type
	for _, c := range caps.GetCapabilities() {
		if s := c.GetService(); s != nil {
			services = append(services, s.GetType())
		}
		if e := c.GetVolumeExpansion(); e != nil {
			expansion = e.GetType()
		}
	}
	if !slices.Equal(services, []csi.PluginCapability_Service_Type{
		csi.PluginCapability_Service_CONTROLLER_SERVICE, csi.PluginCapability_Service_VOLUME_ACCESSIBILITY_CONSTRAINTS,
	}) || expansion != csi.PluginCapability_VolumeExpansion_ONLINE {
		t.Errorf("plugin capabilities = %v", caps)
	}
	probe, err := d.Identity().Probe(ctx, &csi.ProbeRequest{})
	mustNoErr(t, err)
	if !probe.GetReady().GetValue() {
		t.Error("not ready")
	}

	named := newTestDriver(t, Options{Mode: ModeController, Disks: newFakeCloud(), DriverName: "custom.example.com"})
	if named.Name() != "custom.example.com" {
		t.Errorf("driver name override ignored: %s", named.Name())
	}
}

func controllerCaps(t *testing.T, c csi.ControllerServer) []csi.ControllerServiceCapability_RPC_Type {
	t.Helper()
	resp, err := c.ControllerGetCapabilities(context.Background(), &csi.ControllerGetCapabilitiesRequest{})
	mustNoErr(t, err)
	var out []csi.ControllerServiceCapability_RPC_Type
	for _, c := range resp.GetCapabilities() {
		out = append(out, c.GetRpc().GetType())
	}
	slices.Sort(out)
	return out
}

func TestControllerCapabilities(t *testing.T) {
	base := []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_PUBLISH_UNPUBLISH_VOLUME,
		csi.ControllerServiceCapability_RPC_LIST_VOLUMES,
		csi.ControllerServiceCapability_RPC_EXPAND_VOLUME,
		csi.ControllerServiceCapability_RPC_LIST_VOLUMES_PUBLISHED_NODES,
		csi.ControllerServiceCapability_RPC_GET_VOLUME,
		csi.ControllerServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER,
		csi.ControllerServiceCapability_RPC_GET_VOLUME_HEALTH,
		csi.ControllerServiceCapability_RPC_LIST_VOLUME_HEALTH,
	}
	slices.Sort(base)

	// NIFCLOUD: no snapshots, no clones, even if the backend had them.
	if got := controllerCaps(t, newController(t, profile.NIFCLOUD{}, disksOnly{newFakeCloud()})); !slices.Equal(got, base) {
		t.Errorf("NIFCLOUD capabilities = %v, want %v", got, base)
	}
	withSnap := append(slices.Clone(base), csi.ControllerServiceCapability_RPC_GET_CAPACITY)
	slices.Sort(withSnap)
	if got := controllerCaps(t, newController(t, profile.NIFCLOUD{}, newFakeCloud())); !slices.Equal(got, withSnap) {
		t.Errorf("NIFCLOUD with a capacity backend = %v, want %v", got, withSnap)
	}

	// Cinder with a backend implementing snapshots and capacity.
	full := append(slices.Clone(base),
		csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_GET_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_GET_CAPACITY)
	slices.Sort(full)
	if got := controllerCaps(t, newController(t, profile.Cinder{}, newFakeCloud())); !slices.Equal(got, full) {
		t.Errorf("Cinder capabilities = %v, want %v", got, full)
	}
	// Cinder backend without snapshots: no snapshot capabilities.
	noSnap := append(slices.Clone(base), csi.ControllerServiceCapability_RPC_CLONE_VOLUME)
	slices.Sort(noSnap)
	if got := controllerCaps(t, newController(t, profile.Cinder{}, disksOnly{newFakeCloud()})); !slices.Equal(got, noSnap) {
		t.Errorf("Cinder without snapshot backend = %v, want %v", got, noSnap)
	}

	// Unimplemented RPCs say so.
	c := newController(t, profile.NIFCLOUD{}, disksOnly{newFakeCloud()})
	ctx := context.Background()
	_, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "s", SourceVolumeId: "v"})
	wantCode(t, err, codes.Unimplemented)
	_, err = c.ListSnapshots(ctx, &csi.ListSnapshotsRequest{})
	wantCode(t, err, codes.Unimplemented)
	_, err = c.GetCapacity(ctx, &csi.GetCapacityRequest{})
	wantCode(t, err, codes.Unimplemented)
	_, err = c.ControllerModifyVolume(ctx, &csi.ControllerModifyVolumeRequest{VolumeId: "v"})
	wantCode(t, err, codes.Unimplemented)
}

func TestCreateVolumeValidation(t *testing.T) {
	c := newController(t, profile.NIFCLOUD{}, newFakeCloud())
	ctx := context.Background()
	tests := []struct {
		name      string
		req       *csi.CreateVolumeRequest
		code      codes.Code
		fragments []string
	}{
		{"no name", &csi.CreateVolumeRequest{VolumeCapabilities: rwo()}, codes.InvalidArgument, []string{"name"}},
		{"no capabilities", &csi.CreateVolumeRequest{Name: "pvc-1"}, codes.InvalidArgument, []string{"capabilities"}},
		{"no access mode", &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: []*csi.VolumeCapability{{AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}}}}}, codes.InvalidArgument, []string{"access mode"}},
		{"multi-node", &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: []*csi.VolumeCapability{mountCap(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER, "")}}, codes.InvalidArgument, []string{"MULTI_NODE_MULTI_WRITER"}},
		{"no access type", &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: []*csi.VolumeCapability{{AccessMode: &csi.VolumeCapability_AccessMode{Mode: snw}}}}, codes.InvalidArgument, []string{"access type"}},
		{"bad fs", &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: []*csi.VolumeCapability{mountCap(snw, "ntfs")}}, codes.InvalidArgument, []string{"fs_type", "ntfs"}},
		{"unknown parameter", &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: rwo(), Parameters: map[string]string{"iops": "3000"}}, codes.InvalidArgument, []string{`"iops"`}},
		{"bad type", &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: rwo(), Parameters: map[string]string{"type": "gp3"}}, codes.InvalidArgument, []string{`"type"`, "gp3"}},
		{"negative size", &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: rwo(), CapacityRange: &csi.CapacityRange{RequiredBytes: -1}}, codes.InvalidArgument, []string{"negative"}},
		{"required above limit", &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: rwo(), CapacityRange: &csi.CapacityRange{RequiredBytes: 2 * gib, LimitBytes: gib}}, codes.OutOfRange, nil},
		{"limit below rounded", &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: rwo(), CapacityRange: &csi.CapacityRange{RequiredBytes: 10 * gib, LimitBytes: 10 * gib}}, codes.OutOfRange, []string{"limit"}},
		{"snapshot source on NIFCLOUD", &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: rwo(), VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: "snap-1"}}}}, codes.InvalidArgument, []string{"snapshots"}},
		{"mutable parameters", &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: rwo(), MutableParameters: map[string]string{"iops": "1"}}, codes.InvalidArgument, []string{"mutable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateVolume(ctx, tt.req)
			wantCode(t, err, tt.code, tt.fragments...)
		})
	}
}

func TestCreateVolumeIdempotency(t *testing.T) {
	cloud := newFakeCloud()
	c := newController(t, profile.NIFCLOUD{}, cloud)
	ctx := context.Background()
	req := &csi.CreateVolumeRequest{
		Name:               "pvc-a",
		VolumeCapabilities: rwo(),
		CapacityRange:      &csi.CapacityRange{RequiredBytes: gib},
		Parameters: map[string]string{
			"type":                             "standard",
			"csi.storage.k8s.io/pvc/name":      "data",
			"csi.storage.k8s.io/pvc/namespace": "default",
		},
	}
	first, err := c.CreateVolume(ctx, req)
	mustNoErr(t, err)
	if got := first.GetVolume().GetCapacityBytes(); got != 100*gib {
		t.Errorf("capacity = %d, want 100 GiB", got)
	}
	if n := len(cloud.created); n != 1 || cloud.created[0].Metadata["csi.storage.k8s.io/pvc/name"] != "data" ||
		cloud.created[0].Parameters.Get("type") != "standard" || cloud.created[0].SizeBytes != 100*gib {
		t.Fatalf("backend saw %+v", cloud.created)
	}

	again, err := c.CreateVolume(ctx, req)
	mustNoErr(t, err)
	if again.GetVolume().GetVolumeId() != first.GetVolume().GetVolumeId() || len(cloud.created) != 1 {
		t.Errorf("second create made a new volume: %v", again)
	}
	// A compatible range (the existing 100 GiB fits 50..100 GiB) succeeds.
	compatible := &csi.CreateVolumeRequest{Name: "pvc-a", VolumeCapabilities: rwo(), CapacityRange: &csi.CapacityRange{RequiredBytes: 50 * gib, LimitBytes: 100 * gib}}
	_, err = c.CreateVolume(ctx, compatible)
	mustNoErr(t, err)

	bigger := &csi.CreateVolumeRequest{Name: "pvc-a", VolumeCapabilities: rwo(), CapacityRange: &csi.CapacityRange{RequiredBytes: 200 * gib, LimitBytes: 200 * gib}}
	_, err = c.CreateVolume(ctx, bigger)
	wantCode(t, err, codes.AlreadyExists, "pvc-a")
}

func TestCreateVolumeTopology(t *testing.T) {
	ctx := context.Background()
	key := (profile.NIFCLOUD{}).TopologyKey()
	seg := func(z string) *csi.Topology { return &csi.Topology{Segments: map[string]string{key: z}} }
	cloud := newFakeCloud()
	c := newController(t, profile.NIFCLOUD{}, cloud)

	resp, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: rwo(),
		AccessibilityRequirements: &csi.TopologyRequirement{Requisite: []*csi.Topology{seg("east-11"), seg("east-12")}, Preferred: []*csi.Topology{seg("east-12")}}})
	mustNoErr(t, err)
	if z := resp.GetVolume().GetAccessibleTopology()[0].GetSegments()[key]; z != "east-12" {
		t.Errorf("preferred zone not used: %s", z)
	}
	resp, err = c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-2", VolumeCapabilities: rwo(),
		AccessibilityRequirements: &csi.TopologyRequirement{Requisite: []*csi.Topology{seg("east-13")}}})
	mustNoErr(t, err)
	if z := resp.GetVolume().GetAccessibleTopology()[0].GetSegments()[key]; z != "east-13" {
		t.Errorf("requisite zone not used: %s", z)
	}

	// Cinder: the availability parameter wins, but must fit the requisite.
	ck := (profile.Cinder{}).TopologyKey()
	cc := newController(t, profile.Cinder{}, newFakeCloud())
	resp, err = cc.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-3", VolumeCapabilities: rwo(), Parameters: map[string]string{"availability": "nova"},
		AccessibilityRequirements: &csi.TopologyRequirement{Preferred: []*csi.Topology{{Segments: map[string]string{ck: "other"}}}}})
	mustNoErr(t, err)
	if z := resp.GetVolume().GetAccessibleTopology()[0].GetSegments()[ck]; z != "nova" || resp.GetVolume().GetCapacityBytes() != gib {
		t.Errorf("Cinder volume = %v", resp.GetVolume())
	}
	_, err = cc.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-4", VolumeCapabilities: rwo(), Parameters: map[string]string{"availability": "nova"},
		AccessibilityRequirements: &csi.TopologyRequirement{Requisite: []*csi.Topology{{Segments: map[string]string{ck: "az-2"}}}}})
	wantCode(t, err, codes.InvalidArgument, "nova")
}

func TestCreateVolumeContentSource(t *testing.T) {
	ctx := context.Background()
	cloud := newFakeCloud()
	c := newController(t, profile.Cinder{}, cloud)
	src, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "src", VolumeCapabilities: rwo(), CapacityRange: &csi.CapacityRange{RequiredBytes: 5 * gib}})
	mustNoErr(t, err)
	snap, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap", SourceVolumeId: src.GetVolume().GetVolumeId()})
	mustNoErr(t, err)

	fromSnap := func(id string) *csi.VolumeContentSource {
		return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: id}}}
	}
	fromVol := func(id string) *csi.VolumeContentSource {
		return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: id}}}
	}
	_, err = c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "r1", VolumeCapabilities: rwo(), VolumeContentSource: fromSnap("snap-missing")})
	wantCode(t, err, codes.NotFound, "snap-missing")
	_, err = c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "r2", VolumeCapabilities: rwo(), VolumeContentSource: fromVol("vol-missing")})
	wantCode(t, err, codes.NotFound, "vol-missing")

	// No size: the restored disk takes the source's size.
	r, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "r3", VolumeCapabilities: rwo(), VolumeContentSource: fromSnap(snap.GetSnapshot().GetSnapshotId())})
	mustNoErr(t, err)
	if r.GetVolume().GetCapacityBytes() != 5*gib || r.GetVolume().GetContentSource().GetSnapshot().GetSnapshotId() != snap.GetSnapshot().GetSnapshotId() ||
		r.GetVolume().GetVolumeContext()[VolumeContextResizeRequired] != "true" {
		t.Errorf("restored volume = %v", r.GetVolume())
	}
	// An explicit size below the source is out of range.
	_, err = c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "r4", VolumeCapabilities: rwo(), CapacityRange: &csi.CapacityRange{RequiredBytes: gib}, VolumeContentSource: fromVol(src.GetVolume().GetVolumeId())})
	wantCode(t, err, codes.OutOfRange)
	clone, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "r5", VolumeCapabilities: rwo(), CapacityRange: &csi.CapacityRange{RequiredBytes: 8 * gib}, VolumeContentSource: fromVol(src.GetVolume().GetVolumeId())})
	mustNoErr(t, err)
	if clone.GetVolume().GetCapacityBytes() != 8*gib || cloud.created[len(cloud.created)-1].SourceVolumeID != src.GetVolume().GetVolumeId() {
		t.Errorf("clone = %v", clone.GetVolume())
	}
	// Same name, different source: AlreadyExists.
	_, err = c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "r5", VolumeCapabilities: rwo(), CapacityRange: &csi.CapacityRange{RequiredBytes: 8 * gib}})
	wantCode(t, err, codes.AlreadyExists, "content source")
}

func TestCreateVolumeInFlight(t *testing.T) {
	cloud := newFakeCloud()
	cloud.createGate = make(chan struct{})
	cloud.createStarted = make(chan struct{}, 1)
	c := newController(t, profile.NIFCLOUD{}, cloud)
	ctx := context.Background()
	req := &csi.CreateVolumeRequest{Name: "pvc-slow", VolumeCapabilities: rwo()}

	done := make(chan error, 1)
	go func() {
		_, err := c.CreateVolume(ctx, req)
		done <- err
	}()
	select {
	case <-cloud.createStarted:
	case <-time.After(5 * time.Second):
		t.Fatal("CreateDisk was not called")
	}
	_, err := c.CreateVolume(ctx, req)
	wantCode(t, err, codes.Aborted, "pvc-slow")
	// Another name is not blocked.
	cloud.createStarted = nil
	other := make(chan error, 1)
	go func() {
		_, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-other", VolumeCapabilities: rwo()})
		other <- err
	}()
	close(cloud.createGate)
	mustNoErr(t, <-done)
	mustNoErr(t, <-other)
	// Once the first call finished, a retry succeeds (idempotently).
	_, err = c.CreateVolume(ctx, req)
	mustNoErr(t, err)
	if len(cloud.created) != 2 {
		t.Errorf("created %d disks, want 2", len(cloud.created))
	}
}

func TestDeleteVolume(t *testing.T) {
	cloud := newFakeCloud("i-1")
	c := newController(t, profile.NIFCLOUD{}, cloud)
	ctx := context.Background()
	_, err := c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{})
	wantCode(t, err, codes.InvalidArgument, "volume_id")
	_, err = c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "vol-nope"})
	mustNoErr(t, err)

	v, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-d", VolumeCapabilities: rwo()})
	mustNoErr(t, err)
	id := v.GetVolume().GetVolumeId()
	_, err = c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: "i-1", VolumeCapability: rwo()[0]})
	mustNoErr(t, err)
	_, err = c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = c.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: id, NodeId: "i-1"})
	mustNoErr(t, err)
	_, err = c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id})
	mustNoErr(t, err)
	_, err = c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id})
	mustNoErr(t, err)
}
