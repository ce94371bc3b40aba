package keystoneauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	"k8s.io/klog/v2"
)

// TokenReview API versions the API server may send
// (--authentication-token-webhook-version); both share one wire shape.
var tokenReviewVersions = []string{"authentication.k8s.io/v1", "authentication.k8s.io/v1beta1"}

// Authenticator answers TokenReviews from Keystone.
type Authenticator struct {
	Validator Validator
	Cache     *Cache // nil: every review asks Keystone
	Metrics   *Metrics
	// Timeout bounds one Keystone validation; 0 means 10s.
	Timeout time.Duration
	// Syncer, if set, runs after each Keystone validation (not on cache
	// hits); its failure fails the review and is not cached.
	Syncer *Syncer
}

// Review authenticates one token. A definite "invalid" and Keystone
// trouble both authenticate nobody; the latter also sets status.error so
// the API server logs why.
func (a *Authenticator) Review(ctx context.Context, token string) authnv1.TokenReviewStatus {
	logger := klog.FromContext(ctx).WithValues("token", tokenRef(token))
	if token == "" {
		a.Metrics.review("rejected")
		return authnv1.TokenReviewStatus{Error: "spec.token is empty"}
	}
	fetch := func(ctx context.Context) (*Identity, error) {
		timeout := a.Timeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		id, err := a.Validator.Validate(ctx, token)
		if err != nil || a.Syncer == nil || id.check() != nil {
			return id, err
		}
		if err := a.Syncer.Sync(ctx, id); err != nil {
			return nil, fmt.Errorf("syncing the Keystone project to Kubernetes failed: %w", err)
		}
		return id, nil
	}
	var id *Identity
	var hit bool
	var err error
	if a.Cache != nil {
		id, hit, err = a.Cache.Get(ctx, token, fetch)
		a.Metrics.cache(hit)
	} else {
		id, err = fetch(ctx)
	}
	if err == nil {
		err = id.check()
		if err != nil {
			logger.Info("Keystone identity refused", "user", id.UserName, "userID", id.UserID, "reason", err.Error())
			a.Metrics.review("rejected")
			return authnv1.TokenReviewStatus{Error: err.Error()}
		}
	}
	switch {
	case errors.Is(err, ErrTokenInvalid):
		logger.V(2).Info("Token refused by Keystone", "cached", hit)
		a.Metrics.review("rejected")
		return authnv1.TokenReviewStatus{Error: ErrTokenInvalid.Error()}
	case err != nil:
		msg := redact(err.Error(), token)
		logger.Error(nil, "Keystone token validation failed", "err", msg)
		a.Metrics.review("error")
		return authnv1.TokenReviewStatus{Error: msg}
	}
	logger.V(2).Info("Token authenticated", "user", id.UserName, "userID", id.UserID,
		"project", id.ProjectName, "projectID", id.ProjectID, "roles", id.Roles, "cached", hit)
	a.Metrics.review("authenticated")
	return authnv1.TokenReviewStatus{Authenticated: true, User: id.UserInfo()}
}

// serve answers a read TokenReview: 200 with its status when well formed.
func (a *Authenticator) serve(ctx context.Context, data []byte, tm typeMeta) (any, error) {
	review, err := parseTokenReview(data, tm)
	if err != nil {
		return nil, err
	}
	review.Status = a.Review(ctx, review.Spec.Token)
	review.Spec = authnv1.TokenReviewSpec{} // never echo the token
	return review, nil
}

func parseTokenReview(data []byte, tm typeMeta) (*authnv1.TokenReview, error) {
	if tm.Kind != "TokenReview" {
		return nil, badReview("kind %q: want TokenReview", tm.Kind)
	}
	if !oneOf(tm.APIVersion, tokenReviewVersions) {
		return nil, badReview("apiVersion %q: want one of %v", tm.APIVersion, tokenReviewVersions)
	}
	var review authnv1.TokenReview
	if err := json.Unmarshal(data, &review); err != nil {
		return nil, badReview("TokenReview: %v", err)
	}
	return &review, nil
}

func oneOf(s string, list []string) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}
