package cinderdisk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// createTyped creates a 1 GiB disk with the given "type" ("" = none).
func (e *env) createTyped(t *testing.T, name, typ string) (*backend.Disk, error) {
	t.Helper()
	kv := map[string]string{}
	if typ != "" {
		kv["type"] = typ
	}
	return e.b.CreateDisk(context.Background(), backend.CreateRequest{Name: name, SizeBytes: 1 << 30,
		Parameters: cinderParams(t, kv)})
}

// TestVolumeTypeCheck: known types (by name or ID) are listed once and then
// served from the cache; creates without a type make no list call; an
// unknown type refreshes the list once and is refused before any create,
// naming the parameter and the known types; a type added later is found
// by that refresh; the cache expires after its TTL.
func TestVolumeTypeCheck(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	now := time.Now()
	var clockMu sync.Mutex
	e.b.types.now = func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	var ids []string
	create := func(name, typ string) {
		t.Helper()
		d, err := e.createTyped(t, name, typ)
		if err != nil {
			t.Fatalf("create %s with type %q: %v", name, typ, err)
		}
		ids = append(ids, d.ID)
	}
	lists := func() int64 { return e.calls("cinder.type_list") }

	create("plain", "")
	if lists() != 0 {
		t.Errorf("create without a type listed the types %d times", lists())
	}
	create("fast", "ssd")
	create("slow", "standard")
	var stdID string
	for _, vt := range e.sim.Snapshot().VolumeTypes {
		if vt.Name == "standard" {
			stdID = vt.ID
		}
	}
	create("by-id", stdID)
	t.Logf("3 typed creates: %d type lists", lists())
	if lists() != 1 {
		t.Errorf("3 typed creates made %d type lists, want 1 (cached)", lists())
	}
	if got := e.sim.Snapshot().Volumes[ids[3]].VolumeType; got != "standard" {
		t.Errorf("create by type ID gave type %q", got)
	}

	creates := e.calls("cinder.volume_create")
	_, err := e.createTyped(t, "bad", "no-such-type")
	wantErr(t, err, backend.ErrInvalidArgument)
	for _, want := range []string{`parameter "type"`, `"no-such-type"`, "__DEFAULT__, ssd, standard"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %s", err, want)
		}
	}
	t.Logf("unknown type: %v (type lists now %d)", err, lists())
	if lists() != 2 || e.calls("cinder.volume_create") != creates {
		t.Errorf("unknown type: %d type lists (want 2: one refresh), %d creates (want none)",
			lists(), e.calls("cinder.volume_create")-creates)
	}

	if _, err := e.sim.AddVolumeType(openstacksim.VolumeType{Name: "gold"}); err != nil {
		t.Fatal(err)
	}
	create("gold", "gold")
	if lists() != 3 {
		t.Errorf("a new type needed %d type lists, want one refresh", lists()-2)
	}
	create("gold-2", "gold")
	clockMu.Lock()
	now = now.Add(DefaultVolumeTypeTTL + time.Second)
	clockMu.Unlock()
	create("after-ttl", "ssd")
	if lists() != 4 {
		t.Errorf("%d type lists after the TTL, want 4", lists())
	}

	for _, id := range ids {
		noErr(t, e.b.DeleteDisk(context.Background(), id))
	}
	e.noLeaks(t)
}

// TestVolumeTypeCheckSharesOneList: concurrent creates with a cold cache
// make a single list call.
func TestVolumeTypeCheckSharesOneList(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	e.controls.SetLatency(simcore.LatencyConfig{
		Transitions: map[string]time.Duration{"*": transition},
		Calls:       map[string]time.Duration{"cinder.type_list": 50 * time.Millisecond}})
	const n = 6
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d, err := e.createTyped(t, fmt.Sprintf("c-%d", i), "ssd")
			if err == nil {
				err = e.b.DeleteDisk(context.Background(), d.ID)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		noErr(t, err)
	}
	t.Logf("%d concurrent creates: %d type lists", n, e.calls("cinder.type_list"))
	if got := e.calls("cinder.type_list"); got != 1 {
		t.Errorf("%d type lists, want 1", got)
	}
	e.noLeaks(t)
}

// TestVolumeTypeNotFoundOnCreate: when the types cannot be listed, the
// create goes ahead and Cinder's 404 for the type is still reported as an
// invalid "type" parameter; the list failure is cached for the TTL;
// nothing is left in the cloud.
func TestVolumeTypeNotFoundOnCreate(t *testing.T) {
	e := newEnv(t, openstacksim.Options{})
	e.controls.SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"cinder.type_list"}})
	_, err := e.createTyped(t, "bad", "no-such-type")
	wantErr(t, err, backend.ErrInvalidArgument)
	if errors.Is(err, backend.ErrNotFound) || !strings.Contains(err.Error(), `parameter "type"`) ||
		!strings.Contains(err.Error(), "Volume type with name no-such-type could not be found") {
		t.Errorf("error %q: want an invalid \"type\" parameter with Cinder's message", err)
	}
	t.Logf("%v (type lists %d, creates %d)", err, e.calls("cinder.type_list"), e.calls("cinder.volume_create"))
	if e.calls("cinder.volume_create") != 1 {
		t.Errorf("%d creates, want 1", e.calls("cinder.volume_create"))
	}
	// A known type still works while the list keeps failing, and the
	// failure is cached: the second create does not list again.
	d1 := ok(e.createTyped(t, "ok-1", "ssd")).must(t)
	lists := e.calls("cinder.type_list")
	d2 := ok(e.createTyped(t, "ok-2", "standard")).must(t)
	if got := e.calls("cinder.type_list"); got != lists {
		t.Errorf("a cached list failure was retried: %d more type lists", got-lists)
	}
	e.controls.SetFaults(simcore.FaultConfig{})
	noErr(t, e.b.DeleteDisk(context.Background(), d1.ID))
	noErr(t, e.b.DeleteDisk(context.Background(), d2.ID))
	e.noLeaks(t)
}
