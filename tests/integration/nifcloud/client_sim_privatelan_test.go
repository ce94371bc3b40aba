package nifcloud_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kumo-project/kumo/pkg/cloudsim/nifcloudsim"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

func TestSimPrivateLans(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// One LAN through the admin HTTP API, one through a seed.
	resp, err := http.Post(e.srv.URL+nifcloudsim.AdminPrefix+"private-lans", "application/json",
		strings.NewReader(`{"networkId":"net-lan00001","privateLanName":"backend","cidrBlock":"172.16.0.0/24"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("admin POST private-lans: %d %v", resp.StatusCode, err)
	}
	if err := e.sim.ApplySeed(nifcloudsim.Seed{PrivateLans: []nifcloudsim.PrivateLan{{NetworkID: "net-lan00002", Zone: "east-12"}}}); err != nil {
		t.Fatal(err)
	}

	out, err := e.client.NiftyDescribePrivateLans(ctx, &nifcloud.DescribePrivateLansInput{NetworkIDs: []string{"net-lan00001", "net-lan00002"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.RequestID == "" || len(out.PrivateLans) != 2 {
		t.Fatalf("describe by id: %+v", out)
	}
	l := out.PrivateLans[0]
	if l.NetworkID != "net-lan00001" || l.PrivateLanName != "backend" || l.CIDRBlock != "172.16.0.0/24" ||
		l.AvailabilityZone != zone || l.State != "available" || out.PrivateLans[1].AvailabilityZone != "east-12" {
		t.Fatalf("private LANs = %+v", out.PrivateLans)
	}
	byName, err := e.client.NiftyDescribePrivateLans(ctx, &nifcloud.DescribePrivateLansInput{Names: []string{"backend"}})
	if err != nil || len(byName.PrivateLans) != 1 || byName.PrivateLans[0].NetworkID != "net-lan00001" {
		t.Fatalf("describe by name: %+v, %v", byName, err)
	}
	all, err := e.client.NiftyDescribePrivateLans(ctx, nil)
	if err != nil || len(all.PrivateLans) != 2 {
		t.Fatalf("describe all: %+v, %v", all, err)
	}

	// An unknown id fails the whole call with a NotFound code naming it.
	_, err = e.client.NiftyDescribePrivateLans(ctx, &nifcloud.DescribePrivateLansInput{NetworkIDs: []string{"net-lan00001", "net-nosuchlan"}})
	apiErr := wantAPIError(t, err, nifcloud.CodeNetworkIDNotFound)
	if !nifcloud.IsNotFound(err) || !strings.Contains(apiErr.Message, "net-nosuchlan") || apiErr.HTTPStatus != http.StatusBadRequest {
		t.Fatalf("unknown id: %v", err)
	}
	if n := e.sim.Controls().Count("NiftyDescribePrivateLans"); n != 4 {
		t.Fatalf("NiftyDescribePrivateLans counted %d times, want 4 (NotFound is not retried)", n)
	}
}
