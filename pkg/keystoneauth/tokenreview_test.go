package keystoneauth

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

func TestTokenReviewMapsKeystoneIdentity(t *testing.T) {
	w := newWorld(t, CacheOptions{TTL: time.Minute, NegativeTTL: time.Second})
	tok := w.login(t, "alice", "alice-pass", "")
	ans := w.authenticate(t, tok)
	u := ans.Status.User
	if !ans.Status.Authenticated || ans.Status.Error != "" || u.Username != "alice" || u.UID == "" {
		t.Fatalf("review: %+v", ans.Status)
	}
	if ans.APIVersion != "authentication.k8s.io/v1" || ans.Kind != "TokenReview" || ans.Spec.Token != "" {
		t.Errorf("answer head %s %s, spec.token echoed: %v", ans.APIVersion, ans.Kind, ans.Spec.Token != "")
	}
	pid := u.Extra[ExtraProjectID]
	if len(pid) != 1 || pid[0] == "" {
		t.Fatalf("extra project id: %v", u.Extra)
	}
	wantGroups := []string{pid[0], "project-a", pid[0] + ":member"}
	if !slices.Equal(u.Groups, wantGroups) {
		t.Errorf("groups %v, want %v", u.Groups, wantGroups)
	}
	for k, want := range map[string][]string{ExtraProjectName: {"project-a"}, ExtraRoles: {"member"},
		ExtraUserDomainID: {"default"}, ExtraUserDomainName: {"Default"}} {
		if !slices.Equal(u.Extra[k], want) {
			t.Errorf("extra %s = %v, want %v", k, u.Extra[k], want)
		}
	}
	// carol scoped to project-b is admin there, not reader
	ans = w.authenticate(t, w.login(t, "carol", "carol-pass", "project-b"))
	if got := ans.Status.User.Extra; !slices.Equal(got[ExtraRoles], []string{"admin"}) || got[ExtraProjectName][0] != "project-b" {
		t.Errorf("carol@project-b: %v", got)
	}
	// v1beta1 reviews are answered in v1beta1
	var beta reviewAnswer
	w.post(t, "/authenticate", map[string]any{"apiVersion": "authentication.k8s.io/v1beta1", "kind": "TokenReview",
		"spec": map[string]any{"token": tok}}, &beta)
	if beta.APIVersion != "authentication.k8s.io/v1beta1" || !beta.Status.Authenticated {
		t.Errorf("v1beta1: %+v", beta)
	}
}

func TestTokenReviewRefusals(t *testing.T) {
	w := newWorld(t, CacheOptions{TTL: time.Minute, NegativeTTL: 5 * time.Second})
	for name, c := range map[string]struct{ token, want string }{
		"unknown token": {"gAAAAABnot-a-real-token", "invalid, expired or revoked"},
		"empty token":   {"", "spec.token is empty"},
		"system: name":  {w.login(t, "system:admin", "x-pass", ""), `reserved prefix "system:"`},
	} {
		ans := w.authenticate(t, c.token)
		if ans.Status.Authenticated || !strings.Contains(ans.Status.Error, c.want) {
			t.Errorf("%s: %+v", name, ans.Status)
		}
	}

	// revoked: refused once the cached answer is older than the TTL
	tok := w.login(t, "bob", "bob-pass", "")
	if !w.authenticate(t, tok).Status.Authenticated {
		t.Fatal("bob not authenticated")
	}
	w.revoke(t, tok)
	w.clock.Advance(time.Minute)
	if ans := w.authenticate(t, tok); ans.Status.Authenticated || !strings.Contains(ans.Status.Error, "revoked") {
		t.Fatalf("revoked token: %+v", ans.Status)
	}

	// expired: refused at expires_at even while the answer is cached
	tok = w.login(t, "alice", "alice-pass", "")
	w.clock.Advance(59*time.Minute + 30*time.Second)
	if !w.authenticate(t, tok).Status.Authenticated {
		t.Fatal("alice before expiry")
	}
	before := w.validations()
	w.clock.Advance(30 * time.Second)
	if ans := w.authenticate(t, tok); ans.Status.Authenticated {
		t.Fatalf("expired token accepted: %+v", ans.Status)
	}
	if w.validations() != before+1 {
		t.Errorf("expired cached token not re-validated")
	}
}

