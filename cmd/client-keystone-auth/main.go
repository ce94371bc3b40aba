// Command client-keystone-auth is a kubectl exec credential plugin for
// OpenStack Keystone: it logs in with the OS_* variables (password or
// application credential, prompting for a missing password when kubectl
// allows), prints a client.authentication.k8s.io ExecCredential and caches
// the token until shortly before it expires. See docs/keystone.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"golang.org/x/term"

	"github.com/kumo-project/kumo/pkg/keystoneauth/execcred"
	"github.com/kumo-project/kumo/pkg/version"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "client-keystone-auth:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	o := execcred.FromEnv(os.Getenv)
	fs := flag.NewFlagSet("client-keystone-auth", flag.ContinueOnError)
	set := func(dst *string, name, usage string) { fs.StringVar(dst, name, *dst, usage) }
	set(&o.AuthURL, "keystone-url", "Keystone URL, e.g. https://keystone:5000/v3 (default $OS_AUTH_URL)")
	set(&o.Username, "user-name", "user name (default $OS_USERNAME)")
	set(&o.UserID, "user-id", "user ID (default $OS_USER_ID)")
	set(&o.UserDomainName, "domain-name", "the user's domain name (default $OS_USER_DOMAIN_NAME)")
	set(&o.UserDomainID, "domain-id", "the user's domain ID (default $OS_USER_DOMAIN_ID)")
	set(&o.ProjectName, "project-name", "project to log in to (default $OS_PROJECT_NAME)")
	set(&o.ProjectID, "project-id", "project ID to log in to (default $OS_PROJECT_ID)")
	set(&o.ProjectDomainName, "project-domain-name", "the project's domain name (default $OS_PROJECT_DOMAIN_NAME)")
	set(&o.ProjectDomainID, "project-domain-id", "the project's domain ID (default $OS_PROJECT_DOMAIN_ID)")
	set(&o.AppCredID, "application-credential-id", "application credential ID (default $OS_APPLICATION_CREDENTIAL_ID; its secret only from $OS_APPLICATION_CREDENTIAL_SECRET)")
	set(&o.AppCredName, "application-credential-name", "application credential name (default $OS_APPLICATION_CREDENTIAL_NAME)")
	set(&o.CACert, "cacert", "CA bundle for Keystone's TLS (default $OS_CACERT)")
	cacheDir := defaultCacheDir()
	fs.StringVar(&cacheDir, "cache-dir", cacheDir, "directory of cached tokens (owner-only files)")
	noCache := fs.Bool("no-cache", false, "always log in anew; cache nothing")
	logout := fs.Bool("logout", false, "revoke the cached token at Keystone and forget it")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Println(version.Version)
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v (passwords are read from $OS_PASSWORD or a prompt, never flags)", fs.Args())
	}
	if !*noCache {
		o.CacheDir = cacheDir
	}
	fd := int(os.Stdin.Fd())
	p := &execcred.Plugin{
		Options:         o,
		ExecInfo:        os.Getenv("KUBERNETES_EXEC_INFO"),
		StdinIsTerminal: term.IsTerminal(fd),
		ReadPassword:    func() (string, error) { b, err := term.ReadPassword(fd); return string(b), err },
		Prompt:          os.Stderr,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *logout {
		return p.Logout(ctx)
	}
	return p.Run(ctx, os.Stdout)
}

// defaultCacheDir is beside kubectl's own caches.
func defaultCacheDir() string {
	if d, err := os.UserHomeDir(); err == nil {
		return filepath.Join(d, ".kube", "cache", "kumo-keystone")
	}
	return ""
}
