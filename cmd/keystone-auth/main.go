// Command keystone-auth is the Kubernetes authentication and authorization
// webhook for OpenStack Keystone (k8s-keystone-auth's role): the API
// server sends it TokenReviews (--authentication-token-webhook-config-file)
// and SubjectAccessReviews (--authorization-webhook-config-file). See
// docs/keystone.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/keystoneauth"
	"github.com/kumo-project/kumo/pkg/logflags"
	"github.com/kumo-project/kumo/pkg/version"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		klog.Background().Error(err, "keystone-auth failed")
		klog.Flush()
		os.Exit(1)
	}
}

type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint(*l) }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func run(args []string) error {
	var c keystoneauth.Config
	fs := flag.NewFlagSet("keystone-auth", flag.ContinueOnError)
	logs := logflags.Add(fs)
	fs.StringVar(&c.Listen, "listen", ":8443", "address to serve the webhook on")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", "", "serving certificate (PEM); re-read when it changes")
	fs.StringVar(&c.TLSKeyFile, "tls-private-key-file", "", "serving key (PEM)")
	fs.BoolVar(&c.InsecureHTTP, "insecure-http", false, "serve plain HTTP (only behind a TLS-terminating proxy or for tests: tokens cross this connection)")
	fs.Var((*listFlag)(&c.CloudConfig), "cloud-config", "cloud.conf with the [Global] service credentials used to validate tokens (repeatable; later files override)")
	fs.StringVar(&c.Cloud, "cloud", "", "use the [Global \"NAME\"] section instead of [Global]")
	fs.StringVar(&c.PolicyFile, "policy-file", "", "policy JSON file (e.g. a mounted ConfigMap); re-read every --policy-file-interval")
	fs.DurationVar(&c.PolicyFileInterval, "policy-file-interval", 10*time.Second, "how often --policy-file is re-read")
	fs.StringVar(&c.PolicyConfigMap, "policy-configmap-name", "", "ConfigMap whose \"policies\" key holds the policy, watched for changes")
	fs.StringVar(&c.PolicyNamespace, "policy-configmap-namespace", "kube-system", "namespace of --policy-configmap-name")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig for watching the policy ConfigMap (default: in-cluster)")
	fs.StringVar(&c.SyncConfigFile, "sync-config-file", "", "YAML: create a namespace per Keystone project and RoleBindings per role on login (docs/keystone.md)")
	fs.DurationVar(&c.CacheTTL, "token-cache-ttl", 2*time.Minute, "how long a valid token is trusted without asking Keystone (bounded by its expiry; a revoked token is refused at most this long after revocation; 0 disables)")
	fs.DurationVar(&c.NegativeCacheTTL, "negative-cache-ttl", 10*time.Second, "how long an invalid token's refusal is remembered (0 disables)")
	fs.IntVar(&c.CacheMaxEntries, "token-cache-max-entries", 10000, "most tokens cached at once")
	fs.DurationVar(&c.KeystoneTimeout, "keystone-timeout", 10*time.Second, "timeout of one Keystone token validation")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := logs.Apply(fs); err != nil {
		return err
	}
	if *showVersion {
		fmt.Println(version.Version)
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx = klog.NewContext(ctx, klog.Background().WithName("keystone-auth"))
	return keystoneauth.Run(ctx, c)
}
