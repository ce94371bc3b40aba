package keystoneauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/openstack/client"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// Config is the keystone-auth webhook's command line.
type Config struct {
	Listen       string
	Listener     net.Listener // tests: overrides Listen
	TLSCertFile  string
	TLSKeyFile   string
	InsecureHTTP bool // serve plain HTTP (tests, a TLS-terminating sidecar)

	CloudConfig []string
	Cloud       string

	PolicyFile         string
	PolicyFileInterval time.Duration
	PolicyConfigMap    string
	PolicyNamespace    string
	Kubeconfig         string

	SyncConfigFile string // projects → namespaces, roles → RoleBindings

	CacheTTL         time.Duration
	NegativeCacheTTL time.Duration
	CacheMaxEntries  int
	KeystoneTimeout  time.Duration
}

// Check validates the configuration; errors name the flag.
func (c *Config) Check() error {
	switch {
	case len(c.CloudConfig) == 0:
		return errors.New("--cloud-config is required: the webhook validates tokens with the [Global] credentials it holds")
	case c.PolicyFile != "" && c.PolicyConfigMap != "":
		return errors.New("--policy-file and --policy-configmap-name are exclusive: give one policy source")
	case c.PolicyFile == "" && c.PolicyConfigMap == "":
		return errors.New("no policy: give --policy-file or --policy-configmap-name (an empty list [] denies every Keystone user)")
	case c.InsecureHTTP && (c.TLSCertFile != "" || c.TLSKeyFile != ""):
		return errors.New("--insecure-http and --tls-cert-file/--tls-private-key-file are exclusive")
	case !c.InsecureHTTP && (c.TLSCertFile == "" || c.TLSKeyFile == ""):
		return errors.New("--tls-cert-file and --tls-private-key-file are required (the API server sends tokens here); --insecure-http serves plain HTTP")
	case c.CacheTTL < 0 || c.NegativeCacheTTL < 0:
		return errors.New("--token-cache-ttl and --negative-cache-ttl must not be negative")
	case c.PolicyFile != "" && c.PolicyFileInterval <= 0:
		return errors.New("--policy-file-interval must be positive")
	}
	return nil
}

// Run serves the webhook until ctx ends.
func Run(ctx context.Context, c Config) error {
	if err := c.Check(); err != nil {
		return err
	}
	logger := klog.FromContext(ctx)
	cfg, err := config.LoadFiles(config.Options{}, c.CloudConfig...)
	if err != nil {
		return err
	}
	metrics := NewMetrics()
	ks, err := DialKeystone(ctx, cfg, client.Options{Cloud: c.Cloud, UserAgent: "kumo-keystone-auth"})
	if err != nil {
		return err
	}
	ks.observe = metrics.observeKeystone
	authn := &Authenticator{Validator: ks, Metrics: metrics, Timeout: c.KeystoneTimeout,
		Cache: NewCache(CacheOptions{TTL: c.CacheTTL, NegativeTTL: c.NegativeCacheTTL, MaxEntries: c.CacheMaxEntries})}
	authz := &Authorizer{Metrics: metrics}
	loader := &PolicyLoader{Authorizer: authz}
	var cs kubernetes.Interface
	if c.PolicyConfigMap != "" || c.SyncConfigFile != "" {
		if cs, err = kubeClient(c.Kubeconfig); err != nil {
			return err
		}
	}
	if c.SyncConfigFile != "" {
		sc, err := LoadSyncConfig(c.SyncConfigFile)
		if err != nil {
			return err
		}
		authn.Syncer = &Syncer{Config: sc, Client: cs}
	}
	if c.PolicyFile != "" {
		if err := loader.LoadFile(ctx, c.PolicyFile); err != nil {
			return err
		}
		go loader.WatchFile(ctx, c.PolicyFile, c.PolicyFileInterval)
	} else if err := loader.WatchConfigMap(ctx, cs, c.PolicyNamespace, c.PolicyConfigMap); err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           (&Server{Authenticator: authn, Authorizer: authz, Metrics: metrics, Logger: logger}).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
	ln := c.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", c.Listen); err != nil {
			return fmt.Errorf("--listen: %w", err)
		}
	}
	if !c.InsecureHTTP {
		certs, err := NewCertReloader(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return err
		}
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate})
	}
	logger.Info("Serving the Keystone webhook", "address", ln.Addr().String(), "tls", !c.InsecureHTTP)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

func kubeClient(kubeconfig string) (kubernetes.Interface, error) {
	var rc *rest.Config
	var err error
	if kubeconfig != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for the policy ConfigMap and sync (--kubeconfig): %w", err)
	}
	rc.UserAgent = "kumo-keystone-auth"
	return kubernetes.NewForConfig(rc)
}