func TestTokenCacheSparesKeystone(t *testing.T) {
	w := newWorld(t, CacheOptions{TTL: time.Minute, NegativeTTL: 5 * time.Second})
	tok := w.login(t, "alice", "alice-pass", "")
	before := w.validations()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !w.authenticate(t, tok).Status.Authenticated {
				t.Error("not authenticated")
			}
		}()
	}
	wg.Wait()
	if n := w.validations() - before; n != 1 {
		t.Fatalf("20 concurrent reviews made %d Keystone calls, want 1", n)
	}
	// after the TTL Keystone is asked again
	w.clock.Advance(time.Minute)
	w.authenticate(t, tok)
	if n := w.validations() - before; n != 2 {
		t.Fatalf("after TTL: %d calls, want 2", n)
	}
	// a bad token is remembered for NegativeTTL only
	before = w.validations()
	w.authenticate(t, "bogus-token-1")
	w.authenticate(t, "bogus-token-1")
	w.clock.Advance(5 * time.Second)
	w.authenticate(t, "bogus-token-1")
	if n := w.validations() - before; n != 2 {
		t.Fatalf("negative cache: %d calls, want 2", n)
	}
}

func TestTokenReviewKeystoneTroubleIsNotCached(t *testing.T) {
	w := newWorld(t, CacheOptions{TTL: time.Minute, NegativeTTL: time.Minute})
	tok := w.login(t, "alice", "alice-pass", "")
	w.sim.Controls().SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"keystone.token_validate"}})
	ans := w.authenticate(t, tok)
	if ans.Status.Authenticated || !strings.Contains(ans.Status.Error, "HTTP 5") {
		t.Fatalf("during outage: %+v", ans.Status)
	}
	w.sim.Controls().SetFaults(simcore.FaultConfig{})
	if ans := w.authenticate(t, tok); !ans.Status.Authenticated {
		t.Fatalf("after outage (error must not be cached): %+v", ans.Status)
	}
}

// Keystone's 404 quotes the token; neither logs, answers nor metrics may.
func TestNoTokenInLogsOrAnswers(t *testing.T) {
	w := newWorld(t, CacheOptions{TTL: time.Minute, NegativeTTL: time.Second})
	good := w.login(t, "alice", "alice-pass", "")
	revoked := w.login(t, "bob", "bob-pass", "")
	w.revoke(t, revoked)
	bogus := "gAAAAABsecret-looking-bogus-token-value"
	var answers []string
	for _, tok := range []string{good, revoked, bogus} {
		ans := w.authenticate(t, tok)
		answers = append(answers, ans.Status.Error)
	}
	w.sim.Controls().SetFaults(simcore.FaultConfig{ErrorRate: 1, Actions: []string{"keystone.token_validate"}})
	answers = append(answers, w.authenticate(t, bogus+"-2").Status.Error)
	// a direct Validate error too
	_, err := w.authn.Validator.Validate(context.Background(), bogus+"-3")
	answers = append(answers, err.Error())
	logs := w.logs.String()
	if !strings.Contains(logs, "token=") {
		t.Fatalf("expected token references in the logs:\n%s", logs)
	}
	for _, tok := range []string{good, revoked, bogus, "svc-pass", "alice-pass"} {
		if strings.Contains(logs, tok) {
			t.Errorf("log contains a secret %q:\n%s", tok[:8], logs)
		}
		for _, a := range answers {
			if strings.Contains(a, tok) {
				t.Errorf("answer %q contains a secret", a)
			}
		}
	}
}
