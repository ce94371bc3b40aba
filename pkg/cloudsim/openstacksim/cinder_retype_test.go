package openstacksim

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"
)

// retypeBody posts a raw os-retype action and returns the HTTP status and
// the error message of Cinder's fault body.
func (e *env) retypeBody(t *testing.T, id string, body map[string]any) (int, string) {
	t.Helper()
	resp, err := e.block.Post(ctx(), e.block.ServiceURL("volumes", id, "action"), body, nil, &gophercloud.RequestOpts{OkCodes: []int{202}})
	if err == nil {
		return resp.StatusCode, ""
	}
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) {
		t.Fatalf("retype %s: %v", id, err)
	}
	return ue.Actual, string(ue.Body)
}

func (e *env) volume(t *testing.T, id string) *volumes.Volume {
	t.Helper()
	return ok(volumes.Get(ctx(), e.block, id).Extract()).must(t)
}

func TestRetypeStateMachine(t *testing.T) {
	e := newEnv(t, Options{})
	e.sim.Controls().SetLatency(latency(map[string]time.Duration{"volume.retype": 4 * time.Second, "volume.attach": time.Second}))
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, Name: "pv"}, nil).Extract()).must(t)
	if got := e.volume(t, v.ID); got.Status != "available" || got.VolumeType != DefaultVolumeType {
		t.Fatalf("new volume %s %s", got.Status, got.VolumeType)
	}

	// available → retyping (old type shown) → available with the new type.
	noErr(t, volumes.ChangeType(ctx(), e.block, v.ID, volumes.ChangeTypeOpts{NewType: "ssd"}).ExtractErr())
	if got := e.volume(t, v.ID); got.Status != "retyping" || got.VolumeType != DefaultVolumeType {
		t.Fatalf("during retype: %s %s", got.Status, got.VolumeType)
	}
	// A retyping volume cannot be retyped, attached or deleted.
	code, msg := e.retypeBody(t, v.ID, map[string]any{"os-retype": map[string]any{"new_type": "standard"}})
	if code != http.StatusBadRequest || !strings.Contains(msg, "Retype needs volume to be in available or in-use state") {
		t.Fatalf("retype while retyping: %d %s", code, msg)
	}
	wantCode(t, volumes.Delete(ctx(), e.block, v.ID, nil).ExtractErr(), http.StatusBadRequest)
	e.clock.Advance(4 * time.Second)
	if got := e.volume(t, v.ID); got.Status != "available" || got.VolumeType != "ssd" {
		t.Fatalf("after retype: %s %s", got.Status, got.VolumeType)
	}
	if n := e.sim.Controls().Count("cinder.volume_retype"); n != 2 {
		t.Errorf("cinder.volume_retype counted %d, want 2", n)
	}

	// Retype to the current type is refused (the type must differ), by
	// name and by ID.
	code, msg = e.retypeBody(t, v.ID, map[string]any{"os-retype": map[string]any{"new_type": "ssd"}})
	if code != http.StatusBadRequest || !strings.Contains(msg, "requested type has to be different") {
		t.Fatalf("retype to the same type: %d %s", code, msg)
	}
	code, _ = e.retypeBody(t, v.ID, map[string]any{"os-retype": map[string]any{"new_type": stableUUID("volume_type", "ssd")}})
	if code != http.StatusBadRequest {
		t.Fatalf("retype to the same type by ID: %d", code)
	}

	// in-use → retyping → in-use; the attachment stays.
	n := e.addNode(t, "node", "10.0.0.20")
	ok(volumeattach.Create(ctx(), e.compute, n.ID, volumeattach.CreateOpts{VolumeID: v.ID}).Extract()).must(t)
	e.clock.Advance(time.Second)
	noErr(t, volumes.ChangeType(ctx(), e.block, v.ID, volumes.ChangeTypeOpts{NewType: DefaultVolumeType}).ExtractErr())
	if got := e.volume(t, v.ID); got.Status != "retyping" {
		t.Fatalf("in-use during retype: %s", got.Status)
	}
	e.clock.Advance(4 * time.Second)
	got := e.volume(t, v.ID)
	if got.Status != "in-use" || got.VolumeType != DefaultVolumeType || len(got.Attachments) != 1 {
		t.Fatalf("in-use after retype: %s %s %v", got.Status, got.VolumeType, got.Attachments)
	}
}

