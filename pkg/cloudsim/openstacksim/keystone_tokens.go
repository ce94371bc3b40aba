package openstacksim

import (
	"net/http"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// tokenValidate is GET/HEAD /v3/auth/tokens: the X-Subject-Token is shown
// to an admin or service caller or to its own bearer (Keystone's
// identity:validate_token default); an unknown, expired or revoked
// subject is 404. ?nocatalog leaves the catalog out.
func (s *Sim) tokenValidate(w http.ResponseWriter, r *http.Request, auth *Token) {
	sub := s.subjectToken(w, r, auth, true, "identity:validate_token")
	if sub == nil {
		return
	}
	w.Header().Set("X-Subject-Token", sub.ID)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	_, noCatalog := r.URL.Query()["nocatalog"]
	simcore.WriteJSON(w, http.StatusOK, s.tokenBody(r, sub, s.userByID(sub.UserID), !noCatalog))
}

// tokenRevoke is DELETE /v3/auth/tokens (identity:revoke_token: admin or
// the token's bearer): 204, after which the token validates as 404 and
// cannot be exchanged for another.
func (s *Sim) tokenRevoke(w http.ResponseWriter, r *http.Request, auth *Token) {
	sub := s.subjectToken(w, r, auth, false, "identity:revoke_token")
	if sub == nil {
		return
	}
	s.mutate(func() { delete(s.state.Tokens, sub.ID) })
	w.WriteHeader(http.StatusNoContent)
}

// RevokeUserTokens revokes every token of a user, as disabling the user
// or changing its password does in Keystone; it returns how many.
func (s *Sim) RevokeUserTokens(userID string) int {
	n := 0
	s.mutate(func() {
		for id, t := range s.state.Tokens {
			if t.UserID == userID {
				delete(s.state.Tokens, id)
				n++
			}
		}
	})
	return n
}

func (s *Sim) tokenBody(r *http.Request, t *Token, u *User, withCatalog bool) M {
	domain := M{"id": u.DomainID, "name": u.DomainName}
	roles := []M{}
	for _, name := range s.rolesOn(u, t.ProjectID) {
		roles = append(roles, M{"id": stableID("role", name), "name": name})
	}
	body := M{
		"methods":    t.Methods,
		"expires_at": t.ExpiresAt.Format("2006-01-02T15:04:05.000000Z"),
		"issued_at":  t.IssuedAt.Format("2006-01-02T15:04:05.000000Z"),
		"user":       M{"id": u.ID, "name": u.Name, "domain": domain, "password_expires_at": nil},
		"audit_ids":  []string{t.ID[len(t.ID)-22:]},
		"is_domain":  false,
	}
	if t.ProjectID != "" {
		p := s.projectByID(t.ProjectID)
		if p.DomainID == "" {
			p.DomainID, p.DomainName = u.DomainID, u.DomainName
		}
		body["roles"] = roles
		body["project"] = M{"id": p.ID, "name": p.Name, "domain": M{"id": p.DomainID, "name": p.DomainName}}
		if withCatalog {
			body["catalog"] = s.catalog(r, t.ProjectID)
		}
	}
	if t.AppCredID != "" {
		body["application_credential"] = M{"id": t.AppCredID, "restricted": true}
	}
	return M{"token": body}
}

// domainIDByName maps a domain name to its ID ("" when no user is in it).
func (s *Sim) domainIDByName(name string) string {
	for _, u := range s.users {
		if u.DomainName == name {
			return u.DomainID
		}
	}
	return ""
}

// subjectToken is the X-Subject-Token a validation or revocation is
// about, or nil after answering as Keystone does: 404 for an unknown,
// expired or revoked token (TokenNotFound quotes it), 403 when the caller
// may not inspect it under policy rule (service callers only if
// allowService).
func (s *Sim) subjectToken(w http.ResponseWriter, r *http.Request, auth *Token, allowService bool, rule string) *Token {
	subID := r.Header.Get("X-Subject-Token")
	sub := s.lookupToken(subID)
	if sub == nil {
		s.fail(w, svcKeystone, http.StatusNotFound, "Could not find token: "+subID+".")
		return nil
	}
	if !s.mayInspect(auth, sub, allowService) {
		s.fail(w, svcKeystone, http.StatusForbidden, "You are not authorized to perform the requested action: "+rule+".")
		return nil
	}
	return sub
}
