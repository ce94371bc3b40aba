package keystoneauth

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// CertReloader serves the key pair on disk, re-reading it when the
// certificate file changes (cert-manager or kubelet rotating a Secret).
type CertReloader struct {
	certFile, keyFile string
	mu                sync.Mutex
	cert              *tls.Certificate
	modTime           time.Time
}

// NewCertReloader loads the pair once, failing early on a bad one.
func NewCertReloader(certFile, keyFile string) (*CertReloader, error) {
	r := &CertReloader{certFile: certFile, keyFile: keyFile}
	if _, err := r.GetCertificate(nil); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	st, err := os.Stat(r.certFile)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil && r.cert != nil && st.ModTime().Equal(r.modTime) {
		return r.cert, nil
	}
	cert, lerr := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if lerr != nil {
		if r.cert != nil {
			return r.cert, nil // mid-rotation: keep serving the old pair
		}
		return nil, fmt.Errorf("--tls-cert-file/--tls-private-key-file: %w", lerr)
	}
	r.cert = &cert
	if err == nil {
		r.modTime = st.ModTime()
	}
	return r.cert, nil
}
