package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and returns it.
func writeCert(t *testing.T, dir string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "kumo-csi-metrics"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func testRegistry(t *testing.T) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "kumo_test_total", Help: "test"})
	c.Inc()
	reg.MustRegister(c)
	return reg
}

// TestMetricsTLS: with --http-tls-cert-file/--http-tls-key-file the
// endpoint serves /metrics over HTTPS only (a plain HTTP request fails),
// and a renewed certificate is picked up without a restart.
func TestMetricsTLS(t *testing.T) {
	dir := t.TempDir()
	first := writeCert(t, dir, 1)
	srv, addr, err := serveHTTP(context.Background(), httpOptions{
		addr: "127.0.0.1:0", certFile: filepath.Join(dir, "tls.crt"), keyFile: filepath.Join(dir, "tls.key"),
	}, testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })

	get := func(ca *x509.Certificate, url string) (string, *x509.Certificate, error) {
		pool := x509.NewCertPool()
		pool.AddCert(ca)
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
		resp, err := c.Get(url)
		if err != nil {
			return "", nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", url, resp.Status)
		}
		return string(b), resp.TLS.PeerCertificates[0], err
	}
	body, peer, err := get(first, "https://"+addr.String()+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "kumo_test_total 1") || peer.SerialNumber.Int64() != 1 {
		t.Errorf("HTTPS /metrics: serial %v, body %q", peer.SerialNumber, body)
	}
	if _, _, err := get(first, "https://"+addr.String()+"/healthz"); err != nil {
		t.Errorf("HTTPS /healthz: %v", err)
	}
	// Plain HTTP gets no metrics.
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr.String() + "/metrics"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if strings.Contains(string(b), "kumo_test_total") {
			t.Errorf("plain HTTP served metrics: %q", b)
		}
	}

	// Renew: a new certificate (different mtime) is served on the next
	// handshake.
	second := writeCert(t, dir, 2)
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(dir, "tls.crt"), future, future); err != nil {
		t.Fatal(err)
	}
	if _, peer, err := get(second, "https://"+addr.String()+"/metrics"); err != nil || peer.SerialNumber.Int64() != 2 {
		t.Errorf("after renewal: serial %v, err %v; want the new certificate", peer, err)
	}
}

// TestMetricsTLSFlags: half a key pair or a bad address is a startup error.
func TestMetricsTLSFlags(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir, 1)
	for name, o := range map[string]httpOptions{
		"cert only":   {addr: "127.0.0.1:0", certFile: filepath.Join(dir, "tls.crt")},
		"key only":    {addr: "127.0.0.1:0", keyFile: filepath.Join(dir, "tls.key")},
		"missing key": {addr: "127.0.0.1:0", certFile: filepath.Join(dir, "tls.crt"), keyFile: filepath.Join(dir, "nope")},
		"bad address": {addr: "256.0.0.1:x"},
	} {
		if srv, _, err := serveHTTP(context.Background(), o, testRegistry(t)); err == nil {
			_ = srv.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}
