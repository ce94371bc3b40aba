package keystoneauth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a serving pair for 127.0.0.1 and returns its pool.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "keystone-auth"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestRunServesBothWebhooksOverTLS(t *testing.T) {
	w := newWorld(t, CacheOptions{}) // for the cloud and logins only
	dir := t.TempDir()
	conf := filepath.Join(dir, "cloud.conf")
	_ = os.WriteFile(conf, []byte(fmt.Sprintf("[Global]\nauth-url=%s/identity/v3\nusername=k8s-keystone-auth\npassword=svc-pass\nproject-name=service\ndomain-name=Default\n", w.cloud.URL)), 0o600)
	policy := filepath.Join(dir, "policies")
	_ = os.WriteFile(policy, []byte(tenantPolicy), 0o600)
	certFile, keyFile, pool := selfSigned(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Listener: ln, TLSCertFile: certFile, TLSKeyFile: keyFile, CloudConfig: []string{conf},
			PolicyFile: policy, PolicyFileInterval: time.Second, CacheTTL: time.Minute, NegativeCacheTTL: time.Second})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	base := "https://" + ln.Addr().String()
	waitFor(t, func() bool {
		resp, err := hc.Get(base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	post := func(body any, out any) {
		data, _ := json.Marshal(body)
		resp, err := hc.Post(base+"/webhook", "application/json", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	var user reviewAnswer
	post(tokenReview(w.login(t, "alice", "alice-pass", "")), &user)
	if !user.Status.Authenticated || user.Status.User.Username != "alice" {
		t.Fatalf("TokenReview: %+v", user.Status)
	}
	var in, out sarAnswer
	post(sar(user, "list", "ns-a", "pods"), &in)
	post(sar(user, "list", "ns-b", "pods"), &out)
	if !in.Status.Allowed || out.Status.Allowed || !out.Status.Denied {
		t.Fatalf("ns-a %+v, ns-b %+v", in.Status, out.Status)
	}
}

func TestConfigCheckNamesTheFlag(t *testing.T) {
	ok := Config{CloudConfig: []string{"c"}, PolicyFile: "p", PolicyFileInterval: time.Second, InsecureHTTP: true}
	for want, mutate := range map[string]func(c *Config){
		"--cloud-config is required": func(c *Config) { c.CloudConfig = nil },
		"no policy":                  func(c *Config) { c.PolicyFile = "" },
		"are exclusive: give one":    func(c *Config) { c.PolicyConfigMap = "cm" },
		"--tls-cert-file and":        func(c *Config) { c.InsecureHTTP = false },
		"--insecure-http and":        func(c *Config) { c.TLSCertFile = "x" },
		"--token-cache-ttl":          func(c *Config) { c.CacheTTL = -1 },
		"--policy-file-interval":     func(c *Config) { c.PolicyFileInterval = 0 },
	} {
		c := ok
		mutate(&c)
		if err := c.Check(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), Config{CloudConfig: []string{"/nonexistent"}, PolicyFile: "p", PolicyFileInterval: time.Second, InsecureHTTP: true}); err == nil || !strings.Contains(err.Error(), "cloud config") {
		t.Errorf("missing cloud.conf: %v", err)
	}
}
