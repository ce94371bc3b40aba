package nifclouddisk

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/device"
)

func TestAttachDetach(t *testing.T) {
	e := newEnv(t, 10*time.Millisecond, nil)
	disk := e.create("pvc-attach", 100)
	e.counts()

	pc, err := e.disks.AttachDisk(e.ctx, disk.ID, "node1")
	if err != nil {
		t.Fatal(err)
	}
	if got := pc[backend.PublishContextDevicePath]; got != "SCSI (0:1)" {
		t.Fatalf("devicePath = %q", got)
	}
	wantCounts(t, e.counts(), map[string]int64{"AttachVolume": 1, "DescribeInstanceAttribute": 0})
	if a := e.volumes()[disk.ID].Attachment; a == nil || a.InstanceID != "node1" || a.Status != "attached" {
		t.Fatalf("attachment = %+v", a)
	}
	// The node's finder understands the hint (it fails only because no
	// device exists under this empty root).
	f := device.NewNIFCLOUD(device.Options{Root: t.TempDir(), Timeout: 20 * time.Millisecond})
	if _, err := f.FindDevice(e.ctx, disk.ID, pc); err == nil || !isNotFound(err) {
		t.Fatalf("FindDevice with the publish context: %v, want a not-found device", err)
	}

	// Idempotent: same context, no API mutation.
	pc2, err := e.disks.AttachDisk(e.ctx, disk.ID, "node1")
	if err != nil || pc2[backend.PublishContextDevicePath] != "SCSI (0:1)" {
		t.Fatalf("repeated AttachDisk = %v, %v", pc2, err)
	}
	wantCounts(t, e.counts(), map[string]int64{"AttachVolume": 0})

	got, err := e.disks.GetDisk(e.ctx, disk.ID)
	if err != nil || !slices.Equal(got.AttachedNodes, []string{"node1"}) || got.Status != backend.StatusInUse {
		t.Fatalf("GetDisk = %+v, %v", got, err)
	}
	_, err = e.disks.AttachDisk(e.ctx, disk.ID, "node2")
	wantErr(t, err, backend.ErrFailedPrecondition)
	wantErr(t, e.disks.DeleteDisk(e.ctx, disk.ID), backend.ErrFailedPrecondition)

	if err := e.disks.DetachDisk(e.ctx, disk.ID, "node1"); err != nil {
		t.Fatal(err)
	}
	if a := e.volumes()[disk.ID].Attachment; a != nil {
		t.Fatalf("still attached: %+v", a)
	}
	// Detaching again, or from a node it never was on, succeeds.
	if err := e.disks.DetachDisk(e.ctx, disk.ID, "node1"); err != nil {
		t.Fatal(err)
	}
	if err := e.disks.DetachDisk(e.ctx, disk.ID, "no-such-node"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.disks.DetachDisk(e.ctx, "no-such-volume", "node1"), backend.ErrNotFound)

	// A stopped instance can take disks; a missing one cannot.
	if _, err := e.disks.AttachDisk(e.ctx, disk.ID, "node2"); err != nil {
		t.Fatal(err)
	}
	if err := e.disks.DetachDisk(e.ctx, disk.ID, "node2"); err != nil {
		t.Fatal(err)
	}
	_, err = e.disks.AttachDisk(e.ctx, disk.ID, "no-such-node")
	wantErr(t, err, backend.ErrNotFound)
	_, err = e.disks.AttachDisk(e.ctx, "no-such-volume", "node1")
	wantErr(t, err, backend.ErrNotFound)
	// Another zone is refused by the cloud.
	_, err = e.disks.AttachDisk(e.ctx, disk.ID, "far1")
	wantErr(t, err, backend.ErrInvalidArgument)

	for node, want := range map[string]bool{"node1": true, "node2": true, "far1": true, "nope": false} {
		if ok, err := e.disks.NodeExists(e.ctx, node); err != nil || ok != want {
			t.Errorf("NodeExists(%s) = %v, %v", node, ok, err)
		}
	}
}

// TestAttachLimit: the 15th disk on one instance hits the SCSI slot limit.
func TestAttachLimit(t *testing.T) {
	e := newEnv(t, 0, nil)
	for i := 1; i <= 14; i++ {
		d := e.create(fmt.Sprintf("pvc-limit-%02d", i), 100)
		pc, err := e.disks.AttachDisk(e.ctx, d.ID, "node1")
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("SCSI (0:%d)", i); pc[backend.PublishContextDevicePath] != want {
			t.Fatalf("disk %d: devicePath %q, want %q", i, pc[backend.PublishContextDevicePath], want)
		}
	}
	extra := e.create("pvc-limit-15", 100)
	_, err := e.disks.AttachDisk(e.ctx, extra.ID, "node1")
	wantErr(t, err, backend.ErrQuota)
	if a := e.volumes()[extra.ID].Attachment; a != nil {
		t.Fatalf("extra disk attached: %+v", a)
	}
}

func isNotFound(err error) bool { return err != nil && errors.Is(err, backend.ErrNotFound) }
