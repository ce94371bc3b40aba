package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/cinderdisk"
	"github.com/kumo-project/kumo/pkg/csi/device"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// spyLog records every backend, finder and mounter call of a test.
type spyLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *spyLog) record(call string, args ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, call+"("+strings.Join(args, ", ")+")")
}

func (l *spyLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.calls
	l.calls = nil
	return out
}

// cinderIDs are the real Cinder backend's ID validators. They are
// stateless (they only check the ID's form), so no cloud is needed.
var cinderIDs interface {
	backend.VolumeIDValidator
	backend.SnapshotIDValidator
	backend.NodeIDValidator
} = (*cinderdisk.Backend)(nil)

// spyCinder is a fakeCloud that records every call and validates IDs as
// the Cinder backend does.
type spyCinder struct {
	c   *fakeCloud
	log *spyLog
}

var (
	_ backend.Disks               = spyCinder{}
	_ backend.Snapshots           = spyCinder{}
	_ backend.VolumeIDValidator   = spyCinder{}
	_ backend.SnapshotIDValidator = spyCinder{}
	_ backend.NodeIDValidator     = spyCinder{}
)

func (s spyCinder) ValidateVolumeID(id string) error   { return cinderIDs.ValidateVolumeID(id) }
func (s spyCinder) ValidateSnapshotID(id string) error { return cinderIDs.ValidateSnapshotID(id) }
func (s spyCinder) ValidateNodeID(id string) error     { return cinderIDs.ValidateNodeID(id) }

func (s spyCinder) CreateDisk(ctx context.Context, req backend.CreateRequest) (*backend.Disk, error) {
	s.log.record("CreateDisk", req.Name, req.SourceVolumeID, req.SourceSnapshotID)
	return s.c.CreateDisk(ctx, req)
}

func (s spyCinder) DeleteDisk(ctx context.Context, id string) error {
	s.log.record("DeleteDisk", id)
	return s.c.DeleteDisk(ctx, id)
}

func (s spyCinder) GetDisk(ctx context.Context, id string) (*backend.Disk, error) {
	s.log.record("GetDisk", id)
	return s.c.GetDisk(ctx, id)
}

func (s spyCinder) FindDiskByName(ctx context.Context, name string) (*backend.Disk, error) {
	s.log.record("FindDiskByName", name)
	return s.c.FindDiskByName(ctx, name)
}

func (s spyCinder) ListDisks(ctx context.Context, maxEntries int, token string) ([]*backend.Disk, string, error) {
	s.log.record("ListDisks", token)
	return s.c.ListDisks(ctx, maxEntries, token)
}

func (s spyCinder) AttachDisk(ctx context.Context, diskID, nodeID string) (map[string]string, error) {
	s.log.record("AttachDisk", diskID, nodeID)
	return s.c.AttachDisk(ctx, diskID, nodeID)
}

func (s spyCinder) DetachDisk(ctx context.Context, diskID, nodeID string) error {
	s.log.record("DetachDisk", diskID, nodeID)
	return s.c.DetachDisk(ctx, diskID, nodeID)
}

func (s spyCinder) ExpandDisk(ctx context.Context, id string, newSize int64) (int64, error) {
	s.log.record("ExpandDisk", id)
	return s.c.ExpandDisk(ctx, id, newSize)
}

func (s spyCinder) NodeExists(ctx context.Context, nodeID string) (bool, error) {
	s.log.record("NodeExists", nodeID)
	return s.c.NodeExists(ctx, nodeID)
}

func (s spyCinder) CreateSnapshot(ctx context.Context, name, source string, p backend.Parameters) (*backend.Snapshot, error) {
	s.log.record("CreateSnapshot", name, source)
	return s.c.CreateSnapshot(ctx, name, source, p)
}

func (s spyCinder) DeleteSnapshot(ctx context.Context, id string) error {
	s.log.record("DeleteSnapshot", id)
	return s.c.DeleteSnapshot(ctx, id)
}

func (s spyCinder) GetSnapshot(ctx context.Context, id string) (*backend.Snapshot, error) {
	s.log.record("GetSnapshot", id)
	return s.c.GetSnapshot(ctx, id)
}

func (s spyCinder) FindSnapshotByName(ctx context.Context, name string) (*backend.Snapshot, error) {
	s.log.record("FindSnapshotByName", name)
	return s.c.FindSnapshotByName(ctx, name)
}

