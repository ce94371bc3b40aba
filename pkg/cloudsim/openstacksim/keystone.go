package openstacksim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// stableID derives a Keystone-style 32-hex ID from a name so default users
// and projects keep their IDs across restarts.
func stableID(kind, name string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + name))
	return hex.EncodeToString(h[:16])
}

func (s *Sim) initIdentity() error {
	users := s.opts.Users
	if len(users) == 0 {
		users = []User{{Name: "admin", Password: "secret", DomainName: "Default", ProjectName: "demo"}}
	}
	for _, u := range users {
		if u.Name == "" && u.ID == "" {
			return fmt.Errorf("openstacksim: user without name or id")
		}
		switch {
		case u.DomainID == "" && (u.DomainName == "" || u.DomainName == "Default"):
			u.DomainID, u.DomainName = "default", "Default"
		case u.DomainID == "":
			u.DomainID = stableID("domain", u.DomainName)
		case u.DomainName == "":
			u.DomainName = map[bool]string{true: "Default", false: u.DomainID}[u.DomainID == "default"]
		}
		if u.ProjectName == "" && u.ProjectID == "" {
			u.ProjectName = "demo"
		}
		if u.ProjectID == "" {
			u.ProjectID = stableID("project", u.DomainID+"/"+u.ProjectName)
		}
		if u.ProjectName == "" {
			u.ProjectName = u.ProjectID
		}
		if u.Name == "" {
			u.Name = u.ID
		}
		if u.ID == "" {
			u.ID = stableID("user", u.DomainID+"/"+u.Name)
		}
		s.users = append(s.users, u)
	}
	for _, ac := range s.opts.AppCredentials {
		u := s.userByID(ac.UserID)
		if u == nil {
			return fmt.Errorf("openstacksim: application credential %q of unknown user %q", ac.Name, ac.UserID)
		}
		if ac.ID == "" {
			ac.ID = stableID("appcred", ac.UserID+"/"+ac.Name)
		}
		if ac.ProjectID == "" {
			ac.ProjectID = u.ProjectID
		}
		s.appCreds = append(s.appCreds, ac)
	}
	return s.initRoleAssignments()
}

func (s *Sim) userByID(id string) *User {
	for i := range s.users {
		if s.users[i].ID == id {
			return &s.users[i]
		}
	}
	return nil
}

type domainRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (d *domainRef) matches(u *User) bool {
	if d == nil {
		return u.DomainID == "default"
	}
	return (d.ID != "" && d.ID == u.DomainID) || (d.ID == "" && d.Name == u.DomainName)
}

type userRef struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Password string     `json:"password"`
	Domain   *domainRef `json:"domain"`
}

type authRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User userRef `json:"user"`
			} `json:"password"`
			AppCred *struct {
				ID     string   `json:"id"`
				Name   string   `json:"name"`
				Secret string   `json:"secret"`
				User   *userRef `json:"user"`
			} `json:"application_credential"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

type scopeRequest struct {
	Project *struct {
		ID     string     `json:"id"`
		Name   string     `json:"name"`
		Domain *domainRef `json:"domain"`
	} `json:"project"`
	Trust *struct {
		ID string `json:"id"`
	} `json:"OS-TRUST:trust"`
}

func (s *Sim) findUser(ref userRef) *User {
	for i := range s.users {
		u := &s.users[i]
		if (ref.ID != "" && ref.ID == u.ID) || (ref.ID == "" && ref.Name == u.Name && ref.Domain.matches(u)) {
			return u
		}
	}
	return nil
}

func (s *Sim) keystoneRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET /identity/{$}", svcKeystone, "keystone.version_list", false, s.keystoneVersions)
	s.handle(mux, "GET /identity/v3", svcKeystone, "keystone.version_get", false, s.keystoneVersion)
	s.handle(mux, "GET /identity/v3/{$}", svcKeystone, "keystone.version_get", false, s.keystoneVersion)
	s.handle(mux, "POST /identity/v3/auth/tokens", svcKeystone, "keystone.token_create", false, s.tokenCreate)
	s.handle(mux, "GET /identity/v3/auth/tokens", svcKeystone, "keystone.token_validate", true, s.tokenValidate)
	s.handle(mux, "HEAD /identity/v3/auth/tokens", svcKeystone, "keystone.token_validate", true, s.tokenValidate)
	s.handle(mux, "DELETE /identity/v3/auth/tokens", svcKeystone, "keystone.token_revoke", true, s.tokenRevoke)
}

func keystoneV3Doc(r *http.Request) M {
	return M{"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []M{{"rel": "self", "href": baseURL(r) + "/identity/v3/"}},
		"media-types": []M{{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}}}
}

func (s *Sim) keystoneVersions(w http.ResponseWriter, r *http.Request, _ *Token) {
	simcore.WriteJSON(w, http.StatusMultipleChoices, M{"versions": M{"values": []M{keystoneV3Doc(r)}}})
}

func (s *Sim) keystoneVersion(w http.ResponseWriter, r *http.Request, _ *Token) {
	simcore.WriteJSON(w, http.StatusOK, M{"version": keystoneV3Doc(r)})
}

// authenticate returns the valid, unexpired token of the request or nil.
func (s *Sim) authenticate(r *http.Request) *Token {
	id := r.Header.Get("X-Auth-Token")
	if id == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.state.Tokens[id]
	if !ok || !s.now().Before(t.ExpiresAt) {
		return nil
	}
	cp := *t
	return &cp
}

func (s *Sim) tokenCreate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req authRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, svcKeystone, http.StatusBadRequest, err.Error())
		return
	}
	id := req.Auth.Identity
	unauthorized := func() {
		s.fail(w, svcKeystone, http.StatusUnauthorized, "The request you have made requires authentication.")
	}
	var user *User
	projectID := ""
	appCredID := ""
	var expires time.Time
	methods := id.Methods
	switch {
	case contains(methods, "password") && id.Password != nil:
		user = s.findUser(id.Password.User)
		if user == nil || user.Password != id.Password.User.Password {
			unauthorized()
			return
		}
		projectID = user.ProjectID
	case contains(methods, "application_credential") && id.AppCred != nil:
		ac := s.findAppCred(id.AppCred.ID, id.AppCred.Name, id.AppCred.User)
		if ac == nil || ac.Secret != id.AppCred.Secret {
			unauthorized()
			return
		}
		user, projectID, appCredID = s.userByID(ac.UserID), ac.ProjectID, ac.ID
	case contains(methods, "token") && id.Token != nil:
		old := s.lookupToken(id.Token.ID)
		if old == nil {
			unauthorized()
			return
		}
		user, projectID, appCredID, expires = s.userByID(old.UserID), old.ProjectID, old.AppCredID, old.ExpiresAt
	default:
		unauthorized()
		return
	}
	if user == nil {
		unauthorized()
		return
	}
	if len(req.Auth.Scope) > 0 && req.Auth.Scope[0] == '{' {
		var sc scopeRequest
		if err := json.Unmarshal(req.Auth.Scope, &sc); err != nil {
			s.fail(w, svcKeystone, http.StatusBadRequest, "malformed scope: "+err.Error())
			return
		}
		if sc.Trust != nil {
			unauthorized()
			return
		}
		if p := sc.Project; p != nil {
			// a project by name is looked up in the domain given, else the user's
			domainID := user.DomainID
			if p.Domain != nil && p.Domain.ID != "" {
				domainID = p.Domain.ID
			} else if p.Domain != nil {
				domainID = s.domainIDByName(p.Domain.Name)
			}
			proj, ok := s.findProject(p.ID, p.Name, domainID)
			if !ok || (appCredID != "" && proj.ID != projectID) {
				unauthorized()
				return
			}
			projectID = proj.ID
		}
	}
	if projectID != "" && len(s.rolesOn(user, projectID)) == 0 {
		// Keystone: "User ... has no access to project ..."
		unauthorized()
		return
	}
	now := s.now()
	if expires.IsZero() {
		expires = now.Add(s.opts.TokenTTL)
	}
	tok := &Token{ID: newTokenID(), UserID: user.ID, ProjectID: projectID, Methods: methods,
		AppCredID: appCredID, IssuedAt: now, ExpiresAt: expires}
	s.mutate(func() {
		for k, t := range s.state.Tokens {
			if !now.Before(t.ExpiresAt) {
				delete(s.state.Tokens, k)
			}
		}
		s.state.Tokens[tok.ID] = tok
	})
	w.Header().Set("X-Subject-Token", tok.ID)
	_, noCatalog := r.URL.Query()["nocatalog"]
	simcore.WriteJSON(w, http.StatusCreated, s.tokenBody(r, tok, user, !noCatalog))
}

func (s *Sim) lookupToken(id string) *Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.state.Tokens[id]
	if !ok || !s.now().Before(t.ExpiresAt) {
		return nil
	}
	cp := *t
	return &cp
}

func (s *Sim) findAppCred(id, name string, u *userRef) *AppCredential {
	for i := range s.appCreds {
		ac := &s.appCreds[i]
		if id != "" && ac.ID == id {
			return ac
		}
		if id == "" && u != nil && ac.Name == name {
			if owner := s.findUser(*u); owner != nil && owner.ID == ac.UserID {
				return ac
			}
		}
	}
	return nil
}

// catalog points every service at the host the client used.
func (s *Sim) catalog(r *http.Request, projectID string) []M {
	base := baseURL(r)
	entry := func(typ, name, url string) M {
		var eps []M
		for _, iface := range []string{"public", "internal", "admin"} {
			eps = append(eps, M{"id": stableID("endpoint", typ+iface), "interface": iface,
				"region": s.opts.Region, "region_id": s.opts.Region, "url": url})
		}
		return M{"id": stableID("service", typ), "type": typ, "name": name, "endpoints": eps}
	}
	vol := base + "/volume/v3/" + projectID
	return []M{
		entry("identity", "keystone", base+"/identity/v3"),
		entry("compute", "nova", base+"/compute/v2.1"),
		entry("network", "neutron", base+"/network/"),
		entry("load-balancer", "octavia", base+"/load-balancer/"),
		entry("key-manager", "barbican", base+"/key-manager"),
		entry("block-storage", "cinder", vol),
		entry("volumev3", "cinderv3", vol),
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
