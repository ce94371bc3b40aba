package openstacksim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

// tenants is a cloud of two projects: alice is member of A, bob reader of
// B, carol viewer of A and (by assignment) admin of B.
func tenants() Options {
	return Options{
		Users: []User{
			{Name: "admin", Password: "secret", ProjectName: "demo"},
			{Name: "alice", Password: "pa", ProjectName: "project-a", Roles: []string{"member"}},
			{Name: "bob", Password: "pb", ProjectName: "project-b", Roles: []string{"reader"}},
			{Name: "carol", Password: "pc", ProjectName: "project-a", Roles: []string{"viewer"}},
		},
		RoleAssignments: []RoleAssignment{
			{UserName: "carol", ProjectName: "project-b", Role: "admin"},
			{UserName: "carol", ProjectName: "project-b", Role: "member"},
			{UserName: "alice", ProjectName: "project-c", Role: "member"}, // a project no user defaults to
		},
	}
}

// identity returns an identity client of the admin (service) account.
func (e *env) identity(t *testing.T) *gophercloud.ServiceClient {
	t.Helper()
	return ok(openstack.NewIdentityV3(e.provider, gophercloud.EndpointOpts{})).must(t)
}

// issue authenticates a user, optionally scoped to a project by name.
func (e *env) issue(t *testing.T, user, password, projectName string) *tokens.Token {
	t.Helper()
	ao := &tokens.AuthOptions{Username: user, Password: password, DomainName: "Default"}
	if projectName != "" {
		ao.Scope = tokens.Scope{ProjectName: projectName, DomainName: "Default"}
	}
	return ok(tokens.Create(ctx(), e.identity(t), ao).ExtractToken()).must(t)
}

func TestTokenValidationShowsProjectRoles(t *testing.T) {
	e := newEnv(t, tenants())
	ic := e.identity(t)
	for _, c := range []struct {
		user, pw, project string
		roles             []string
	}{
		{"alice", "pa", "", []string{"member"}}, // default project
		{"bob", "pb", "project-b", []string{"reader"}},
		{"carol", "pc", "project-a", []string{"viewer"}},
		{"carol", "pc", "project-b", []string{"admin", "member"}},
		{"alice", "pa", "project-c", []string{"member"}},
	} {
		tok := e.issue(t, c.user, c.pw, c.project)
		res := tokens.Get(ctx(), ic, tok.ID)
		p := ok(res.ExtractProject()).must(t)
		want := c.project
		if want == "" {
			want = "project-a"
		}
		if p == nil || p.Name != want || p.Domain.ID != "default" {
			t.Errorf("%s/%s: project %+v", c.user, c.project, p)
		}
		var got []string
		for _, r := range ok(res.ExtractRoles()).must(t) {
			got = append(got, r.Name)
		}
		if !slices.Equal(got, c.roles) {
			t.Errorf("%s/%s: roles %v, want %v", c.user, c.project, got, c.roles)
		}
		if u := ok(res.ExtractUser()).must(t); u.Name != c.user || u.Domain.Name != "Default" {
			t.Errorf("%s: user %+v", c.user, u)
		}
	}
	// projects are distinct and stable
	a, b := e.sim.projectByID(e.sim.users[1].ProjectID), e.sim.projectByID(e.sim.users[2].ProjectID)
	if a.ID == b.ID || a.Name != "project-a" || b.Name != "project-b" {
		t.Fatalf("projects %+v %+v", a, b)
	}
}

func TestTokenScopeNeedsARole(t *testing.T) {
	e := newEnv(t, tenants())
	// bob has no role on project-a; alice none on demo
	for user, pw := range map[string]string{"bob": "pb", "alice": "pa"} {
		proj := map[string]string{"bob": "project-a", "alice": "demo"}[user]
		_, err := tokens.Create(ctx(), e.identity(t), &tokens.AuthOptions{Username: user, Password: pw, DomainName: "Default",
			Scope: tokens.Scope{ProjectName: proj, DomainName: "Default"}}).ExtractToken()
		wantCode(t, err, http.StatusUnauthorized)
	}
	// rescoping carol's project-a token to project-b by the token method works
	tok := e.issue(t, "carol", "pc", "project-a")
	res := tokens.Create(ctx(), e.identity(t), &tokens.AuthOptions{TokenID: tok.ID,
		Scope: tokens.Scope{ProjectName: "project-b", DomainName: "Default"}})
	if p := ok(res.ExtractProject()).must(t); p.Name != "project-b" {
		t.Fatalf("rescoped to %+v", p)
	}
}