func (s spyCinder) ListSnapshots(ctx context.Context, source string, maxEntries int, token string) ([]*backend.Snapshot, string, error) {
	s.log.record("ListSnapshots", source, token)
	return s.c.ListSnapshots(ctx, source, maxEntries, token)
}

// spyFinder is the real Cinder device finder (and so its volume ID
// validator) with its device calls recorded.
type spyFinder struct {
	*device.Cinder
	log *spyLog
}

func (f spyFinder) FindDevice(ctx context.Context, volumeID string, pc map[string]string) (string, error) {
	f.log.record("FindDevice", volumeID)
	return f.Cinder.FindDevice(ctx, volumeID, pc)
}

func (f spyFinder) RescanDevice(ctx context.Context, dev string) error {
	f.log.record("RescanDevice", dev)
	return f.Cinder.RescanDevice(ctx, dev)
}

// spyMounter records every call and does nothing.
type spyMounter struct{ log *spyLog }

var _ backend.Mounter = spyMounter{}

var errSpyMounter = errors.New("spy mounter: not expected to be called")

func (m spyMounter) FormatAndMount(source, target, _ string, _ []string) error {
	m.log.record("FormatAndMount", source, target)
	return errSpyMounter
}

func (m spyMounter) Mount(source, target, _ string, _ []string) error {
	m.log.record("Mount", source, target)
	return errSpyMounter
}

func (m spyMounter) Unmount(target string) error {
	m.log.record("Unmount", target)
	return errSpyMounter
}

func (m spyMounter) IsLikelyNotMountPoint(path string) (bool, error) {
	m.log.record("IsLikelyNotMountPoint", path)
	return false, errSpyMounter
}

func (m spyMounter) IsMountPoint(path string) (bool, error) {
	m.log.record("IsMountPoint", path)
	return false, errSpyMounter
}

func (m spyMounter) GetDeviceNameFromMount(path string) (string, int, error) {
	m.log.record("GetDeviceNameFromMount", path)
	return "", 0, errSpyMounter
}

func (m spyMounter) GetMountRefs(path string) ([]string, error) {
	m.log.record("GetMountRefs", path)
	return nil, errSpyMounter
}

func (m spyMounter) PathExists(path string) (bool, error) {
	m.log.record("PathExists", path)
	return false, errSpyMounter
}

func (m spyMounter) MakeDir(path string) error {
	m.log.record("MakeDir", path)
	return errSpyMounter
}

func (m spyMounter) MakeFile(path string) error {
	m.log.record("MakeFile", path)
	return errSpyMounter
}

func (m spyMounter) NeedResize(dev, path string) (bool, error) {
	m.log.record("NeedResize", dev, path)
	return false, errSpyMounter
}

func (m spyMounter) ResizeFS(dev, path string) (bool, error) {
	m.log.record("ResizeFS", dev, path)
	return false, errSpyMounter
}

func (m spyMounter) GetStatistics(path string) (backend.VolumeStatistics, error) {
	m.log.record("GetStatistics", path)
	return backend.VolumeStatistics{}, errSpyMounter
}

func (m spyMounter) GetBlockSizeBytes(dev string) (int64, error) {
	m.log.record("GetBlockSizeBytes", dev)
	return 0, errSpyMounter
}

func (m spyMounter) DeviceExists(dev string) (bool, error) {
	m.log.record("DeviceExists", dev)
	return false, errSpyMounter
}

// serveCinderSpy serves a Cinder-profile driver (controller and node) over
// a unix socket, with spies for the backend, finder and mounter.
func serveCinderSpy(t *testing.T) (csi.ControllerClient, csi.NodeClient, *spyLog, string) {
	t.Helper()
	root := t.TempDir()
	cloud := newFakeCloud("node-1")
	_, err := cloud.CreateDisk(context.Background(), backend.CreateRequest{Name: "good", SizeBytes: gib})
	mustNoErr(t, err)
	log := &spyLog{}
	d := newTestDriver(t, Options{
		Mode:     ModeAll,
		Profile:  profile.Cinder{},
		Disks:    spyCinder{c: cloud, log: log},
		Finder:   spyFinder{Cinder: device.NewCinder(device.Options{Root: filepath.Join(root, "host"), Timeout: 100 * time.Millisecond}), log: log},
		Mounter:  spyMounter{log: log},
		Identity: backend.StaticIdentity{ID: "node-1", ZoneName: "nova"},
		// Node paths must be below the kubelet root; the ID is checked first.
		KubeletRootDir: filepath.Join(root, "kubelet"),
		StateDir:       filepath.Join(root, "state"),
	})
	sock := filepath.Join(root, "csi.sock")
	lis, err := net.Listen("unix", sock)
	mustNoErr(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, lis) }()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	mustNoErr(t, err)
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("the driver did not stop")
		}
	})
	log.take() // setup calls
	return csi.NewControllerClient(conn), csi.NewNodeClient(conn), log, filepath.Join(root, "kubelet")
}

