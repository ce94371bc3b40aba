package openstack

import (
	"errors"
	"strings"
	"testing"
	"time"

	cloudprovider "k8s.io/cloud-provider"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
)

func TestInstanceLookups(t *testing.T) {
	e := newEnv(t, "")
	a := e.addServer(t, openstacksim.Server{Name: "node-a", AZ: "az 1", FlavorID: "2",
		Addresses: map[string][]openstacksim.Address{"private": {{Addr: "10.0.0.31"}}}})
	e.addServer(t, privateServer("twin", "10.0.0.32"))
	e.addServer(t, privateServer("twin", "10.0.0.33"))
	p := e.provider(t, Options{CacheMaxAge: time.Hour, MinRefresh: time.Hour})

	t.Run("by name", func(t *testing.T) {
		md, err := p.InstanceMetadata(e.ctx, uninitializedNode("node-a", ""))
		if err != nil {
			t.Fatal(err)
		}
		if md.ProviderID != "openstack:///"+a.ID || md.InstanceType != "m1.small" || md.Zone != "az-1" || md.Region != "RegionOne" {
			t.Errorf("metadata = %+v", md)
		}
	})
	t.Run("by regional providerID, node name irrelevant", func(t *testing.T) {
		md, err := p.InstanceMetadata(e.ctx, uninitializedNode("other-name", "openstack://RegionOne/"+a.ID))
		if err != nil || md.ProviderID != "openstack:///"+a.ID {
			t.Fatalf("metadata = %+v, %v", md, err)
		}
	})
	t.Run("duplicate names are refused", func(t *testing.T) {
		_, err := p.InstanceMetadata(e.ctx, uninitializedNode("twin", ""))
		if err == nil || !strings.Contains(err.Error(), `"twin" matches 2 servers`) {
			t.Fatalf("err = %v", err)
		}
		if ok, err := p.InstanceExists(e.ctx, uninitializedNode("twin", "")); err == nil || ok {
			t.Errorf("InstanceExists(twin) = %v, %v; want an error, not a guess", ok, err)
		}
	})
	t.Run("wrong region is refused", func(t *testing.T) {
		_, err := p.InstanceMetadata(e.ctx, uninitializedNode("node-a", "openstack://RegionTwo/"+a.ID))
		if err == nil || !strings.Contains(err.Error(), "RegionTwo") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("server created after the snapshot is found with one targeted call", func(t *testing.T) {
		late := e.addServer(t, privateServer("late", "10.0.0.34"))
		lists, gets := e.count("nova.server_list"), e.count("nova.server_get")
		md, err := p.InstanceMetadata(e.ctx, uninitializedNode("late", "openstack:///"+late.ID))
		if err != nil || md.ProviderID != "openstack:///"+late.ID {
			t.Fatalf("metadata = %+v, %v", md, err)
		}
		if d := e.count("nova.server_list") - lists; d != 0 {
			t.Errorf("%d server lists; the miss should not refresh within MinRefresh", d)
		}
		if d := e.count("nova.server_get") - gets; d != 1 {
			t.Errorf("%d server GETs, want 1", d)
		}
	})
	t.Run("deleted server does not exist, shutoff is shutdown", func(t *testing.T) {
		gone := e.addServer(t, privateServer("gone", "10.0.0.35"))
		if err := e.sim.DeleteServer(gone.ID); err != nil {
			t.Fatal(err)
		}
		ok, err := p.InstanceExists(e.ctx, uninitializedNode("gone", "openstack:///"+gone.ID))
		if err != nil || ok {
			t.Errorf("InstanceExists(deleted) = %v, %v", ok, err)
		}
		if _, err := p.InstanceMetadata(e.ctx, uninitializedNode("gone", "")); !errors.Is(err, cloudprovider.InstanceNotFound) {
			t.Errorf("InstanceMetadata(deleted) err = %v, want InstanceNotFound", err)
		}
		if err := e.sim.SetServerStatus(a.ID, "SHUTOFF"); err != nil {
			t.Fatal(err)
		}
		// The snapshot is an hour fresh: a new provider sees the change.
		fresh := e.provider(t, Options{})
		down, err := fresh.InstanceShutdown(e.ctx, uninitializedNode("node-a", "openstack:///"+a.ID))
		if err != nil || !down {
			t.Errorf("InstanceShutdown(SHUTOFF) = %v, %v", down, err)
		}
		if ok, err := fresh.InstanceExists(e.ctx, uninitializedNode("node-a", "openstack:///"+a.ID)); err != nil || !ok {
			t.Errorf("InstanceExists(SHUTOFF) = %v, %v; a stopped server still exists", ok, err)
		}
	})
}

// TestLookupErrorIsNotAbsence: an API failure must never read as "server
// gone" (the lifecycle controller would delete the node).
func TestLookupErrorIsNotAbsence(t *testing.T) {
	e := newEnv(t, "")
	sv := e.addServer(t, privateServer("n1", "10.0.0.41"))
	p := e.provider(t, Options{})
	if err := e.sim.DeleteServer(sv.ID); err != nil {
		t.Fatal(err)
	}
	e.srv.Close() // the cloud becomes unreachable
	ok, err := p.InstanceExists(e.ctx, uninitializedNode("n1", "openstack:///"+sv.ID))
	if err == nil || ok {
		t.Fatalf("InstanceExists with the API down = %v, %v; want an error", ok, err)
	}
	if errors.Is(err, cloudprovider.InstanceNotFound) {
		t.Fatalf("API failure reported as InstanceNotFound: %v", err)
	}
}
