package keystoneauth

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// tokenRef names a token in logs and metrics without revealing it: the
// first 12 hex digits of its SHA-256, enough to correlate log lines.
func tokenRef(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:6])
}

// redact removes every occurrence of the secrets from s; Keystone's error
// bodies quote the token they could not find.
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
	}
	return s
}
