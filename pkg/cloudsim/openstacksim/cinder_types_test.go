package openstacksim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumetypes"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

func TestVolumeTypes(t *testing.T) {
	e := newEnv(t, Options{})
	all := ok(volumetypes.ExtractVolumeTypes(ok(volumetypes.List(e.block, nil).AllPages(ctx())).must(t))).must(t)
	var names []string
	byName := map[string]volumetypes.VolumeType{}
	for _, vt := range all {
		names = append(names, vt.Name)
		byName[vt.Name] = vt
	}
	if !slices.Equal(names, []string{DefaultVolumeType, "ssd", "standard"}) {
		t.Fatalf("default volume types %v", names)
	}
	ssd := byName["ssd"]
	if !uuidLike(ssd.ID) || !ssd.IsPublic || !ssd.PublicAccess || ssd.ExtraSpecs["volume_backend_name"] != "lvm-ssd" {
		t.Fatalf("ssd type %+v", ssd)
	}
	if got := e.sim.Controls().Count("cinder.type_list"); got != 1 {
		t.Errorf("cinder.type_list counted %d, want 1", got)
	}

	// Paging follows volume_type_links.
	pages := 0
	err := volumetypes.List(e.block, volumetypes.ListOpts{Limit: 2}).EachPage(ctx(), func(_ context.Context, p pagination.Page) (bool, error) {
		pages++
		return true, nil
	})
	if err != nil || pages != 2 {
		t.Fatalf("paging by 2: %d pages, %v", pages, err)
	}

	got := ok(volumetypes.Get(ctx(), e.block, ssd.ID).Extract()).must(t)
	if got.Name != "ssd" || got.Description != ssd.Description {
		t.Fatalf("get ssd: %+v", got)
	}
	if def := ok(volumetypes.Get(ctx(), e.block, "default").Extract()).must(t); def.Name != DefaultVolumeType {
		t.Fatalf("get default: %+v", def)
	}
	_, err = volumetypes.Get(ctx(), e.block, "ssd").Extract() // show is by ID only
	wantCode(t, err, http.StatusNotFound)
	if e.sim.Controls().Count("cinder.type_get") != 3 {
		t.Errorf("cinder.type_get counted %d, want 3", e.sim.Controls().Count("cinder.type_get"))
	}

	// Create resolves the type by name or ID and stores the name.
	v1 := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, VolumeType: "ssd"}, nil).Extract()).must(t)
	v2 := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, VolumeType: byName["standard"].ID}, nil).Extract()).must(t)
	v3 := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1}, nil).Extract()).must(t)
	if v1.VolumeType != "ssd" || v2.VolumeType != "standard" || v3.VolumeType != DefaultVolumeType {
		t.Fatalf("volume types %q %q %q", v1.VolumeType, v2.VolumeType, v3.VolumeType)
	}

	before := len(e.sim.Snapshot().Volumes)
	for value, msg := range map[string]string{
		"no-such-type":                         "Volume type with name no-such-type could not be found.",
		"0b4b8a57-59c5-4c5e-9d5f-000000000000": "Volume type 0b4b8a57-59c5-4c5e-9d5f-000000000000 could not be found.",
	} {
		_, err := volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, VolumeType: value}, nil).Extract()
		wantCode(t, err, http.StatusNotFound)
		var ue gophercloud.ErrUnexpectedResponseCode
		if !errors.As(err, &ue) {
			t.Fatalf("%T", err)
		}
		var body struct {
			ItemNotFound struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"itemNotFound"`
		}
		if err := json.Unmarshal(ue.Body, &body); err != nil || body.ItemNotFound.Message != msg || body.ItemNotFound.Code != 404 {
			t.Errorf("create with type %q: body %s, want itemNotFound %q", value, ue.Body, msg)
		}
	}
	if n := len(e.sim.Snapshot().Volumes); n != before {
		t.Errorf("rejected creates left volumes: %d, want %d", n, before)
	}
}

func TestVolumeTypesAddedBySeedAndAdmin(t *testing.T) {
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	e := newEnv(t, Options{StatePath: statePath})
	seed := filepath.Join(dir, "seed.json")
	if err := os.WriteFile(seed, []byte(`{"volume_types":[{"name":"gold","extra_specs":{"tier":"1"}},{"name":"ssd"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// Seeding twice is harmless; "ssd" exists already and is kept.
	for range 2 {
		if err := e.sim.LoadSeed(seed); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Post(e.srv.URL+AdminPrefix+"volume-types", "application/json", bytes.NewBufferString(`{"name":"silver"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // read-only body
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("admin add: %s", resp.Status)
	}
	resp, err = http.Post(e.srv.URL+AdminPrefix+"volume-types", "application/json", bytes.NewBufferString(`{"name":"silver"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // read-only body
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("duplicate admin add: %s, want 400", resp.Status)
	}
	if _, err := e.sim.AddVolumeType(VolumeType{}); err == nil {
		t.Fatal("a type without a name was accepted")
	}
	if v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1, VolumeType: "gold"}, nil).Extract()).must(t); v.VolumeType != "gold" {
		t.Fatalf("volume type %q, want gold", v.VolumeType)
	}

	// The types survive a restart from the state file.
	again, err := New(Options{StatePath: statePath})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, vt := range again.Snapshot().VolumeTypes {
		names = append(names, vt.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{DefaultVolumeType, "gold", "silver", "ssd", "standard"}) {
		t.Fatalf("types after restart: %v", names)
	}
}