func TestRetypeErrors(t *testing.T) {
	e := newEnv(t, Options{})
	e.sim.Controls().SetLatency(latency(map[string]time.Duration{"volume.create": 2 * time.Second}))
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1}, nil).Extract()).must(t)
	for _, tc := range []struct {
		name, id string
		body     map[string]any
		code     int
		msg      string
	}{
		{"creating volume", v.ID, map[string]any{"os-retype": map[string]any{"new_type": "ssd"}}, 400, "Invalid volume: Retype needs"},
		{"unknown type by name", v.ID, map[string]any{"os-retype": map[string]any{"new_type": "gold"}}, 404, "Volume type with name gold could not be found."},
		{"unknown type by ID", v.ID, map[string]any{"os-retype": map[string]any{"new_type": "0b8cd2a4-6f44-4e0f-9d1c-8b2f0c4d5e6f"}}, 404, "Volume type 0b8cd2a4-6f44-4e0f-9d1c-8b2f0c4d5e6f could not be found."},
		{"missing volume", "0b8cd2a4-6f44-4e0f-9d1c-8b2f0c4d5e6f", map[string]any{"os-retype": map[string]any{"new_type": "ssd"}}, 404, "Volume 0b8cd2a4-6f44-4e0f-9d1c-8b2f0c4d5e6f could not be found."},
		{"no new_type", v.ID, map[string]any{"os-retype": map[string]any{}}, 400, "'new_type' is a required property"},
		{"new_type not a string", v.ID, map[string]any{"os-retype": map[string]any{"new_type": 3}}, 400, "is not of type 'string'"},
		{"bad policy", v.ID, map[string]any{"os-retype": map[string]any{"new_type": "ssd", "migration_policy": "always"}}, 400, "is not one of ['on-demand', 'never']"},
		{"extra key", v.ID, map[string]any{"os-retype": map[string]any{"new_type": "ssd", "force": true}}, 400, "Additional properties are not allowed"},
	} {
		code, msg := e.retypeBody(t, tc.id, tc.body)
		if code != tc.code || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, code, msg, tc.code, tc.msg)
		}
	}
	e.clock.Advance(2 * time.Second)
	// A null migration_policy is valid (Cinder treats it as never).
	code, msg := e.retypeBody(t, v.ID, map[string]any{"os-retype": map[string]any{"new_type": "ssd", "migration_policy": nil}})
	if code != http.StatusAccepted {
		t.Fatalf("null migration_policy: %d %s", code, msg)
	}
}

func TestRetypeMigrationPolicy(t *testing.T) {
	e := newEnv(t, Options{})
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, VolumeType: "standard"}, nil).Extract()).must(t)
	// standard (lvm-hdd) → ssd (lvm-ssd) needs a migration: with never the
	// retype is accepted, then fails and the type stays.
	noErr(t, volumes.ChangeType(ctx(), e.block, v.ID, volumes.ChangeTypeOpts{NewType: "ssd", MigrationPolicy: volumes.MigrationPolicyNever}).ExtractErr())
	if got := e.volume(t, v.ID); got.Status != "available" || got.VolumeType != "standard" {
		t.Fatalf("retype needing a migration with policy never: %s %s", got.Status, got.VolumeType)
	}
	noErr(t, volumes.ChangeType(ctx(), e.block, v.ID, volumes.ChangeTypeOpts{NewType: "ssd"}).ExtractErr())
	if got := e.volume(t, v.ID); got.VolumeType != "standard" {
		t.Fatalf("retype needing a migration without a policy: %s", got.VolumeType)
	}
	noErr(t, volumes.ChangeType(ctx(), e.block, v.ID, volumes.ChangeTypeOpts{NewType: "ssd", MigrationPolicy: volumes.MigrationPolicyOnDemand}).ExtractErr())
	if got := e.volume(t, v.ID); got.Status != "available" || got.VolumeType != "ssd" {
		t.Fatalf("retype with policy on-demand: %s %s", got.Status, got.VolumeType)
	}
	// __DEFAULT__ pins no backend: no migration needed.
	noErr(t, volumes.ChangeType(ctx(), e.block, v.ID, volumes.ChangeTypeOpts{NewType: DefaultVolumeType, MigrationPolicy: volumes.MigrationPolicyNever}).ExtractErr())
	if got := e.volume(t, v.ID); got.VolumeType != DefaultVolumeType {
		t.Fatalf("retype to __DEFAULT__ with policy never: %s", got.VolumeType)
	}
}

// The pending retype survives a restart from the persisted state.
func TestRetypePersists(t *testing.T) {
	path := t.TempDir() + "/state.json"
	e := newEnv(t, Options{StatePath: path})
	e.sim.Controls().SetLatency(latency(map[string]time.Duration{"volume.retype": time.Minute}))
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1}, nil).Extract()).must(t)
	noErr(t, volumes.ChangeType(ctx(), e.block, v.ID, volumes.ChangeTypeOpts{NewType: "ssd"}).ExtractErr())
	e2 := newEnv(t, Options{StatePath: path, Now: e.clock.Now})
	if got := e2.volume(t, v.ID); got.Status != "retyping" {
		t.Fatalf("after restart: %s", got.Status)
	}
	e.clock.Advance(time.Minute)
	if got := e2.volume(t, v.ID); got.Status != "available" || got.VolumeType != "ssd" {
		t.Fatalf("after restart and retype: %s %s", got.Status, got.VolumeType)
	}
}
