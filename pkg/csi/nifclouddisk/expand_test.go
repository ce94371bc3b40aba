package nifclouddisk

import (
	"net/http"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

func TestExpandSteps(t *testing.T) {
	e := newEnv(t, 10*time.Millisecond, nil)
	disk := e.create("pvc-expand", 100)
	e.counts()

	// 100 -> 300 GB: two calls, each waited for.
	got, err := e.disks.ExpandDisk(e.ctx, disk.ID, 300*profile.GiB)
	if err != nil || got != 300*profile.GiB {
		t.Fatalf("ExpandDisk = %d, %v", got, err)
	}
	wantCounts(t, e.counts(), map[string]int64{"ExtendVolumeSize": 2})
	if v := e.volumes()[disk.ID]; v.Size != 300 {
		t.Fatalf("size = %d GB", v.Size)
	}

	// Already large enough (a target that rounds to 300): no call.
	got, err = e.disks.ExpandDisk(e.ctx, disk.ID, 250*profile.GiB)
	if err != nil || got != 300*profile.GiB {
		t.Fatalf("ExpandDisk(250 GiB) = %d, %v", got, err)
	}
	wantCounts(t, e.counts(), map[string]int64{"ExtendVolumeSize": 0})

	// Online: attached disks grow too, and stay attached.
	if _, err := e.disks.AttachDisk(e.ctx, disk.ID, "node1"); err != nil {
		t.Fatal(err)
	}
	e.counts()
	// 301 GiB needs 400 GB: one step, never 500.
	got, err = e.disks.ExpandDisk(e.ctx, disk.ID, 301*profile.GiB)
	if err != nil || got != 400*profile.GiB {
		t.Fatalf("ExpandDisk(301 GiB) = %d, %v", got, err)
	}
	wantCounts(t, e.counts(), map[string]int64{"ExtendVolumeSize": 1})
	if v := e.volumes()[disk.ID]; v.Size != 400 || v.Attachment == nil || v.Attachment.Status != "attached" {
		t.Fatalf("volume after online expansion = %+v", v)
	}
	_, err = e.disks.ExpandDisk(e.ctx, "no-such-volume", 500*profile.GiB)
	wantErr(t, err, backend.ErrNotFound)
}

func TestExpandBeyondLimit(t *testing.T) {
	e := newEnv(t, 0, nil)
	disk, err := e.disks.CreateDisk(e.ctx, request(t, "pvc-flash", 1100, map[string]string{"type": "flash"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.disks.ExpandDisk(e.ctx, disk.ID, 1200*profile.GiB)
	wantErr(t, err, backend.ErrOutOfRange)
	if v := e.volumes()[disk.ID]; v.Size != 1100 {
		t.Fatalf("size = %d", v.Size)
	}
}

// TestExpandBusyDisk: a disk still busy with another transition is waited
// for, not failed.
func TestExpandBusyDisk(t *testing.T) {
	e := newEnv(t, 0, nil)
	disk := e.create("pvc-busy", 100)
	e.inject.add("ExtendVolumeSize", http.StatusBadRequest, "Client.Inoperable.Volume.Processing", 2)
	got, err := e.disks.ExpandDisk(e.ctx, disk.ID, 200*profile.GiB)
	if err != nil || got != 200*profile.GiB {
		t.Fatalf("ExpandDisk = %d, %v", got, err)
	}
	// The two refused calls never reached the simulator.
	wantCounts(t, e.counts(), map[string]int64{"ExtendVolumeSize": 1})
}

// TestFaultsThenSuccess runs a whole disk lifecycle while the simulator
// answers a share of all calls with 500 and the test injects throttling
// answers (503 Server.RequestLimitExceeded): the client's retries and the
// backend's waits absorb them.
func TestFaultsThenSuccess(t *testing.T) {
	e := newEnv(t, 5*time.Millisecond, nil)
	// Waits retry whatever the client gives up on; single calls (listing,
	// CreateVolume) rely on the client's 4 attempts, so 0.2^4 per call.
	e.sim.Controls().SetFaults(simcore.FaultConfig{ErrorRate: 0.2, Seed: 7, Actions: []string{
		"DescribeVolumes", "AttachVolume", "DetachVolume", "ExtendVolumeSize", "DeleteVolume",
	}})
	for _, a := range []string{"CreateVolume", "AttachVolume", "DetachVolume", "ExtendVolumeSize", "DeleteVolume"} {
		e.inject.add(a, http.StatusServiceUnavailable, "Server.RequestLimitExceeded", 1)
	}
	disk := e.create("pvc-faulty", 100)
	if _, err := e.disks.AttachDisk(e.ctx, disk.ID, "node1"); err != nil {
		t.Fatal(err)
	}
	if got, err := e.disks.ExpandDisk(e.ctx, disk.ID, 200*profile.GiB); err != nil || got != 200*profile.GiB {
		t.Fatalf("ExpandDisk = %d, %v", got, err)
	}
	if err := e.disks.DetachDisk(e.ctx, disk.ID, "node1"); err != nil {
		t.Fatal(err)
	}
	if err := e.disks.DeleteDisk(e.ctx, disk.ID); err != nil {
		t.Fatal(err)
	}
	if len(e.volumes()) != 0 {
		t.Fatalf("volumes left: %v", e.volumes())
	}
	faults := e.sim.Controls().FaultsInjected()
	var total int64
	for _, n := range faults {
		total += n
	}
	if total == 0 {
		t.Fatal("no fault was injected; the test proves nothing")
	}
	t.Logf("simulator faults injected: %v; calls: %v", faults, e.counts())

	// A persistent outage surfaces as Unavailable, not as a wrong answer.
	e.sim.Controls().SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"DescribeVolumes"}})
	_, err := e.disks.GetDisk(e.ctx, disk.ID)
	wantErr(t, err, backend.ErrUnavailable)
}
