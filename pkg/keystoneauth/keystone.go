package keystoneauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// Validator checks a token with Keystone.
type Validator interface {
	Validate(ctx context.Context, token string) (*Identity, error)
}

// Keystone validates tokens with GET /v3/auth/tokens, authenticated as the
// webhook's service user (X-Auth-Token) and naming the user's token in
// X-Subject-Token. The service user needs Keystone's admin or service
// role (identity:validate_token).
type Keystone struct {
	client *gophercloud.ServiceClient
	// observe, if set, receives the duration and HTTP status of each call
	// (0 when no answer came).
	observe func(d time.Duration, code int)
}

// NewKeystone wraps an identity v3 service client.
func NewKeystone(sc *gophercloud.ServiceClient) *Keystone { return &Keystone{client: sc} }

// DialKeystone authenticates with the [Global] credentials of a
// cloud.conf (pkg/openstack/client: retries, rate limit, TLS settings,
// re-authentication) and returns a validator on its identity endpoint.
func DialKeystone(ctx context.Context, cfg *config.Config, opts client.Options) (*Keystone, error) {
	opts.Services = []client.Service{} // Keystone only; no catalog lookups
	c, err := client.New(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	sc, err := openstack.NewIdentityV3(c.Provider, gophercloud.EndpointOpts{})
	if err != nil {
		return nil, fmt.Errorf("keystone identity client: %w", err)
	}
	return NewKeystone(sc), nil
}

// Validate returns the token's identity, ErrTokenInvalid when Keystone
// does not know the token (any more), or another error, never quoting
// the token.
func (k *Keystone) Validate(ctx context.Context, token string) (*Identity, error) {
	if token == "" {
		return nil, ErrTokenInvalid
	}
	var res tokens.GetResult
	start := time.Now()
	// ?nocatalog: the catalog is large and of no use here
	resp, err := k.client.Get(ctx, k.client.ServiceURL("auth", "tokens")+"?nocatalog", &res.Body, &gophercloud.RequestOpts{
		MoreHeaders: map[string]string{"X-Subject-Token": token},
		OkCodes:     []int{http.StatusOK},
	})
	code := 0
	if resp != nil {
		code = resp.StatusCode
	}
	var ue gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ue) {
		code = ue.Actual
	}
	if k.observe != nil {
		k.observe(time.Since(start), code)
	}
	switch {
	case code == http.StatusNotFound:
		return nil, ErrTokenInvalid
	case err != nil && code != 0:
		// the body may quote the token: report the status only
		return nil, fmt.Errorf("keystone token validation answered HTTP %d (check the webhook's service credentials and their admin or service role)", code)
	case err != nil:
		return nil, fmt.Errorf("keystone token validation failed: %s", redact(err.Error(), token))
	}
	res.Header = resp.Header
	return identityOf(&res)
}

func identityOf(res *tokens.GetResult) (*Identity, error) {
	tok, err := res.ExtractToken()
	if err != nil {
		return nil, fmt.Errorf("keystone token body: %w", err)
	}
	user, err := res.ExtractUser()
	if err != nil {
		return nil, fmt.Errorf("keystone token user: %w", err)
	}
	id := &Identity{UserID: user.ID, UserName: user.Name, UserDomainID: user.Domain.ID,
		UserDomainName: user.Domain.Name, ExpiresAt: tok.ExpiresAt}
	if p, err := res.ExtractProject(); err == nil && p != nil {
		id.ProjectID, id.ProjectName = p.ID, p.Name
	}
	roles, err := res.ExtractRoles()
	if err != nil {
		return nil, fmt.Errorf("keystone token roles: %w", err)
	}
	for _, r := range roles {
		id.Roles = append(id.Roles, r.Name)
	}
	return id, nil
}
