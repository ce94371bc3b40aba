package cinderdisk

import (
	"context"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/csi/backend"
)

func TestGetCapacityUnlimited(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	info := ok(e.b.GetCapacity(context.Background(), "nova", backend.Parameters{})).must(t)
	if info.AvailableBytes != UnlimitedCapacity || info.MaximumVolumeSizeBytes != 0 {
		t.Fatalf("unlimited quota: %+v, want %d available", info, UnlimitedCapacity)
	}
}

func TestGetCapacityFromQuota(t *testing.T) {
	e := newEnv(t, openstacksim.Options{VolumeQuotaGB: 10})
	ctx := context.Background()
	b, err := New(e.clients, Options{CapacityTTL: time.Hour, Poll: backoff.Policy{Initial: 5 * time.Millisecond}, WaitTimeout: 10 * time.Second})
	noErr(t, err)
	if info := ok(b.GetCapacity(ctx, "", backend.Parameters{})).must(t); info.AvailableBytes != 10*gib {
		t.Fatalf("empty project: %d bytes, want 10 GiB", info.AvailableBytes)
	}
	ok(b.CreateDisk(ctx, backend.CreateRequest{Name: "pvc-1", SizeBytes: 3 * gib})).must(t)

	// Cached: one limits call serves every segment and class.
	for _, zone := range []string{"nova", "zone-b", ""} {
		if info := ok(b.GetCapacity(ctx, zone, backend.Parameters{})).must(t); info.AvailableBytes != 10*gib {
			t.Fatalf("cached answer for %q: %d", zone, info.AvailableBytes)
		}
	}
	if n := e.calls("cinder.limits_get"); n != 1 {
		t.Fatalf("%d limits calls, want 1 (cached)", n)
	}

	// Fresh: usage of volumes and snapshots is accounted.
	fresh, err := New(e.clients, Options{CapacityTTL: time.Nanosecond, Poll: backoff.Policy{Initial: 5 * time.Millisecond}, WaitTimeout: 10 * time.Second})
	noErr(t, err)
	if info := ok(fresh.GetCapacity(ctx, "nova", backend.Parameters{})).must(t); info.AvailableBytes != 7*gib {
		t.Fatalf("after a 3 GiB volume: %d bytes, want 7 GiB", info.AvailableBytes)
	}
	d := ok(fresh.FindDiskByName(ctx, "pvc-1")).must(t)
	ok(fresh.CreateSnapshot(ctx, "snap-1", d.ID, backend.Parameters{Values: map[string]string{"type": "snapshot"}})).must(t)
	if info := ok(fresh.GetCapacity(ctx, "nova", cinderParams(t, map[string]string{"type": "ssd"}))).must(t); info.AvailableBytes != 4*gib {
		t.Fatalf("after a 3 GiB snapshot, type ssd: %d bytes, want 4 GiB", info.AvailableBytes)
	}
	// The quota full: nothing left, never negative.
	ok(fresh.CreateDisk(ctx, backend.CreateRequest{Name: "pvc-2", SizeBytes: 4 * gib})).must(t)
	if info := ok(fresh.GetCapacity(ctx, "nova", backend.Parameters{})).must(t); info.AvailableBytes != 0 {
		t.Fatalf("full quota: %d bytes, want 0", info.AvailableBytes)
	}
	// A type the project does not have has no capacity.
	if info := ok(fresh.GetCapacity(ctx, "nova", cinderParams(t, map[string]string{"type": "gold"}))).must(t); info.AvailableBytes != 0 {
		t.Fatalf("unknown type: %d bytes, want 0", info.AvailableBytes)
	}
}

func TestGetCapacityErrorsAreNotCached(t *testing.T) {
	e := newEnv(t, openstacksim.Options{VolumeQuotaGB: 5})
	ctx := context.Background()
	e.controls.SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"cinder.limits_get"}})
	if _, err := e.b.GetCapacity(ctx, "", backend.Parameters{}); err == nil {
		t.Fatal("GetCapacity succeeded while the limits API fails")
	}
	e.controls.SetFaults(simcore.FaultConfig{})
	if info := ok(e.b.GetCapacity(ctx, "", backend.Parameters{})).must(t); info.AvailableBytes != 5*gib {
		t.Fatalf("after the fault: %d bytes, want 5 GiB", info.AvailableBytes)
	}
}
