package execcred

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
)

// ExecCredential API versions kubectl may ask for (the kubeconfig's
// exec.apiVersion, passed in KUBERNETES_EXEC_INFO).
var apiVersions = []string{"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"}

// renewBefore: a cached token this close to expiry is replaced, so it
// cannot expire between kubectl reading it and the API server checking it.
const renewBefore = time.Minute

// Plugin runs one exec-credential request.
type Plugin struct {
	Options Options
	// ExecInfo is $KUBERNETES_EXEC_INFO ("" when run by hand).
	ExecInfo string
	// Stdin is a terminal that may be prompted (kubectl passes it when
	// spec.interactive is true); ReadPassword reads from it without echo.
	StdinIsTerminal bool
	ReadPassword    func() (string, error)
	Prompt          io.Writer // where the prompt goes (stderr)
	Now             func() time.Time
}

// Run writes an ExecCredential with a Keystone token to out.
func (p *Plugin) Run(ctx context.Context, out io.Writer) error {
	apiVersion, interactive, err := p.execInfo()
	if err != nil {
		return err
	}
	o := p.Options
	if err := o.Check(); err != nil {
		return err
	}
	now := p.now()
	if o.CacheDir != "" {
		if c := readCache(o.CacheDir, &o, now, renewBefore); c != nil {
			return writeCredential(out, apiVersion, c.Token, c.ExpiresAt)
		}
	}
	if o.needsPassword() {
		if !interactive || p.ReadPassword == nil {
			return errors.New("no password: set OS_PASSWORD, use an application credential, or set interactiveMode: IfAvailable in the kubeconfig's exec section to be prompted")
		}
		_, _ = fmt.Fprintf(p.Prompt, "Keystone password for %s at %s: ", firstOf(o.Username, o.UserID), o.AuthURL)
		pw, err := p.ReadPassword()
		_, _ = fmt.Fprintln(p.Prompt)
		if err != nil {
			return fmt.Errorf("reading the password: %w", err)
		}
		o.Password = pw
	}
	token, expires, err := login(ctx, &o)
	if err != nil {
		return err
	}
	if o.CacheDir != "" {
		if err := writeCache(o.CacheDir, &o, cachedToken{Token: token, ExpiresAt: expires}); err != nil {
			_, _ = fmt.Fprintf(p.Prompt, "client-keystone-auth: warning: %v\n", err)
		}
	}
	return writeCredential(out, apiVersion, token, expires)
}

// Logout revokes the cached token at Keystone and forgets it.
func (p *Plugin) Logout(ctx context.Context) error {
	o := p.Options
	if o.CacheDir == "" {
		return errors.New("--logout needs the token cache (--cache-dir)")
	}
	c := readCache(o.CacheDir, &o, p.now(), 0)
	if c != nil {
		sc, err := identityClient(&o)
		if err != nil {
			return err
		}
		sc.SetToken(c.Token)
		res := tokens.Revoke(ctx, sc, c.Token)
		if res.Err != nil && !gophercloud.ResponseCodeIs(res.Err, http.StatusNotFound) && !gophercloud.ResponseCodeIs(res.Err, http.StatusUnauthorized) {
			return fmt.Errorf("revoking the cached token: %s", keystoneErr(res.Err))
		}
	}
	return dropCache(o.CacheDir, &o)
}

func (p *Plugin) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// execInfo reads KUBERNETES_EXEC_INFO: the answer's apiVersion and whether
// stdin may be prompted. Run by hand, a terminal stdin may be.
func (p *Plugin) execInfo() (string, bool, error) {
	if p.ExecInfo == "" {
		return apiVersions[0], p.StdinIsTerminal, nil
	}
	var info clientauthv1.ExecCredential
	if err := json.Unmarshal([]byte(p.ExecInfo), &info); err != nil {
		return "", false, fmt.Errorf("KUBERNETES_EXEC_INFO is not an ExecCredential: %w", err)
	}
	if info.APIVersion != apiVersions[0] && info.APIVersion != apiVersions[1] {
		return "", false, fmt.Errorf("KUBERNETES_EXEC_INFO apiVersion %q: want one of %v (set exec.apiVersion in the kubeconfig)", info.APIVersion, apiVersions)
	}
	return info.APIVersion, info.Spec.Interactive && p.StdinIsTerminal, nil
}

func writeCredential(out io.Writer, apiVersion, token string, expires time.Time) error {
	ec := clientauthv1.ExecCredential{
		TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "ExecCredential"},
		Status:   &clientauthv1.ExecCredentialStatus{Token: token, ExpirationTimestamp: &metav1.Time{Time: expires}},
	}
	return json.NewEncoder(out).Encode(ec)
}

func identityClient(o *Options) (*gophercloud.ServiceClient, error) {
	pc, err := openstack.NewClient(o.AuthURL)
	if err != nil {
		return nil, fmt.Errorf("OS_AUTH_URL: %w", err)
	}
	if o.CACert != "" {
		pem, err := os.ReadFile(o.CACert)
		if err != nil {
			return nil, fmt.Errorf("OS_CACERT: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OS_CACERT %s holds no PEM certificate", o.CACert)
		}
		pc.HTTPClient.Transport = &http.Transport{Proxy: http.ProxyFromEnvironment,
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	pc.HTTPClient.Timeout = 30 * time.Second
	pc.UserAgent.Prepend("kumo-client-keystone-auth")
	return openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
}

// login asks Keystone for a token (POST /v3/auth/tokens).
func login(ctx context.Context, o *Options) (string, time.Time, error) {
	sc, err := identityClient(o)
	if err != nil {
		return "", time.Time{}, err
	}
	tok, err := tokens.Create(ctx, sc, o.authOptions()).ExtractToken()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("keystone login at %s: %s", o.AuthURL, keystoneErr(err))
	}
	return tok.ID, tok.ExpiresAt, nil
}

// keystoneErr describes a Keystone failure by status, leaving out bodies.
func keystoneErr(err error) string {
	var ue gophercloud.ErrUnexpectedResponseCode
	switch {
	case gophercloud.ResponseCodeIs(err, http.StatusUnauthorized):
		return "the credentials were refused (HTTP 401): check user, password or application credential, domain and project"
	case errors.As(err, &ue):
		return fmt.Sprintf("HTTP %d", ue.Actual)
	}
	return err.Error()
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
