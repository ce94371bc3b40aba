package metadata

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const metaJSON = `{"uuid":"83679162-1378-4288-a2d4-70e13ec132aa","name":"node-1","hostname":"node-1.novalocal",
"availability_zone":"nova-az1","project_id":"p1","launch_index":0,
"devices":[{"type":"disk","bus":"scsi","serial":"vol-1","address":"0:0:0:2"}]}`

func metadataServer(t *testing.T, body string, code int) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/openstack/latest/meta_data.json" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(code)
		_, _ = fmt.Fprint(w, body) // a failed write shows up as a client error in the test
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func writeConfigDrive(t *testing.T, dir, body string) {
	t.Helper()
	p := filepath.Join(dir, "openstack", "latest")
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "meta_data.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func noCommands(t *testing.T) CommandRunner {
	return func(ctx context.Context, name string, args ...string) ([]byte, error) {
		t.Errorf("unexpected command %s %v", name, args)
		return nil, errors.New("no commands")
	}
}

func TestMetadataService(t *testing.T) {
	srv, hits := metadataServer(t, metaJSON, 200)
	o, err := NewOpenStack(OpenStackOptions{SearchOrder: []string{MetadataService}, MetadataURL: srv.URL + "/", Run: noCommands(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := o.InstanceID(ctx)
	if err != nil || id != "83679162-1378-4288-a2d4-70e13ec132aa" {
		t.Fatalf("InstanceID = %q, %v", id, err)
	}
	zone, err := o.Zone(ctx)
	if err != nil || zone != "nova-az1" {
		t.Fatalf("Zone = %q, %v", zone, err)
	}
	devs, err := o.Devices(ctx)
	if err != nil || !reflect.DeepEqual(devs, []Device{{Type: "disk", Bus: "scsi", Serial: "vol-1", Address: "0:0:0:2"}}) {
		t.Fatalf("Devices = %v, %v", devs, err)
	}
	md, _ := o.Get(ctx)
	if md.Name != "node-1" || md.Hostname != "node-1.novalocal" || md.ProjectID != "p1" {
		t.Errorf("metadata %+v", md)
	}
	if hits.Load() != 1 {
		t.Errorf("metadata service hits = %d, want 1 (cached)", hits.Load())
	}
}

func TestConfigDriveDir(t *testing.T) {
	dir := t.TempDir()
	writeConfigDrive(t, dir, metaJSON)
	o, err := NewOpenStack(OpenStackOptions{ConfigDriveDir: dir, MetadataURL: "http://127.0.0.1:1", Run: noCommands(t)})
	if err != nil {
		t.Fatal(err)
	}
	id, err := o.InstanceID(context.Background())
	if err != nil || id != "83679162-1378-4288-a2d4-70e13ec132aa" {
		t.Fatalf("InstanceID = %q, %v", id, err)
	}
}

func TestFallbackToMetadataService(t *testing.T) {
	srv, hits := metadataServer(t, metaJSON, 200)
	o, err := NewOpenStack(OpenStackOptions{ConfigDriveDir: filepath.Join(t.TempDir(), "missing"), MetadataURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	zone, err := o.Zone(context.Background())
	if err != nil || zone != "nova-az1" || hits.Load() != 1 {
		t.Fatalf("Zone = %q, %v (hits %d)", zone, err, hits.Load())
	}
}

func TestFallbackToConfigDrive(t *testing.T) {
	srv, hits := metadataServer(t, "oops", 500)
	dir := t.TempDir()
	writeConfigDrive(t, dir, metaJSON)
	o, err := NewOpenStack(OpenStackOptions{SearchOrder: []string{"metadataservice", "ConfigDrive"}, ConfigDriveDir: dir, MetadataURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.InstanceID(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 {
		t.Errorf("hits %d", hits.Load())
	}
}

func TestAllSourcesFail(t *testing.T) {
	srv, hits := metadataServer(t, `{"uuid":"","name":"x"}`, 200)
	o, err := NewOpenStack(OpenStackOptions{ConfigDriveDir: filepath.Join(t.TempDir(), "missing"), MetadataURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.InstanceID(context.Background())
	if err == nil || !strings.Contains(err.Error(), "empty uuid") || !strings.Contains(err.Error(), "configDrive") {
		t.Fatalf("err = %v", err)
	}
	// Failures are not cached.
	if _, err := o.Zone(context.Background()); err == nil {
		t.Fatal("no error")
	}
	if hits.Load() != 2 {
		t.Errorf("hits = %d, want 2", hits.Load())
	}
}

func TestBadJSONAndTimeout(t *testing.T) {
	srv, _ := metadataServer(t, `{not json`, 200)
	o, _ := NewOpenStack(OpenStackOptions{SearchOrder: []string{MetadataService}, MetadataURL: srv.URL})
	if _, err := o.InstanceID(context.Background()); err == nil || !strings.Contains(err.Error(), "decoding") {
		t.Errorf("err = %v", err)
	}
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block)
	o, _ = NewOpenStack(OpenStackOptions{SearchOrder: []string{MetadataService}, MetadataURL: slow.URL, RequestTimeout: 100 * time.Millisecond})
	start := time.Now()
	if _, err := o.InstanceID(context.Background()); err == nil {
		t.Error("no timeout error")
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("timeout not applied: %v", time.Since(start))
	}
}

func TestSearchOrderValidation(t *testing.T) {
	for _, order := range [][]string{{"foo"}, {ConfigDrive, ConfigDrive}, {ConfigDrive, MetadataService, ConfigDrive}} {
		if _, err := NewOpenStack(OpenStackOptions{SearchOrder: order}); err == nil {
			t.Errorf("order %v accepted", order)
		}
	}
}

// fakeBlockDevice emulates blkid + mount + umount of a config drive.
type fakeBlockDevice struct {
	mu       sync.Mutex
	calls    []string
	content  string
	blkidOut string
	mounted  string
}

func (f *fakeBlockDevice) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name+" "+strings.Join(args, " "))
	switch name {
	case "blkid":
		if f.blkidOut == "" {
			return nil, errors.New("exit status 2")
		}
		return []byte(f.blkidOut), nil
	case "mount":
		if args[1] == "iso9660" {
			return []byte("wrong fs type"), errors.New("exit status 32")
		}
		target := args[len(args)-1]
		p := filepath.Join(target, "openstack", "latest")
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, err
		}
		f.mounted = target
		return nil, os.WriteFile(filepath.Join(p, "meta_data.json"), []byte(f.content), 0o644)
	case "umount":
		if args[0] != f.mounted {
			return nil, errors.New("not mounted")
		}
		f.mounted = ""
		return nil, os.RemoveAll(filepath.Join(args[0], "openstack"))
	}
	return nil, errors.New("unknown command")
}

func TestConfigDriveBlockDevice(t *testing.T) {
	fake := &fakeBlockDevice{content: metaJSON, blkidOut: "/dev/sr0\n"}
	o, err := NewOpenStack(OpenStackOptions{SearchOrder: []string{ConfigDrive}, Run: fake.run})
	if err != nil {
		t.Fatal(err)
	}
	o.byLabel = filepath.Join(t.TempDir(), "no-such-label")
	id, err := o.InstanceID(context.Background())
	if err != nil || id != "83679162-1378-4288-a2d4-70e13ec132aa" {
		t.Fatalf("InstanceID = %q, %v (calls %v)", id, err, fake.calls)
	}
	if fake.mounted != "" {
		t.Error("config drive left mounted")
	}
	want := []string{"blkid -l -t LABEL=config-2 -o device", "mount -t iso9660 -o ro /dev/sr0", "mount -t vfat -o ro /dev/sr0", "umount"}
	if len(fake.calls) != 4 {
		t.Fatalf("calls %v", fake.calls)
	}
	for i, w := range want {
		if !strings.HasPrefix(fake.calls[i], w) {
			t.Errorf("call %d = %q, want prefix %q", i, fake.calls[i], w)
		}
	}
	// The temporary mount point is removed.
	mnt := strings.Fields(fake.calls[3])[1]
	if _, err := os.Stat(mnt); !os.IsNotExist(err) {
		t.Errorf("mount point %s not removed: %v", mnt, err)
	}
	// Cached: no more commands.
	if _, err := o.Zone(context.Background()); err != nil || len(fake.calls) != 4 {
		t.Errorf("second call ran commands: %v %v", err, fake.calls)
	}
}

func TestConfigDriveMissingDevice(t *testing.T) {
	fake := &fakeBlockDevice{}
	o, _ := NewOpenStack(OpenStackOptions{SearchOrder: []string{ConfigDrive}, Run: fake.run})
	o.byLabel = filepath.Join(t.TempDir(), "no-such-label")
	_, err := o.InstanceID(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no config drive") {
		t.Fatalf("err = %v", err)
	}
}

func TestNIFCLOUD(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	var lookups atomic.Int32
	lookup := func(ctx context.Context, id string) (string, error) {
		lookups.Add(1)
		if id != "node1" {
			return "", fmt.Errorf("unknown instance %s", id)
		}
		return "east-11", nil
	}
	n := NewNIFCLOUD(NIFCLOUDOptions{Getenv: getenv, LookupZone: lookup})
	ctx := context.Background()
	if _, err := n.InstanceID(ctx); err == nil || !strings.Contains(err.Error(), "NODE_NAME") {
		t.Errorf("err = %v", err)
	}
	env[EnvNIFCLOUDInstanceID] = "fallback1"
	if id, _ := n.InstanceID(ctx); id != "fallback1" {
		t.Errorf("id = %q", id)
	}
	if _, err := n.Zone(ctx); err == nil || !strings.Contains(err.Error(), "fallback1") {
		t.Errorf("zone err = %v", err)
	}
	env[EnvNodeName] = "node1"
	if id, _ := n.InstanceID(ctx); id != "node1" {
		t.Errorf("id = %q", id)
	}
	for i := 0; i < 3; i++ {
		if z, err := n.Zone(ctx); z != "east-11" || err != nil {
			t.Fatalf("zone = %q %v", z, err)
		}
	}
	if lookups.Load() != 2 { // one failure (fallback1) + one success, then cached
		t.Errorf("lookups = %d", lookups.Load())
	}
	env[EnvNIFCLOUDZone] = "west-12"
	if z, _ := n.Zone(ctx); z != "west-12" {
		t.Errorf("env zone = %q", z)
	}
	if _, err := NewNIFCLOUD(NIFCLOUDOptions{Getenv: func(string) string { return "x" }}).InstanceID(ctx); err != nil {
		t.Error(err)
	}
	noLookup := NewNIFCLOUD(NIFCLOUDOptions{Getenv: func(k string) string {
		if k == EnvNodeName {
			return "n"
		}
		return ""
	}})
	if _, err := noLookup.Zone(ctx); err == nil {
		t.Error("zone without env or lookup: no error")
	}
}
