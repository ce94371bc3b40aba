package openstacksim

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/limits"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

func TestLimitsUnlimited(t *testing.T) {
	e := newEnv(t, Options{})
	l := ok(limits.Get(ctx(), e.block).Extract()).must(t)
	a := l.Absolute
	if a.MaxTotalVolumeGigabytes != -1 || a.MaxTotalVolumes != -1 || a.MaxTotalSnapshots != -1 ||
		a.MaxTotalBackups != -1 || a.MaxTotalBackupGigabytes != -1 || a.TotalGigabytesUsed != 0 {
		t.Fatalf("limits of an unlimited cloud: %+v", a)
	}
	if l.Rate == nil || len(l.Rate) != 0 {
		t.Fatalf("rate %v, want []", l.Rate)
	}
	if n := e.sim.Controls().Count("cinder.limits_get"); n != 1 {
		t.Errorf("cinder.limits_get counted %d", n)
	}
}

func TestLimitsAccountUsage(t *testing.T) {
	e := newEnv(t, Options{VolumeQuotaGB: 10})
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 3}, nil).Extract()).must(t)
	ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 2}, nil).Extract()).must(t)
	ok(volumes.Get(ctx(), e.block, v.ID).Extract()).must(t) // settle: available
	ok(snapshots.Create(ctx(), e.block, snapshots.CreateOpts{VolumeID: v.ID}).Extract()).must(t)

	// The raw body has every absolute field Cinder returns.
	var raw struct {
		Limits struct {
			Rate     []any          `json:"rate"`
			Absolute map[string]int `json:"absolute"`
		} `json:"limits"`
	}
	resp, err := e.block.Get(ctx(), e.block.ServiceURL("limits"), &raw, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET limits: %v", err)
	}
	want := map[string]int{
		"maxTotalVolumes": -1, "maxTotalSnapshots": -1, "maxTotalVolumeGigabytes": 10,
		"maxTotalBackups": -1, "maxTotalBackupGigabytes": -1,
		"totalVolumesUsed": 2, "totalSnapshotsUsed": 1, "totalGigabytesUsed": 8,
		"totalBackupsUsed": 0, "totalBackupGigabytesUsed": 0,
	}
	if got, _ := json.Marshal(raw.Limits.Absolute); string(got) != string(must(json.Marshal(want))) {
		t.Fatalf("absolute limits %s, want %s", got, must(json.Marshal(want)))
	}
	// What the limits say is left is what a create may use.
	_, err = volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 3}, nil).Extract()
	wantCode(t, err, http.StatusRequestEntityTooLarge)
	ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 2}, nil).Extract()).must(t)
	if a := ok(limits.Get(ctx(), e.block).Extract()).must(t).Absolute; a.TotalGigabytesUsed != 10 || a.TotalVolumesUsed != 3 {
		t.Fatalf("after filling the quota: %+v", a)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestVolumeQuotaSetAtRunTime: the admin API's quota (as `openstack quota
// set --gigabytes`) takes effect on /limits and on creates at once.
func TestVolumeQuotaSetAtRunTime(t *testing.T) {
	e := newEnv(t, Options{})
	e.sim.SetVolumeQuotaGB(3)
	ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 2, Name: "a"}, nil).Extract()).must(t)
	_, err := volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 2, Name: "b"}, nil).Extract()
	wantCode(t, err, http.StatusRequestEntityTooLarge)
	l := ok(limits.Get(ctx(), e.block).Extract()).must(t)
	if l.Absolute.MaxTotalVolumeGigabytes != 3 || l.Absolute.TotalGigabytesUsed != 2 {
		t.Errorf("limits %+v, want max 3 used 2", l.Absolute)
	}
	e.sim.SetVolumeQuotaGB(0)
	if l := ok(limits.Get(ctx(), e.block).Extract()).must(t); l.Absolute.MaxTotalVolumeGigabytes != -1 {
		t.Errorf("quota reset: max %d, want -1", l.Absolute.MaxTotalVolumeGigabytes)
	}
}
