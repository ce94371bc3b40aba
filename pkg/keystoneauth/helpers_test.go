package keystoneauth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"

	"github.com/kumo-project/kumo/pkg/cloudsim/openstacksim"
	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// world is a simulated cloud with two tenants and a webhook in front of it.
type world struct {
	sim     *openstacksim.Sim
	cloud   *httptest.Server
	clock   *clock
	webhook *httptest.Server
	authn   *Authenticator
	authz   *Authorizer
	metrics *Metrics
	logs    *syncBuffer
}

// The webhook's service user has only Keystone's service role: enough to
// validate other users' tokens, nothing more.
func cloudUsers() openstacksim.Options {
	return openstacksim.Options{
		Users: []openstacksim.User{
			{Name: "k8s-keystone-auth", Password: "svc-pass", ProjectName: "service", Roles: []string{"service"}},
			{Name: "alice", Password: "alice-pass", ProjectName: "project-a", Roles: []string{"member"}},
			{Name: "bob", Password: "bob-pass", ProjectName: "project-b", Roles: []string{"member"}},
			{Name: "carol", Password: "carol-pass", ProjectName: "project-a", Roles: []string{"reader"}},
			{Name: "system:admin", Password: "x-pass", ProjectName: "project-a", Roles: []string{"member"}},
		},
		RoleAssignments: []openstacksim.RoleAssignment{{UserName: "carol", ProjectName: "project-b", Role: "admin"}},
	}
}

func newWorld(t *testing.T, cacheOpts CacheOptions) *world {
	t.Helper()
	w := &world{clock: &clock{t: time.Now().UTC()}, logs: &syncBuffer{}, metrics: NewMetrics()}
	opts := cloudUsers()
	opts.Now = w.clock.Now
	opts.TokenTTL = time.Hour
	sim, err := openstacksim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	w.sim = sim
	w.cloud = httptest.NewServer(sim.Handler())
	t.Cleanup(w.cloud.Close)

	conf := filepath.Join(t.TempDir(), "cloud.conf")
	ini := fmt.Sprintf("[Global]\nauth-url=%s/identity/v3\nusername=k8s-keystone-auth\npassword=svc-pass\nproject-name=service\ndomain-name=Default\n", w.cloud.URL)
	if err := os.WriteFile(conf, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFiles(config.Options{}, conf)
	if err != nil {
		t.Fatal(err)
	}
	logger := textlogger.NewLogger(textlogger.NewConfig(textlogger.Output(w.logs), textlogger.Verbosity(10)))
	ctx := klog.NewContext(context.Background(), logger)
	ks, err := DialKeystone(ctx, cfg, client.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ks.observe = w.metrics.observeKeystone
	cacheOpts.Now = w.clock.Now
	w.authn = &Authenticator{Validator: ks, Cache: NewCache(cacheOpts), Metrics: w.metrics}
	w.authz = &Authorizer{Metrics: w.metrics}
	srv := &Server{Authenticator: w.authn, Authorizer: w.authz, Metrics: w.metrics, Logger: logger}
	w.webhook = httptest.NewUnstartedServer(srv.Handler())
	w.webhook.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut by Close
	w.webhook.StartTLS()
	t.Cleanup(w.webhook.Close)
	return w
}

// login gets a user's token from the simulated Keystone, scoped to a
// project by name ("" = the user's default project).
func (w *world) login(t *testing.T, user, password, projectName string) string {
	t.Helper()
	pc, err := openstack.NewClient(w.cloud.URL + "/identity/v3")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	ao := &tokens.AuthOptions{Username: user, Password: password, DomainName: "Default"}
	if projectName != "" {
		ao.Scope = tokens.Scope{ProjectName: projectName, DomainName: "Default"}
	}
	id, err := tokens.Create(context.Background(), sc, ao).ExtractTokenID()
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return id
}

// revoke revokes a token as its bearer would (DELETE /v3/auth/tokens).
func (w *world) revoke(t *testing.T, token string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, w.cloud.URL+"/identity/v3/auth/tokens", nil)
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("X-Subject-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: %v %v", err, resp)
	}
	_ = resp.Body.Close()
}

// post sends a JSON body to the webhook and decodes the answer into out.
func (w *world) post(t *testing.T, path string, body any, out any) int {
	t.Helper()
	var data []byte
	switch b := body.(type) {
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := w.webhook.Client().Post(w.webhook.URL+path, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s: decoding answer: %v", path, err)
		}
	}
	return resp.StatusCode
}

func tokenReview(token string) map[string]any {
	return map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": map[string]any{"token": token}}
}

type reviewAnswer struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Token string `json:"token"`
	} `json:"spec"`
	Status struct {
		Authenticated bool   `json:"authenticated"`
		Error         string `json:"error"`
		User          struct {
			Username string              `json:"username"`
			UID      string              `json:"uid"`
			Groups   []string            `json:"groups"`
			Extra    map[string][]string `json:"extra"`
		} `json:"user"`
	} `json:"status"`
}

// authenticate runs one TokenReview at /webhook.
func (w *world) authenticate(t *testing.T, token string) reviewAnswer {
	t.Helper()
	var ans reviewAnswer
	if code := w.post(t, "/webhook", tokenReview(token), &ans); code != http.StatusOK {
		t.Fatalf("TokenReview: HTTP %d", code)
	}
	return ans
}

func (w *world) validations() int64 { return w.sim.Controls().Count("keystone.token_validate") }