// unsafeIDs are path-unsafe IDs: traversals, percent escapes, an option,
// a separator and an overlong one. Empty IDs are "required" errors,
// tested elsewhere.
var unsafeIDs = []string{
	"x/../vol-0001",
	"x/../../../dev/loop0",
	"../",
	"..",
	"%2e%2e",
	"%2e%2e%2fvol-0001",
	"-V",
	"vol 1",
	"vol\\1",
	strings.Repeat("a", backend.MaxPathSafeIDLen+1),
}

// idRPC is one RPC with one path-unsafe ID field.
type idRPC struct {
	name  string
	field string // the CSI field the error must name
	call  func(ctx context.Context, c csi.ControllerClient, n csi.NodeClient, kubelet, id string) error
	// listsNothing: the RPC answers an empty list for an ID that cannot
	// exist (ListSnapshots), still without reaching the backend.
	listsNothing bool
}

func idRPCs() []idRPC {
	const good, node = "vol-0001", "node-1"
	mount := mountCap(snw, "ext4")
	staging := func(k string) string { return filepath.Join(k, "plugins/kubernetes.io/csi/x/globalmount") }
	target := func(k string) string { return filepath.Join(k, "pods/p/volumes/kubernetes.io~csi/pv/mount") }
	c := func(name, field string, f func(context.Context, csi.ControllerClient, string) error) idRPC {
		return idRPC{name: name, field: field, call: func(ctx context.Context, cc csi.ControllerClient, _ csi.NodeClient, _, id string) error {
			return f(ctx, cc, id)
		}}
	}
	n := func(name string, f func(context.Context, csi.NodeClient, string, string) error) idRPC {
		return idRPC{name: name, field: "volume_id", call: func(ctx context.Context, _ csi.ControllerClient, nc csi.NodeClient, k, id string) error {
			return f(ctx, nc, k, id)
		}}
	}
	empty := func(r idRPC) idRPC { r.listsNothing = true; return r }
	return []idRPC{
		c("DeleteVolume", "volume_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id})
			return err
		}),
		c("ControllerPublishVolume/volume_id", "volume_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: node, VolumeCapability: mount})
			return err
		}),
		c("ControllerPublishVolume/node_id", "node_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: good, NodeId: id, VolumeCapability: mount})
			return err
		}),
		c("ControllerUnpublishVolume/volume_id", "volume_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: id, NodeId: node})
			return err
		}),
		c("ControllerUnpublishVolume/node_id", "node_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: good, NodeId: id})
			return err
		}),
		c("ControllerExpandVolume", "volume_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: id, CapacityRange: &csi.CapacityRange{RequiredBytes: 2 * gib}})
			return err
		}),
		c("ValidateVolumeCapabilities", "volume_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: id, VolumeCapabilities: rwo()})
			return err
		}),
		c("ControllerGetVolume", "volume_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.ControllerGetVolume(ctx, &csi.ControllerGetVolumeRequest{VolumeId: id})
			return err
		}),
		c("ControllerGetVolumeHealth", "volume_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.ControllerGetVolumeHealth(ctx, &csi.ControllerGetVolumeHealthRequest{VolumeId: id})
			return err
		}),
		c("CreateVolume/volume_content_source.snapshot", "snapshot_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "restore", VolumeCapabilities: rwo(),
				VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: id}}}})
			return err
		}),
		c("CreateVolume/volume_content_source.volume", "volume_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "clone", VolumeCapabilities: rwo(),
				VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: id}}}})
			return err
		}),
		c("CreateSnapshot/source_volume_id", "volume_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap", SourceVolumeId: id})
			return err
		}),
		c("DeleteSnapshot", "snapshot_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: id})
			return err
		}),
		c("GetSnapshot", "snapshot_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			_, err := cc.GetSnapshot(ctx, &csi.GetSnapshotRequest{SnapshotId: id})
			return err
		}),
		empty(c("ListSnapshots/snapshot_id", "snapshot_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			return listedNothing(cc.ListSnapshots(ctx, &csi.ListSnapshotsRequest{SnapshotId: id}))
		})),
		empty(c("ListSnapshots/source_volume_id", "volume_id", func(ctx context.Context, cc csi.ControllerClient, id string) error {
			return listedNothing(cc.ListSnapshots(ctx, &csi.ListSnapshotsRequest{SourceVolumeId: id}))
		})),
		n("NodeStageVolume", func(ctx context.Context, nc csi.NodeClient, k, id string) error {
			_, err := nc.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: id, StagingTargetPath: staging(k), VolumeCapability: mount})
			return err
		}),
		n("NodeUnstageVolume", func(ctx context.Context, nc csi.NodeClient, k, id string) error {
			_, err := nc.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: id, StagingTargetPath: staging(k)})
			return err
		}),
		n("NodePublishVolume", func(ctx context.Context, nc csi.NodeClient, k, id string) error {
			_, err := nc.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: id, StagingTargetPath: staging(k), TargetPath: target(k), VolumeCapability: mount})
			return err
		}),
		n("NodeUnpublishVolume", func(ctx context.Context, nc csi.NodeClient, k, id string) error {
			_, err := nc.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: id, TargetPath: target(k)})
			return err
		}),
		n("NodeExpandVolume", func(ctx context.Context, nc csi.NodeClient, k, id string) error {
			_, err := nc.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: id, VolumePath: target(k), StagingTargetPath: staging(k)})
			return err
		}),
		n("NodeGetVolumeStats", func(ctx context.Context, nc csi.NodeClient, k, id string) error {
			_, err := nc.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: id, VolumePath: target(k), StagingTargetPath: staging(k)})
			return err
		}),
		n("NodeGetVolumeHealth", func(ctx context.Context, nc csi.NodeClient, _, id string) error {
			_, err := nc.NodeGetVolumeHealth(ctx, &csi.NodeGetVolumeHealthRequest{VolumeId: id})
			return err
		}),
	}
}

