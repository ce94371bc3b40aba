package openstacksim

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

func TestInjectedFaults(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.sim.Controls()
	c.SetFaults(simcore.FaultConfig{ThrottleRate: 1, RetryAfter: 3 * time.Second, Actions: []string{"cinder.volume_create"}})
	_, err := volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1}, nil).Extract()
	wantCode(t, err, http.StatusTooManyRequests)
	if got := http.Header(respHeader(err)).Get("Retry-After"); got != "3" {
		t.Fatalf("Retry-After %q, want 3", got)
	}
	c.SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"nova.server_list", "octavia.loadbalancer_list"}})
	_, err = servers.List(e.compute, nil).AllPages(ctx())
	wantCode(t, err, http.StatusInternalServerError)
	_, err = loadbalancers.List(e.lb, nil).AllPages(ctx())
	wantCode(t, err, http.StatusInternalServerError)
	c.SetFaults(simcore.FaultConfig{TimeoutRate: 1, Timeout: 10 * time.Millisecond, Actions: []string{"cinder.volume_list"}})
	_, err = volumes.List(e.block, nil).AllPages(ctx())
	wantCode(t, err, http.StatusGatewayTimeout)
	c.SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"cinder.volume_extend"}})
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1}, nil).Extract()).must(t)
	wantCode(t, volumes.ExtendSize(ctx(), e.block, v.ID, volumes.ExtendSizeOpts{NewSize: 2}).ExtractErr(), http.StatusInternalServerError)
	c.SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"keystone.token_create"}})
	_, err = openstack.AuthenticatedClient(ctx(), gophercloud.AuthOptions{IdentityEndpoint: e.srv.URL + "/identity/v3",
		Username: "admin", Password: "secret", DomainName: "Default"})
	wantCode(t, err, http.StatusInternalServerError)
	c.SetFaults(simcore.FaultConfig{})

	// counters over the admin HTTP API
	var counters struct {
		Calls  map[string]int64 `json:"calls"`
		Faults map[string]int64 `json:"faults"`
	}
	getJSON(t, e.srv.URL+AdminPrefix+"counters", &counters)
	if counters.Calls["cinder.volume_create"] != 2 || counters.Calls["nova.server_list"] != 1 ||
		counters.Faults["throttle:cinder.volume_create"] != 1 || counters.Faults["error:cinder.volume_extend"] != 1 {
		t.Fatalf("counters %+v", counters)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read-only body
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func send(t *testing.T, method, url, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // only the status is used
	return resp.StatusCode
}

func TestAdminAPIAndMetadata(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.srv.URL + AdminPrefix
	if c := send(t, "POST", a+"networks", `{"name":"storage","subnets":[{"cidr":"192.168.50.0/24"}]}`); c != 201 {
		t.Fatalf("POST networks: %d", c)
	}
	body := `{"id":"11111111-2222-3333-4444-555555555555","name":"Worker_1","availability_zone":"az1",
	  "addresses":{"private":[{"addr":"10.0.0.70"}],"storage":[{"addr":"192.168.50.9"}]},"metadata":{"role":"worker"}}`
	if c := send(t, "POST", a+"servers", body); c != 201 {
		t.Fatalf("POST servers: %d", c)
	}
	id := "11111111-2222-3333-4444-555555555555"
	if c := send(t, "PUT", a+"servers/"+id+"/status", `{"status":"SHUTOFF"}`); c != 200 {
		t.Fatalf("PUT status: %d", c)
	}
	if s := ok(servers.Get(ctx(), e.compute, id).Extract()).must(t); s.Status != "SHUTOFF" || len(s.Addresses) != 2 {
		t.Fatalf("server via Nova: %+v", s)
	}
	// metadata: 404 until a server is chosen
	resp, err := http.Get(e.srv.URL + "/openstack/latest/meta_data.json")
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("metadata without server: %v %v", err, resp.Status)
	}
	if c := send(t, "PUT", a+"metadata-server", `{"id":"`+id+`"}`); c != 200 {
		t.Fatalf("PUT metadata-server: %d", c)
	}
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 1}, nil).Extract()).must(t)
	ok(volumeattach.Create(ctx(), e.compute, id, volumeattach.CreateOpts{VolumeID: v.ID}).Extract()).must(t)
	var md struct {
		UUID, Name, Hostname string
		AZ                   string `json:"availability_zone"`
		PID                  string `json:"project_id"`
		Devices              []struct{ Type, Bus, Serial string }
	}
	getJSON(t, e.srv.URL+"/openstack/latest/meta_data.json", &md)
	if md.UUID != id || md.Name != "Worker_1" || md.Hostname != "worker-1" || md.AZ != "az1" || md.PID == "" ||
		len(md.Devices) != 1 || md.Devices[0].Serial != v.ID {
		t.Fatalf("meta_data.json %+v", md)
	}
	dir := t.TempDir()
	if err := e.sim.WriteConfigDrive(dir, id); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "openstack", "latest", "meta_data.json")); err != nil || !strings.Contains(string(data), id) {
		t.Fatalf("config drive: %v %s", err, data)
	}
	var st State
	getJSON(t, a+"state", &st)
	if len(st.Volumes) != 1 || st.Servers[id] == nil || st.MetadataServer != id {
		t.Fatalf("state: %d volumes", len(st.Volumes))
	}
	// deleting the server detaches its volume and drops its ports
	if c := send(t, "DELETE", a+"servers/"+id, ""); c != 204 {
		t.Fatalf("DELETE server: %d", c)
	}
	_, err = servers.Get(ctx(), e.compute, id).Extract()
	wantCode(t, err, http.StatusNotFound)
	if got := ok(volumes.Get(ctx(), e.block, v.ID).Extract()).must(t); got.Status != "available" {
		t.Fatalf("volume after server delete: %s", got.Status)
	}
	for _, p := range e.sim.Snapshot().Ports {
		if p.DeviceID == id {
			t.Fatal("port of a deleted server left behind")
		}
	}
	// seed file, idempotent
	seed := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(seed, []byte(`{"networks":[{"name":"extra","subnets":[{"cidr":"172.16.0.0/24"}]}],
	  "servers":[{"name":"seeded","addresses":{"extra":[{"addr":"172.16.0.5"}]}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := e.sim.LoadSeed(seed); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, s := range e.sim.Snapshot().Servers {
		if s.Name == "seeded" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("seeded servers: %d", n)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "openstack.json")
	e := newEnv(t, Options{StatePath: path})
	e.sim.Controls().SetLatency(latency(map[string]time.Duration{"volume.attach": time.Minute}))
	n := e.addNode(t, "node", "10.0.0.80")
	v := ok(volumes.Create(ctx(), e.block, volumes.CreateOpts{Size: 2, Name: "keep"}, nil).Extract()).must(t)
	ok(volumeattach.Create(ctx(), e.compute, n.ID, volumeattach.CreateOpts{VolumeID: v.ID}).Extract()).must(t)
	priv := e.networkByName(t, "private")
	lb := ok(loadbalancers.Create(ctx(), e.lb, loadbalancers.CreateOpts{Name: "lb", VipNetworkID: priv.ID}).Extract()).must(t)

	// a new simulator on the same state file continues where this one stopped
	sim2, err := New(Options{StatePath: path, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	st := sim2.Snapshot()
	if st.Servers[n.ID] == nil || st.Volumes[v.ID] == nil || st.LoadBalancers[lb.ID] == nil || st.Volumes[v.ID].Status != "attaching" {
		t.Fatalf("restored state incomplete: %+v", st.Volumes[v.ID])
	}
	if len(st.Networks) != len(e.sim.Snapshot().Networks) {
		t.Fatal("default seed re-applied on top of a loaded state")
	}
	e.clock.Advance(time.Minute)
	if st := sim2.Snapshot(); st.Volumes[v.ID].Status != "in-use" || st.LoadBalancers[lb.ID].ProvisioningStatus != "ACTIVE" {
		t.Fatalf("pending transition lost across restart: %s", st.Volumes[v.ID].Status)
	}
	// the old token keeps working and clients see the same volume
	srv2 := newServer(t, sim2)
	pc := ok(openstack.AuthenticatedClient(ctx(), gophercloud.AuthOptions{IdentityEndpoint: srv2 + "/identity/v3",
		Username: "admin", Password: "secret", DomainName: "Default", TenantName: "demo"})).must(t)
	bs := ok(openstack.NewBlockStorageV3(pc, gophercloud.EndpointOpts{Region: "RegionOne"})).must(t)
	if got := ok(volumes.Get(ctx(), bs, v.ID).Extract()).must(t); got.Name != "keep" || got.Status != "in-use" {
		t.Fatalf("volume after restart: %+v", got)
	}
	req, _ := http.NewRequest("GET", srv2+"/compute/v2.1/servers/"+n.ID, nil)
	req.Header.Set("X-Auth-Token", e.provider.Token())
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("persisted token rejected: %v %v", err, resp.Status)
	}
}
