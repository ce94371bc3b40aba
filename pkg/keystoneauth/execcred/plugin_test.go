package execcred

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
)

type cloud struct {
	sim *openstacksim.Sim
	url string
	now time.Time
}

func newCloud(t *testing.T) *cloud {
	t.Helper()
	c := &cloud{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	sim, err := openstacksim.New(openstacksim.Options{
		Users: []openstacksim.User{
			{Name: "admin", Password: "secret", ProjectName: "demo"},
			{ID: "alice-id", Name: "alice", Password: "alice-pass", ProjectName: "project-a", Roles: []string{"member"}},
		},
		AppCredentials: []openstacksim.AppCredential{{ID: "ac-1", Name: "kubectl", Secret: "ac-secret", UserID: "alice-id"}},
		TokenTTL:       time.Hour,
		Now:            func() time.Time { return c.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	c.sim = sim
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	c.url = srv.URL + "/identity/v3"
	return c
}

func (c *cloud) env(t *testing.T) Options {
	env := map[string]string{"OS_AUTH_URL": c.url, "OS_USERNAME": "alice", "OS_PASSWORD": "alice-pass",
		"OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_NAME": "project-a", "OS_PROJECT_DOMAIN_NAME": "Default"}
	o := FromEnv(func(k string) string { return env[k] })
	o.CacheDir = t.TempDir()
	return o
}

// projectOf validates a token as the admin and returns its project name.
func (c *cloud) projectOf(t *testing.T, token string) (string, error) {
	t.Helper()
	pc, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{IdentityEndpoint: c.url,
		Username: "admin", Password: "secret", DomainName: "Default", TenantName: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
	p, err := tokens.Get(context.Background(), sc, token).ExtractProject()
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

type credential struct {
	APIVersion, Kind string
	Status           struct {
		Token               string
		ExpirationTimestamp time.Time
	}
}

func (c *cloud) run(t *testing.T, p *Plugin) (credential, error) {
	t.Helper()
	p.Now = func() time.Time { return c.now }
	if p.Prompt == nil {
		p.Prompt = &bytes.Buffer{}
	}
	var out bytes.Buffer
	if err := p.Run(context.Background(), &out); err != nil {
		return credential{}, err
	}
	var cred credential
	if err := json.Unmarshal(out.Bytes(), &cred); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	return cred, nil
}

func TestPasswordLoginAndCache(t *testing.T) {
	c := newCloud(t)
	o := c.env(t)
	info := `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}`
	cred, err := c.run(t, &Plugin{Options: o, ExecInfo: info})
	if err != nil {
		t.Fatal(err)
	}
	if cred.APIVersion != "client.authentication.k8s.io/v1" || cred.Kind != "ExecCredential" || cred.Status.Token == "" ||
		!cred.Status.ExpirationTimestamp.Equal(c.now.Add(time.Hour)) {
		t.Fatalf("credential %+v", cred)
	}
	if p, err := c.projectOf(t, cred.Status.Token); err != nil || p != "project-a" {
		t.Fatalf("token project %q %v", p, err)
	}
	// the cache answers until a minute before expiry, then Keystone again
	logins := func() int64 { return c.sim.Controls().Count("keystone.token_create") }
	before := logins()
	c.now = c.now.Add(58 * time.Minute)
	again, err := c.run(t, &Plugin{Options: o, ExecInfo: info})
	if err != nil || again.Status.Token != cred.Status.Token || logins() != before {
		t.Fatalf("cached run: %v same=%v logins=%d", err, again.Status.Token == cred.Status.Token, logins()-before)
	}
	c.now = c.now.Add(time.Minute + time.Second)
	renewed, err := c.run(t, &Plugin{Options: o, ExecInfo: info})
	if err != nil || renewed.Status.Token == cred.Status.Token || logins() != before+1 {
		t.Fatalf("renewal: %v logins=%d", err, logins()-before)
	}
	// cache files are owner-only and hold no password
	entries, _ := os.ReadDir(o.CacheDir)
	for _, e := range entries {
		fi, _ := e.Info()
		data, _ := os.ReadFile(o.CacheDir + "/" + e.Name())
		if fi.Mode().Perm() != 0o600 || strings.Contains(string(data), "alice-pass") {
			t.Errorf("cache file %s mode %v", e.Name(), fi.Mode())
		}
	}
	// another project gets its own cache entry and token
	o.ProjectName = "demo"
	if _, err := c.run(t, &Plugin{Options: o, ExecInfo: info}); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("alice has no role on demo: %v", err)
	}
	// --logout revokes the cached token at Keystone
	o.ProjectName = "project-a"
	p := &Plugin{Options: o, Now: func() time.Time { return c.now }}
	if err := p.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.projectOf(t, renewed.Status.Token); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("token after logout: %v", err)
	}
	if readCache(o.CacheDir, &o, c.now, 0) != nil {
		t.Fatal("cache kept after logout")
	}
}

func TestApplicationCredentialAndBeta(t *testing.T) {
	c := newCloud(t)
	env := map[string]string{"OS_AUTH_URL": c.url, "OS_APPLICATION_CREDENTIAL_ID": "ac-1", "OS_APPLICATION_CREDENTIAL_SECRET": "ac-secret"}
	o := FromEnv(func(k string) string { return env[k] })
	cred, err := c.run(t, &Plugin{Options: o, ExecInfo: `{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{}}`})
	if err != nil {
		t.Fatal(err)
	}
	if cred.APIVersion != "client.authentication.k8s.io/v1beta1" {
		t.Errorf("apiVersion %s", cred.APIVersion)
	}
	if p, err := c.projectOf(t, cred.Status.Token); err != nil || p != "project-a" {
		t.Fatalf("app credential token project %q %v", p, err)
	}
	o.AppCredSecret = "wrong"
	_, err = c.run(t, &Plugin{Options: o})
	if err == nil || !strings.Contains(err.Error(), "refused (HTTP 401)") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestPasswordPrompt(t *testing.T) {
	c := newCloud(t)
	o := c.env(t)
	o.Password = ""
	interactive := `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":true}}`
	// kubectl did not pass stdin: no prompt, a clear error
	_, err := c.run(t, &Plugin{Options: o, ExecInfo: strings.Replace(interactive, "true", "false", 1), StdinIsTerminal: true,
		ReadPassword: func() (string, error) { t.Fatal("prompted"); return "", nil }})
	if err == nil || !strings.Contains(err.Error(), "interactiveMode") {
		t.Fatalf("non-interactive: %v", err)
	}
	var prompt bytes.Buffer
	cred, err := c.run(t, &Plugin{Options: o, ExecInfo: interactive, StdinIsTerminal: true, Prompt: &prompt,
		ReadPassword: func() (string, error) { return "alice-pass", nil }})
	if err != nil || cred.Status.Token == "" {
		t.Fatalf("prompted login: %v", err)
	}
	if !strings.Contains(prompt.String(), "Keystone password for alice at "+c.url) {
		t.Errorf("prompt %q", prompt.String())
	}
	o.CacheDir = ""
	_, err = c.run(t, &Plugin{Options: o, ExecInfo: interactive, StdinIsTerminal: true,
		ReadPassword: func() (string, error) { return "", errors.New("eof") }})
	if err == nil || !strings.Contains(err.Error(), "reading the password") {
		t.Errorf("read failure: %v", err)
	}
}

func TestOptionErrorsNameTheVariable(t *testing.T) {
	c := newCloud(t)
	base := c.env(t)
	for want, mutate := range map[string]func(o *Options){
		"OS_AUTH_URL":                      func(o *Options) { o.AuthURL = "" },
		"not an http(s) URL":               func(o *Options) { o.AuthURL = "keystone:5000" },
		"OS_USERNAME (or OS_USER_ID)":      func(o *Options) { o.Username = "" },
		"OS_USER_DOMAIN_NAME":              func(o *Options) { o.UserDomainName = "" },
		"OS_PROJECT_NAME or OS_PROJECT_ID": func(o *Options) { o.ProjectName = "" },
		"OS_PROJECT_DOMAIN_NAME":           func(o *Options) { o.ProjectDomainName = "" },
		"OS_APPLICATION_CREDENTIAL_SECRET": func(o *Options) { o.AppCredID = "x" },
		"needs its user":                   func(o *Options) { o.AppCredName, o.AppCredSecret, o.Username = "n", "s", "" },
	} {
		o := base
		mutate(&o)
		if _, err := c.run(t, &Plugin{Options: o}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error naming %q, got %v", want, err)
		}
	}
	for _, info := range []string{`{`, `{"apiVersion":"client.authentication.k8s.io/v1alpha1"}`} {
		if _, err := c.run(t, &Plugin{Options: base, ExecInfo: info}); err == nil || !strings.Contains(err.Error(), "KUBERNETES_EXEC_INFO") {
			t.Errorf("exec info %s: %v", info, err)
		}
	}
}