// Every RPC that takes a volume, snapshot or node ID refuses a path-unsafe
// one with InvalidArgument naming the field, over the real gRPC API of a
// Cinder-profile driver, before any backend, device or mount call.
func TestPathUnsafeIDsRefusedOverGRPC(t *testing.T) {
	ctrl, node, log, kubelet := serveCinderSpy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The spies see calls at all: a well-formed unknown ID reaches them.
	_, err := ctrl.ControllerGetVolume(ctx, &csi.ControllerGetVolumeRequest{VolumeId: "vol-9999"})
	wantCode(t, err, codes.NotFound)
	if calls := log.take(); !slices.Contains(calls, "GetDisk(vol-9999)") {
		t.Fatalf("the backend spy saw %v for a well-formed ID, want GetDisk", calls)
	}

	for _, rpc := range idRPCs() {
		t.Run(rpc.name, func(t *testing.T) {
			for _, id := range unsafeIDs {
				err := rpc.call(ctx, ctrl, node, kubelet, id)
				calls := log.take()
				if len(calls) > 0 {
					t.Errorf("%s(%q) reached the backend/device/mounter: %v", rpc.name, id, calls)
				}
				if rpc.listsNothing {
					if err != nil {
						t.Errorf("%s(%q) = %v, want an empty list", rpc.name, id, err)
					}
					continue
				}
				st, _ := status.FromError(err)
				if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), rpc.field) || !strings.Contains(st.Message(), "is not a valid") {
					t.Errorf("%s(%q) = %v (code %s), want InvalidArgument naming %s", rpc.name, id, err, st.Code(), rpc.field)
				}
			}
		})
	}
}

// listedNothing turns a non-empty ListSnapshots answer into an error.
func listedNothing(r *csi.ListSnapshotsResponse, err error) error {
	if err == nil && len(r.GetEntries()) > 0 {
		return fmt.Errorf("listed %d snapshots", len(r.GetEntries()))
	}
	return err
}
