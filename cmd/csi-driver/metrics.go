package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
)

// httpOptions configure the /metrics and /healthz endpoint.
type httpOptions struct {
	addr     string // --http-endpoint
	certFile string // --http-tls-cert-file; with keyFile, serve HTTPS
	keyFile  string // --http-tls-key-file
}

// tlsConfig serves the certificate pair, reloaded whenever the
// certificate file's modification time changes (a renewed Secret).
func (o httpOptions) tlsConfig() (*tls.Config, error) {
	if (o.certFile == "") != (o.keyFile == "") {
		return nil, errors.New("--http-tls-cert-file and --http-tls-key-file must be set together")
	}
	if o.certFile == "" {
		return nil, nil
	}
	r := &certReloader{certFile: o.certFile, keyFile: o.keyFile}
	if _, err := r.get(nil); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get}, nil
}

// certReloader holds the last good certificate and reloads it when the
// certificate file changes; a failed reload keeps serving the old one.
type certReloader struct {
	certFile, keyFile string

	mu   sync.Mutex
	mod  time.Time
	cert *tls.Certificate
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := os.Stat(r.certFile)
	if err == nil && (r.cert == nil || !st.ModTime().Equal(r.mod)) {
		var c tls.Certificate
		if c, err = tls.LoadX509KeyPair(r.certFile, r.keyFile); err == nil {
			r.cert, r.mod = &c, st.ModTime()
		}
	}
	if r.cert == nil {
		return nil, fmt.Errorf("metrics TLS certificate: %w", err)
	}
	return r.cert, nil
}

// serveHTTP listens on o.addr (HTTPS when a certificate is given) and
// serves /metrics from reg and /healthz until the server is closed. It
// returns once the listener is bound, so a bad address or certificate is
// a startup error.
func serveHTTP(ctx context.Context, o httpOptions, reg *prometheus.Registry) (*http.Server, net.Addr, error) {
	tlsCfg, err := o.tlsConfig()
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	srv := &http.Server{Addr: o.addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsCfg}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--http-endpoint: %w", err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.FromContext(ctx).Error(err, "metrics endpoint stopped", "addr", o.addr)
		}
	}()
	return srv, ln.Addr(), nil
}
