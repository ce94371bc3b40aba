// Package execcred is client-keystone-auth: a kubectl exec credential
// plugin (client.authentication.k8s.io/v1) that logs in to Keystone with a
// password or an application credential and caches the token until
// shortly before it expires.
package execcred

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

// Options say how to log in. Secrets come from the environment or a
// prompt, never from flags (they would show in ps).
type Options struct {
	AuthURL string
	CACert  string // PEM bundle for Keystone's TLS

	UserID, Username             string
	UserDomainID, UserDomainName string
	Password                     string

	ProjectID, ProjectName             string
	ProjectDomainID, ProjectDomainName string

	AppCredID, AppCredName, AppCredSecret string

	CacheDir string // "" disables the cache
}

// FromEnv reads the OpenStack RC variables (OS_*), as `openstack` does.
func FromEnv(getenv func(string) string) Options {
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := getenv(k); v != "" {
				return v
			}
		}
		return ""
	}
	return Options{
		AuthURL:           getenv("OS_AUTH_URL"),
		CACert:            getenv("OS_CACERT"),
		UserID:            getenv("OS_USER_ID"),
		Username:          getenv("OS_USERNAME"),
		UserDomainID:      first("OS_USER_DOMAIN_ID", "OS_DOMAIN_ID"),
		UserDomainName:    first("OS_USER_DOMAIN_NAME", "OS_DOMAIN_NAME"),
		Password:          getenv("OS_PASSWORD"),
		ProjectID:         first("OS_PROJECT_ID", "OS_TENANT_ID"),
		ProjectName:       first("OS_PROJECT_NAME", "OS_TENANT_NAME"),
		ProjectDomainID:   first("OS_PROJECT_DOMAIN_ID", "OS_DOMAIN_ID"),
		ProjectDomainName: first("OS_PROJECT_DOMAIN_NAME", "OS_DOMAIN_NAME"),
		AppCredID:         getenv("OS_APPLICATION_CREDENTIAL_ID"),
		AppCredName:       getenv("OS_APPLICATION_CREDENTIAL_NAME"),
		AppCredSecret:     getenv("OS_APPLICATION_CREDENTIAL_SECRET"),
	}
}

// usesAppCred tells whether the options log in with an application
// credential rather than a password.
func (o *Options) usesAppCred() bool { return o.AppCredID != "" || o.AppCredName != "" }

// needsPassword tells whether a password must still be asked for.
func (o *Options) needsPassword() bool { return !o.usesAppCred() && o.Password == "" }

// Check refuses incomplete options, naming the variable or flag.
func (o *Options) Check() error {
	switch {
	case o.AuthURL == "":
		return errors.New("no Keystone URL: set OS_AUTH_URL or --keystone-url")
	case !strings.HasPrefix(o.AuthURL, "https://") && !strings.HasPrefix(o.AuthURL, "http://"):
		return fmt.Errorf("OS_AUTH_URL/--keystone-url %q is not an http(s) URL", o.AuthURL)
	case o.usesAppCred() && o.AppCredSecret == "":
		return errors.New("application credential without secret: set OS_APPLICATION_CREDENTIAL_SECRET")
	case o.AppCredName != "" && o.AppCredID == "" && o.UserID == "" && o.Username == "":
		return errors.New("an application credential by name needs its user: set OS_USER_ID or OS_USERNAME")
	case !o.usesAppCred() && o.UserID == "" && o.Username == "":
		return errors.New("no user: set OS_USERNAME (or OS_USER_ID), or an application credential (OS_APPLICATION_CREDENTIAL_ID)")
	case !o.usesAppCred() && o.UserID == "" && o.UserDomainID == "" && o.UserDomainName == "":
		return errors.New("OS_USERNAME needs its domain: set OS_USER_DOMAIN_NAME (e.g. Default) or OS_USER_DOMAIN_ID")
	case !o.usesAppCred() && o.ProjectID == "" && o.ProjectName == "":
		return errors.New("no project: set OS_PROJECT_NAME or OS_PROJECT_ID (Kubernetes access is per project)")
	case o.ProjectID == "" && o.ProjectName != "" && o.ProjectDomainID == "" && o.ProjectDomainName == "":
		return errors.New("OS_PROJECT_NAME needs its domain: set OS_PROJECT_DOMAIN_NAME (e.g. Default) or OS_PROJECT_DOMAIN_ID")
	}
	return nil
}

// authOptions is the Keystone request; application credentials carry
// their own project.
func (o *Options) authOptions() *tokens.AuthOptions {
	ao := &tokens.AuthOptions{UserID: o.UserID, Username: o.Username, DomainID: o.UserDomainID, DomainName: o.UserDomainName}
	if o.UserID != "" {
		ao.DomainID, ao.DomainName = "", ""
	} else if ao.DomainID != "" {
		ao.DomainName = ""
	}
	if o.usesAppCred() {
		ao.ApplicationCredentialID, ao.ApplicationCredentialName, ao.ApplicationCredentialSecret = o.AppCredID, o.AppCredName, o.AppCredSecret
		if o.AppCredID != "" {
			ao.UserID, ao.Username, ao.DomainID, ao.DomainName = "", "", "", ""
		}
		return ao
	}
	ao.Password = o.Password
	switch {
	case o.ProjectID != "":
		ao.Scope = tokens.Scope{ProjectID: o.ProjectID}
	case o.ProjectDomainID != "":
		ao.Scope = tokens.Scope{ProjectName: o.ProjectName, DomainID: o.ProjectDomainID}
	default:
		ao.Scope = tokens.Scope{ProjectName: o.ProjectName, DomainName: o.ProjectDomainName}
	}
	return ao
}

// cacheKey identifies whose token a cache file holds (not the secret).
func (o *Options) cacheKey() string {
	return strings.Join([]string{o.AuthURL, o.UserID, o.Username, o.UserDomainID, o.UserDomainName,
		o.ProjectID, o.ProjectName, o.ProjectDomainID, o.ProjectDomainName, o.AppCredID, o.AppCredName}, "\x00")
}