func TestTokenValidationPolicyAndErrors(t *testing.T) {
	e := newEnv(t, tenants())
	alice := e.issue(t, "alice", "pa", "")
	bob := e.issue(t, "bob", "pb", "")
	// bob (reader) may not validate alice's token, but may validate his own
	bobClient := e.auth(t, gophercloud.AuthOptions{Username: "bob", Password: "pb", DomainName: "Default"})
	bic := ok(openstack.NewIdentityV3(bobClient, gophercloud.EndpointOpts{})).must(t)
	_, err := tokens.Get(ctx(), bic, alice.ID).ExtractToken()
	wantCode(t, err, http.StatusForbidden)
	if _, err := tokens.Get(ctx(), bic, bobClient.Token()).ExtractToken(); err != nil {
		t.Fatalf("own token: %v", err)
	}
	// an admin token validates any; HEAD answers 200 / 404 without a body
	ic := e.identity(t)
	if ok, err := tokens.Validate(ctx(), ic, bob.ID); err != nil || !ok {
		t.Fatalf("HEAD valid token: %v %v", ok, err)
	}
	if ok, err := tokens.Validate(ctx(), ic, "not-a-token"); err != nil || ok {
		t.Fatalf("HEAD unknown token: %v %v", ok, err)
	}
	// an unknown subject is 404 with Keystone's message; a missing one too
	_, err = tokens.Get(ctx(), ic, "gAAAAbogus").ExtractToken()
	wantCode(t, err, http.StatusNotFound)
	if !strings.Contains(err.Error(), "Could not find token: gAAAAbogus") {
		t.Errorf("404 body: %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/identity/v3/auth/tokens", nil)
	req.Header.Set("X-Auth-Token", e.provider.Token())
	resp := ok(http.DefaultClient.Do(req)).must(t)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing X-Subject-Token: %d", resp.StatusCode)
	}
	// no caller token → 401
	req.Header.Del("X-Auth-Token")
	req.Header.Set("X-Subject-Token", bob.ID)
	resp = ok(http.DefaultClient.Do(req)).must(t)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no X-Auth-Token: %d", resp.StatusCode)
	}
	// ?nocatalog leaves the catalog out
	req.Header.Set("X-Auth-Token", e.provider.Token())
	req.URL.RawQuery = "nocatalog"
	resp = ok(http.DefaultClient.Do(req)).must(t)
	var body struct {
		Token map[string]any `json:"token"`
	}
	if err := decodeBody(resp, &body); err != nil || body.Token["catalog"] != nil || body.Token["project"] == nil {
		t.Errorf("nocatalog: %v %v", err, body.Token)
	}
}

func TestTokenExpiryAndRevocation(t *testing.T) {
	opts := tenants()
	opts.TokenTTL = 10 * time.Minute
	e := newEnv(t, opts)
	ic := e.identity(t)
	alice := e.issue(t, "alice", "pa", "")
	if d := alice.ExpiresAt.Sub(e.clock.Now().Add(10 * time.Minute)); d > time.Second || d < -time.Second {
		t.Errorf("expires_at %v", alice.ExpiresAt)
	}

	// bob may not revoke alice's token; alice may revoke her own
	bobClient := e.auth(t, gophercloud.AuthOptions{Username: "bob", Password: "pb", DomainName: "Default"})
	bic := ok(openstack.NewIdentityV3(bobClient, gophercloud.EndpointOpts{})).must(t)
	wantCode(t, tokens.Revoke(ctx(), bic, alice.ID).Err, http.StatusForbidden)
	aliceClient := e.auth(t, gophercloud.AuthOptions{Username: "alice", Password: "pa", DomainName: "Default"})
	aic := ok(openstack.NewIdentityV3(aliceClient, gophercloud.EndpointOpts{})).must(t)
	if err := tokens.Revoke(ctx(), aic, aliceClient.Token()).Err; err != nil {
		t.Fatalf("revoke own token: %v", err)
	}
	// the admin revokes alice's other token: 204, then it is gone for good
	if err := tokens.Revoke(ctx(), ic, alice.ID).Err; err != nil {
		t.Fatalf("admin revoke: %v", err)
	}
	_, err := tokens.Get(ctx(), ic, alice.ID).ExtractToken()
	wantCode(t, err, http.StatusNotFound)
	wantCode(t, tokens.Revoke(ctx(), ic, alice.ID).Err, http.StatusNotFound)
	_, err = tokens.Create(ctx(), ic, &tokens.AuthOptions{TokenID: alice.ID}).ExtractToken()
	wantCode(t, err, http.StatusUnauthorized)

	// expiry: valid one microsecond before expires_at, 404 at it
	bob := e.issue(t, "bob", "pb", "")
	e.clock.Advance(10*time.Minute - time.Microsecond)
	if _, err := tokens.Get(ctx(), ic, bob.ID).ExtractToken(); err != nil {
		t.Fatalf("token before expiry: %v", err)
	}
	e.clock.Advance(time.Microsecond)
	_, err = tokens.Get(ctx(), e.identity(t), bob.ID).ExtractToken()
	wantCode(t, err, http.StatusNotFound)

	// RevokeUserTokens ends every token of a user
	c1, c2 := e.issue(t, "carol", "pc", "project-a"), e.issue(t, "carol", "pc", "project-b")
	if n := e.sim.RevokeUserTokens(e.sim.users[3].ID); n != 2 {
		t.Fatalf("revoked %d tokens", n)
	}
	for _, id := range []string{c1.ID, c2.ID} {
		_, err = tokens.Get(ctx(), e.identity(t), id).ExtractToken()
		wantCode(t, err, http.StatusNotFound)
	}
}

func TestRoleAssignmentSeedErrors(t *testing.T) {
	base := []User{{Name: "u", Password: "p"}, {Name: "dup", DomainName: "d1"}, {Name: "dup", DomainName: "d2"}}
	for name, ra := range map[string]RoleAssignment{
		"no role":           {UserName: "u", ProjectName: "x"},
		"unknown user":      {UserName: "nobody", ProjectName: "x", Role: "member"},
		"unknown user id":   {UserID: "nope", ProjectName: "x", Role: "member"},
		"ambiguous name":    {UserName: "dup", ProjectName: "x", Role: "member"},
		"unknown projectID": {UserName: "u", ProjectID: "missing", Role: "member"},
	} {
		if _, err := New(Options{Users: base, RoleAssignments: []RoleAssignment{ra}}); err == nil {
			t.Errorf("%s: seed accepted", name)
		}
	}
}

func decodeBody(resp *http.Response, v any) error {
	defer func() { _ = resp.Body.Close() }()
	return json.NewDecoder(resp.Body).Decode(v)
}
