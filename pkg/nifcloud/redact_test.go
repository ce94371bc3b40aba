package nifcloud

import (
	"net/url"
	"strings"
	"testing"

	"github.com/kumo-project/kumo/pkg/nifcloud/signer"
)

// A server that echoes the signed request must not get the access key, the
// signature or the secret key (raw or URL-encoded) into an error excerpt.
func TestRedactBodyRemovesEchoedCredentials(t *testing.T) {
	signed := url.Values{signer.KeyAccessKeyID: {"AKIDEXAMPLE"}, signer.KeySignature: {"c2ln+bmF0/dXJl="}}
	secret := "s3cret/key+with=chars"
	body := "<Message>AccessKeyId=AKIDEXAMPLE&Signature=" + url.QueryEscape("c2ln+bmF0/dXJl=") +
		" raw c2ln+bmF0/dXJl= secret " + secret + " encoded " + url.QueryEscape(secret) + "</Message>"
	got := string(redactBody([]byte(body), signed, secret))
	for _, leak := range []string{"AKIDEXAMPLE", "c2ln+bmF0/dXJl=", url.QueryEscape("c2ln+bmF0/dXJl="), secret, url.QueryEscape(secret), "Signature="} {
		if strings.Contains(got, leak) {
			t.Errorf("redacted body still holds %q: %s", leak, got)
		}
	}
	if !strings.Contains(got, redactMarker) {
		t.Errorf("no redaction marker in %s", got)
	}
}

func TestReadCappedRefusesOversizedBodies(t *testing.T) {
	if _, err := readCapped(strings.NewReader(strings.Repeat("a", 11)), 10); err == nil || !strings.Contains(err.Error(), "exceeds 10 bytes") {
		t.Fatalf("11 bytes with a 10-byte cap: err = %v", err)
	}
	if b, err := readCapped(strings.NewReader("0123456789"), 10); err != nil || len(b) != 10 {
		t.Fatalf("10 bytes with a 10-byte cap: %d bytes, err = %v", len(b), err)
	}
}
