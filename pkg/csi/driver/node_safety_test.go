//go:build linux

package driver

// The node plugin acts only on paths under the kubelet root that it staged
// or published for the volume in the request (hardening issue, item 4),
// and a read-only publication stays read-only whatever the mount flags
// (item 5). Each case below was an attack that succeeded before: a regular
// file deleted, a foreign mount unmounted, another volume's SCSI device
// deleted through sysfs, another volume's file system grown, `-V` passed
// to mount(8) as an option.

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/device"
	"github.com/kumo-project/kumo/pkg/csi/internal/loopdev"
	"github.com/kumo-project/kumo/pkg/csi/mounter"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// safetyNode is a NIFCLOUD node plugin whose kubelet root is its own
// temporary directory, with loop devices in SCSI slots 1..n.
type safetyNode struct {
	n        csi.NodeServer
	kubelet  string
	devs     []*loopdev.Device
	deletes  []string // /sys/block/<dev>/device/delete of each device
	stateDir string
	devRoot  string // the finder's /dev and /sys
}

func newSafetyNode(t *testing.T, disks int) *safetyNode {
	t.Helper()
	loopdev.Require(t, "mkfs.ext4", "blkid", "umount")
	root := t.TempDir()
	sn := &safetyNode{kubelet: t.TempDir(), stateDir: t.TempDir(), devRoot: root}
	loopdev.UnmountUnder(t, sn.kubelet)
	for i := range disks {
		dev := loopdev.New(t, 64*mib)
		link(t, dev.Path, filepath.Join(root, "dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:"+string(rune('1'+i))+":0"))
		del := filepath.Join(root, "sys/block", filepath.Base(dev.Path), "device/delete")
		writeFile(t, del, "")
		sn.devs = append(sn.devs, dev)
		sn.deletes = append(sn.deletes, del)
	}
	sn.n = sn.restart(t)
	return sn
}

// restart builds a new plugin over the same kubelet root and records.
func (sn *safetyNode) restart(t *testing.T) csi.NodeServer {
	t.Helper()
	return newTestDriver(t, Options{
		Mode: ModeNode, Profile: profile.NIFCLOUD{}, Finder: device.NewNIFCLOUD(finderOptions(sn.devRoot)),
		Mounter: mounter.New(), Identity: backend.StaticIdentity{ID: "i-node1", ZoneName: "east-11"},
		KubeletRootDir: sn.kubelet, StateDir: sn.stateDir,
	}).Node()
}

func (sn *safetyNode) path(rel string) string { return filepath.Join(sn.kubelet, rel) }

// stage stages disk i (slot i+1) as volume id and publishes it at target.
func (sn *safetyNode) stageAndPublish(t *testing.T, i int, id, staging, target string) {
	t.Helper()
	ctx := context.Background()
	pc := map[string]string{"devicePath": "SCSI (0:" + string(rune('1'+i)) + ")"}
	_, err := sn.n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: id, PublishContext: pc, StagingTargetPath: staging, VolumeCapability: mountCap(snw, "ext4")})
	mustNoErr(t, err)
	if target != "" {
		_, err = sn.n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: id, PublishContext: pc, StagingTargetPath: staging, TargetPath: target, VolumeCapability: mountCap(snw, "ext4")})
		mustNoErr(t, err)
	}
}

func isMounted(t *testing.T, path string) bool {
	t.Helper()
	ok, err := mounter.New().IsMountPoint(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("IsMountPoint(%s): %v", path, err)
	}
	return ok
}

func readAttr(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	mustNoErr(t, err)
	return string(b)
}

func TestNodeRefusesPathsOutsideTheKubeletRoot(t *testing.T) {
	sn := newSafetyNode(t, 1)
	ctx := context.Background()
	outside := t.TempDir()
	mustNoErr(t, os.Symlink(outside, sn.path("escape")))
	c := mountCap(snw, "ext4")
	bad := map[string]string{
		"relative":           "pods/x/mount",
		"option":             "-V",
		"dot-dot":            sn.kubelet + "/pods/../../etc",
		"outside":            outside,
		"symlinked parent":   sn.path("escape/mount"),
		"symlink as element": sn.path("escape"),
	}
	for name, p := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := sn.n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: "vol-1", StagingTargetPath: p, VolumeCapability: c,
				PublishContext: map[string]string{"devicePath": "SCSI (0:1)"}})
			wantCode(t, err, codes.InvalidArgument, "staging_target_path")
			_, err = sn.n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "vol-1", StagingTargetPath: sn.path("staging"), TargetPath: p, VolumeCapability: c})
			wantCode(t, err, codes.InvalidArgument, "target_path")
			_, err = sn.n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-1", TargetPath: p})
			wantCode(t, err, codes.InvalidArgument, "target_path")
			_, err = sn.n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: "vol-1", StagingTargetPath: p})
			wantCode(t, err, codes.InvalidArgument, "staging_target_path")
		})
	}
	// Nothing was formatted or mounted by any of them.
	if fs := fsTypeOfDevice(t, sn.devs[0].Path); fs != "" {
		t.Errorf("device was formatted (%s) by a refused request", fs)
	}
	if _, err := os.Stat(filepath.Join(outside, "mount")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a directory was created outside the kubelet root: %v", err)
	}
}

