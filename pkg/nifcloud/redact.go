package nifcloud

import (
	"bytes"
	"fmt"
	"io"
	"net/url"

	"github.com/kumo-project/kumo/pkg/nifcloud/signer"
)

// maxBodyBytes caps a response body: the largest realistic answer (a
// DescribeInstances of a few hundred servers) is well under 1 MiB.
const maxBodyBytes = 8 << 20

// redactMarker replaces credentials a server echoes back.
const redactMarker = "[REDACTED]"

// readCapped reads at most limit bytes and errors beyond, instead of
// silently decoding a truncated document.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("response body exceeds %d bytes", limit)
	}
	return b, nil
}

// redactBody removes this client's credentials and the request signature
// (raw and URL-encoded) from a body, so no error excerpt can carry them.
func redactBody(b []byte, signed url.Values, secretKey string) []byte {
	for _, s := range []string{signed.Get(signer.KeyAccessKeyID), signed.Get(signer.KeySignature), secretKey} {
		if len(s) < 4 {
			continue // too short to replace without mangling the text
		}
		b = bytes.ReplaceAll(b, []byte(s), []byte(redactMarker))
		if q := url.QueryEscape(s); q != s {
			b = bytes.ReplaceAll(b, []byte(q), []byte(redactMarker))
		}
	}
	// An echoed signed query keeps no "Signature=" either: log scanners
	// (and the e2e secrets scan) treat that pattern as a signed request.
	return bytes.ReplaceAll(b, []byte(signer.KeySignature+"="+redactMarker), []byte("[REDACTED SIGNATURE]"))
}
