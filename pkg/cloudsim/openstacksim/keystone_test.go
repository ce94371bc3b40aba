package openstacksim

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

func TestPasswordAndAppCredentialAuth(t *testing.T) {
	e := newEnv(t, Options{
		Users: []User{{ID: "u1", Name: "admin", Password: "secret", DomainName: "Default", ProjectName: "demo"},
			{Name: "bob", Password: "pw", DomainName: "corp", ProjectID: "p-bob", ProjectName: "bobs"}},
		AppCredentials: []AppCredential{{ID: "ac1", Name: "ci", Secret: "s3cret", UserID: "u1"}},
	})
	// user ID + project ID scope
	e.auth(t, gophercloud.AuthOptions{UserID: "u1", Password: "secret", TenantID: e.sim.users[0].ProjectID})
	// name + non-default domain, project by name + domain
	bob := e.auth(t, gophercloud.AuthOptions{Username: "bob", Password: "pw", DomainName: "corp", TenantName: "bobs"})
	bs, err := openstack.NewBlockStorageV3(bob, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	if want := e.srv.URL + "/volume/v3/p-bob/"; bs.Endpoint != want {
		t.Errorf("block-storage endpoint %q, want %q", bs.Endpoint, want)
	}
	// application credential by ID and by name + user
	ac := e.auth(t, gophercloud.AuthOptions{ApplicationCredentialID: "ac1", ApplicationCredentialSecret: "s3cret"})
	cc, err := openstack.NewComputeV2(ac, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := servers.List(cc, nil).AllPages(ctx()); err != nil {
		t.Fatalf("list with app-credential token: %v", err)
	}
	e.auth(t, gophercloud.AuthOptions{ApplicationCredentialName: "ci", UserID: "u1", ApplicationCredentialSecret: "s3cret"})

	for name, ao := range map[string]gophercloud.AuthOptions{
		"wrong password":  {Username: "admin", Password: "nope", DomainName: "Default", TenantName: "demo"},
		"wrong domain":    {Username: "bob", Password: "pw", DomainName: "Default"},
		"foreign project": {Username: "admin", Password: "secret", DomainName: "Default", TenantName: "bobs"},
		"wrong secret":    {ApplicationCredentialID: "ac1", ApplicationCredentialSecret: "x"},
	} {
		ao.IdentityEndpoint = e.srv.URL + "/identity/v3"
		_, err := openstack.AuthenticatedClient(ctx(), ao)
		if !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
			t.Errorf("%s: want 401, got %v", name, err)
		}
	}
}

func TestVersionDiscoveryAndCatalog(t *testing.T) {
	e := newEnv(t, Options{})
	// an unversioned auth URL makes gophercloud discover /identity/
	pc, err := openstack.AuthenticatedClient(ctx(), gophercloud.AuthOptions{IdentityEndpoint: e.srv.URL + "/identity",
		Username: "admin", Password: "secret", DomainID: "default", TenantName: "demo"})
	if err != nil {
		t.Fatalf("discovery auth: %v", err)
	}
	for _, typ := range []string{"volumev3", "block-storage", "compute", "network", "load-balancer", "identity"} {
		for _, av := range []gophercloud.Availability{gophercloud.AvailabilityPublic, gophercloud.AvailabilityInternal, gophercloud.AvailabilityAdmin} {
			if _, err := pc.EndpointLocator(gophercloud.EndpointOpts{Type: typ, Region: "RegionOne", Availability: av}); err != nil {
				t.Errorf("catalog lacks %s/%s: %v", typ, av, err)
			}
		}
	}
	if e.lb.ResourceBase != e.srv.URL+"/load-balancer/v2.0/" || e.network.ResourceBase != e.srv.URL+"/network/v2.0/" {
		t.Errorf("resource bases: lb %q network %q", e.lb.ResourceBase, e.network.ResourceBase)
	}
	// token validation
	id, _ := tokens.Create(ctx(), &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: e.srv.URL + "/identity/v3/"},
		&tokens.AuthOptions{Username: "admin", Password: "secret", DomainID: "default"}).ExtractTokenID()
	ic, _ := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
	tok, err := tokens.Get(ctx(), ic, id).ExtractToken()
	if err != nil || tok.ID != id || !tok.ExpiresAt.After(e.clock.Now()) {
		t.Fatalf("validate token: %v %+v", err, tok)
	}
	// Cinder rejects a project in the URL that is not the token's
	req, _ := http.NewRequest("GET", e.srv.URL+"/volume/v3/other-project/volumes/detail", nil)
	req.Header.Set("X-Auth-Token", e.provider.Token())
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("foreign project in URL: %v %v", err, resp.Status)
	}
	// no token → 401
	resp, err := http.Get(e.srv.URL + "/compute/v2.1/servers/detail")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthenticated request: %v %v", err, resp.Status)
	}
}

func TestTokenExpiryReauth(t *testing.T) {
	e := newEnv(t, Options{TokenTTL: time.Minute})
	e.addNode(t, "n1", "10.0.0.10")
	first := e.provider.Token()
	if _, err := servers.List(e.compute, nil).AllPages(ctx()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	before := e.sim.Controls().Count("keystone.token_create")
	pages, err := servers.List(e.compute, nil).AllPages(ctx())
	if err != nil {
		t.Fatalf("list after expiry (client should re-auth): %v", err)
	}
	if all, _ := servers.ExtractServers(pages); len(all) != 1 {
		t.Fatalf("servers after re-auth: %d", len(all))
	}
	if e.provider.Token() == first || e.sim.Controls().Count("keystone.token_create") != before+1 {
		t.Fatal("client did not re-authenticate")
	}
	// a client without AllowReauth keeps failing with 401
	pc := e.auth(t, gophercloud.AuthOptions{Username: "admin", Password: "secret", DomainName: "Default", TenantName: "demo"})
	cc, _ := openstack.NewComputeV2(pc, gophercloud.EndpointOpts{Region: "RegionOne"})
	e.clock.Advance(2 * time.Minute)
	_, err = servers.Get(context.Background(), cc, "x").Extract()
	wantCode(t, err, http.StatusUnauthorized)
}