func TestNodeUnpublishLeavesWhatIsNotTheVolumes(t *testing.T) {
	sn := newSafetyNode(t, 1)
	ctx := context.Background()

	// A regular file with content is not deleted.
	file := sn.path("pods/uid-1/volumes/kubernetes.io~csi/pv/mount")
	writeFile(t, file, "precious")
	_, err := sn.n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-1", TargetPath: file})
	wantCode(t, err, codes.FailedPrecondition, "left alone")
	if readAttr(t, file) != "precious" {
		t.Fatal("the regular file was changed")
	}
	// A non-empty directory is not deleted either.
	dir := sn.path("pods/uid-2/volumes/kubernetes.io~csi/pv/mount")
	writeFile(t, filepath.Join(dir, "data"), "x")
	_, err = sn.n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-1", TargetPath: dir})
	wantCode(t, err, codes.FailedPrecondition, "not empty")

	// A foreign mount (another plugin's tmpfs) stays mounted.
	foreign := sn.path("pods/uid-3/volumes/kubernetes.io~empty-dir/cache")
	mustNoErr(t, os.MkdirAll(foreign, 0o750))
	mustNoErr(t, syscall.Mount("tmpfs", foreign, "tmpfs", 0, "size=1m"))
	_, err = sn.n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-1", TargetPath: foreign})
	wantCode(t, err, codes.FailedPrecondition, "did not make")
	_, err = sn.n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: "vol-1", StagingTargetPath: foreign})
	wantCode(t, err, codes.FailedPrecondition, "did not make")
	if !isMounted(t, foreign) {
		t.Fatal("the foreign mount was unmounted")
	}
	// Publishing onto it is refused too.
	staging := sn.path("plugins/kubernetes.io/csi/x/vol-1/globalmount")
	sn.stageAndPublish(t, 0, "vol-1", staging, "")
	_, err = sn.n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "vol-1", StagingTargetPath: staging, TargetPath: foreign, VolumeCapability: mountCap(snw, "ext4")})
	wantCode(t, err, codes.AlreadyExists, "not volume vol-1")

	// An empty, unmounted target is removed as the CO expects.
	empty := sn.path("pods/uid-4/volumes/kubernetes.io~csi/pv/mount")
	mustNoErr(t, os.MkdirAll(empty, 0o750))
	_, err = sn.n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-1", TargetPath: empty})
	mustNoErr(t, err)
	if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty target not removed: %v", err)
	}
}

func TestNodeActsOnlyOnTheRequestedVolume(t *testing.T) {
	sn := newSafetyNode(t, 2)
	ctx := context.Background()
	stagingA, targetA := sn.path("plugins/staging/vol-a"), sn.path("pods/uid-a/volumes/kubernetes.io~csi/pv-a/mount")
	stagingB, targetB := sn.path("plugins/staging/vol-b"), sn.path("pods/uid-b/volumes/kubernetes.io~csi/pv-b/mount")
	sn.stageAndPublish(t, 0, "vol-a", stagingA, targetA)
	sn.stageAndPublish(t, 1, "vol-b", stagingB, targetB)

	// Volume A's requests against B's paths touch nothing of B.
	_, err := sn.n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-a", TargetPath: targetB})
	wantCode(t, err, codes.FailedPrecondition, "vol-a")
	_, err = sn.n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: "vol-a", StagingTargetPath: stagingB})
	wantCode(t, err, codes.FailedPrecondition, "vol-a")
	_, err = sn.n.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: "vol-a", VolumePath: targetB})
	wantCode(t, err, codes.FailedPrecondition, "vol-a")
	_, err = sn.n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "vol-a", StagingTargetPath: stagingB,
		TargetPath: sn.path("pods/uid-x/volumes/kubernetes.io~csi/pv-x/mount"), VolumeCapability: mountCap(snw, "ext4")})
	wantCode(t, err, codes.FailedPrecondition, "vol-a")
	if !isMounted(t, stagingB) || !isMounted(t, targetB) {
		t.Fatal("volume B was unmounted by requests for volume A")
	}
	if got := readAttr(t, sn.deletes[1]); got != "" {
		t.Fatalf("volume B's SCSI device was deleted through sysfs (%q)", got)
	}

	// The records survive a restart of the plugin: A is torn down, its
	// device released, B untouched.
	sn.n = sn.restart(t)
	_, err = sn.n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-a", TargetPath: targetA})
	mustNoErr(t, err)
	_, err = sn.n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: "vol-a", StagingTargetPath: stagingA})
	mustNoErr(t, err)
	if isMounted(t, stagingA) || isMounted(t, targetA) {
		t.Error("volume A is still mounted")
	}
	if got := readAttr(t, sn.deletes[0]); got != "1" {
		t.Errorf("volume A's device was not released (delete attribute %q)", got)
	}
	if !isMounted(t, stagingB) || readAttr(t, sn.deletes[1]) != "" {
		t.Error("tearing down A touched B")
	}
	// A's record is gone once nothing of it is mounted.
	if entries, _ := os.ReadDir(sn.stateDir); len(entries) != 1 {
		t.Errorf("records left: %d, want only B's", len(entries))
	}
}

