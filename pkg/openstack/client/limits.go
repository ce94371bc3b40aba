package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DefaultMaxBodyBytes caps an OpenStack response body. Large Nova/Neutron
// list pages (1000 ports with fixed IPs) are ~2-3 MiB; 8 MiB leaves room
// and keeps a hostile 100 MB answer from being buffered.
const DefaultMaxBodyBytes = 8 << 20

// maxErrorExcerpt caps the error body gophercloud embeds in Error().
const maxErrorExcerpt = 512

// redactedMarker replaces a secret found in a response body.
const redactedMarker = "[REDACTED]"

// ErrBodyTooLarge is returned by a response body read past the cap.
type ErrBodyTooLarge struct{ Limit int64 }

func (e *ErrBodyTooLarge) Error() string {
	return fmt.Sprintf("openstack: response body exceeds %d bytes", e.Limit)
}

// limitedBody errors (instead of silently truncating) once more than
// limit bytes are read.
type limitedBody struct {
	rc    io.ReadCloser
	left  int64
	limit int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, &ErrBodyTooLarge{Limit: b.limit}
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n + int(b.left), &ErrBodyTooLarge{Limit: b.limit}
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// secretsOf lists the secrets a response might echo: the configured ones
// plus the tokens of this exchange — the caller's, the one Keystone
// issued, and the one a validation asked about (Keystone's 404 for GET
// /v3/auth/tokens quotes the X-Subject-Token it could not find).
func (t *Transport) secretsOf(req *http.Request, resp *http.Response) []string {
	s := append([]string(nil), t.Secrets...)
	s = append(s, req.Header.Get("X-Auth-Token"), req.Header.Get("X-Subject-Token"), resp.Header.Get("X-Subject-Token"))
	return s
}

// redact replaces every non-trivial secret in b by the marker, also in
// its JSON-escaped form.
func redact(b []byte, secrets []string) []byte {
	for _, s := range secrets {
		if len(s) < 4 {
			continue // too short to redact without mangling the text
		}
		b = bytes.ReplaceAll(b, []byte(s), []byte(redactedMarker))
		if q := strings.Trim(fmt.Sprintf("%q", s), `"`); q != s {
			b = bytes.ReplaceAll(b, []byte(q), []byte(redactedMarker))
		}
	}
	return b
}

// scrubErrorBody replaces an error answer's body with a short, redacted
// excerpt, so gophercloud's ErrUnexpectedResponseCode (which prints the
// body) can never carry a password or token into logs, gRPC errors or
// Events.
func (t *Transport) scrubErrorBody(req *http.Request, resp *http.Response) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close() // only the excerpt is kept
	if err != nil && !errors.Is(err, io.EOF) {
		raw = append(raw, "[body read error]"...)
	}
	// Redact before cutting, so a secret straddling the cut is still found.
	raw = redact(raw, t.secretsOf(req, resp))
	if len(raw) > maxErrorExcerpt {
		raw = append(raw[:maxErrorExcerpt:maxErrorExcerpt], "…[truncated]"...)
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	resp.ContentLength = int64(len(raw))
	resp.Header.Del("Content-Length")
}

// checkRedirect refuses redirects to another scheme/host/port and never
// forwards a token on a redirect.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("openstack: stopped after 5 redirects")
	}
	orig := via[0].URL
	if !strings.EqualFold(req.URL.Scheme, orig.Scheme) || !strings.EqualFold(hostPort(req.URL), hostPort(orig)) {
		return fmt.Errorf("openstack: refusing redirect from %s://%s to a different host %s://%s", orig.Scheme, orig.Host, req.URL.Scheme, req.URL.Host)
	}
	req.Header.Del("X-Auth-Token")
	return nil
}

func hostPort(u *url.URL) string {
	p := u.Port()
	if p == "" {
		p = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Hostname()) + ":" + p
}

// checkPath refuses dot-dot segments (plain or percent-encoded) and
// encoded slashes that an ID could smuggle into a URL path.
func checkPath(u *url.URL) error {
	raw := u.EscapedPath()
	l := strings.ToLower(raw)
	if strings.Contains(l, "%2f") || strings.Contains(l, "%5c") {
		return fmt.Errorf("openstack: refusing request path with an encoded slash")
	}
	for _, seg := range strings.Split(l, "/") {
		seg = strings.ReplaceAll(seg, "%2e", ".")
		if seg == ".." || seg == "." {
			return fmt.Errorf("openstack: refusing request path with a dot segment")
		}
	}
	return nil
}