// Mounts made before kumo kept records are recognised by the kubelet's own
// vol_data.json next to them, and only for the volume it names.
func TestNodeTrustsTheKubeletsVolumeData(t *testing.T) {
	sn := newSafetyNode(t, 1)
	ctx := context.Background()
	sha := strings.Repeat("ab", 32)
	staging := sn.path("plugins/kubernetes.io/csi/" + (profile.NIFCLOUD{}).DriverName() + "/" + sha + "/globalmount")
	target := sn.path("pods/uid-1/volumes/kubernetes.io~csi/pv-1/mount")
	sn.stageAndPublish(t, 0, "vol-1", staging, target)
	for _, dir := range []string{filepath.Dir(staging), filepath.Dir(target)} {
		b, _ := json.Marshal(map[string]string{"volumeHandle": "vol-1", "driverName": (profile.NIFCLOUD{}).DriverName()})
		writeFile(t, filepath.Join(dir, "vol_data.json"), string(b))
	}
	// Forget kumo's records, as after an upgrade from a version without.
	mustNoErr(t, os.RemoveAll(sn.stateDir))
	sn.n = sn.restart(t)

	_, err := sn.n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-2", TargetPath: target})
	wantCode(t, err, codes.FailedPrecondition, "vol-2")
	_, err = sn.n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-1", TargetPath: target})
	mustNoErr(t, err)
	_, err = sn.n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: "vol-2", StagingTargetPath: staging})
	wantCode(t, err, codes.FailedPrecondition, "vol-2")
	_, err = sn.n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: "vol-1", StagingTargetPath: staging})
	mustNoErr(t, err)
	if isMounted(t, staging) || isMounted(t, target) {
		t.Error("still mounted after unpublish and unstage")
	}
}

func TestNodeReadOnlyWinsOverRWFlag(t *testing.T) {
	sn := newSafetyNode(t, 1)
	ctx := context.Background()
	staging := sn.path("plugins/staging/vol-1")
	sn.stageAndPublish(t, 0, "vol-1", staging, "")
	pc := map[string]string{"devicePath": "SCSI (0:1)"}
	for name, req := range map[string]*csi.NodePublishVolumeRequest{
		"readonly field":  {Readonly: true, VolumeCapability: mountCap(snw, "ext4", "rw")},
		"rw and defaults": {Readonly: true, VolumeCapability: mountCap(snw, "ext4", "noatime,rw", "defaults")},
	} {
		t.Run(name, func(t *testing.T) {
			target := sn.path("pods/" + strings.ReplaceAll(name, " ", "-") + "/mount")
			req.VolumeId, req.PublishContext, req.StagingTargetPath, req.TargetPath = "vol-1", pc, staging, target
			_, err := sn.n.NodePublishVolume(ctx, req)
			mustNoErr(t, err)
			err = os.WriteFile(filepath.Join(target, "x"), []byte("x"), 0o644)
			if !errors.Is(err, syscall.EROFS) {
				t.Errorf("writing to a read-only publication: %v, want EROFS", err)
			}
			_, err = sn.n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-1", TargetPath: target})
			mustNoErr(t, err)
		})
	}
	// The staged volume itself stays writable.
	mustNoErr(t, os.WriteFile(filepath.Join(staging, "rw"), []byte("x"), 0o644))
}

func TestMountOptionsReadOnlyLast(t *testing.T) {
	cases := []struct {
		ro    bool
		flags []string
		want  string
	}{
		{false, []string{"noatime", "rw"}, "noatime,rw"},
		{true, []string{"rw"}, "ro"},
		{true, []string{"noatime,rw", "defaults"}, "noatime,defaults,ro"},
		{true, nil, "ro"},
	}
	for _, c := range cases {
		if got := strings.Join(mountOptions(c.ro, c.flags), ","); got != c.want {
			t.Errorf("mountOptions(%t, %q) = %q, want %q", c.ro, c.flags, got, c.want)
		}
	}
}
