package signer

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

// The expected values were computed independently (Python hmac/base64 with
// quote_plus-then-%20 escaping) from the algorithm in nifcloud-facts.md.
func TestKnownAnswerVector(t *testing.T) {
	form := url.Values{}
	form.Set("Action", "DescribeInstances")
	form.Set("Version", "3.0")
	form.Set("InstanceId.1", "web 01")
	form.Set("Description", "a+b/c~d*e")
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	Sign(form, "AKIDEXAMPLE", "SECRETEXAMPLE", "jp-east-1.computing.api.nifcloud.com", "/api/", ts)

	wantQuery := "AccessKeyId=AKIDEXAMPLE&Action=DescribeInstances&Description=a%2Bb%2Fc~d%2Ae&InstanceId.1=web%2001&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp=2026-01-02T03%3A04%3A05Z&Version=3.0"
	if got := CanonicalQuery(form); got != wantQuery {
		t.Fatalf("canonical query:\n got %s\nwant %s", got, wantQuery)
	}
	if got, want := form.Get(KeySignature), "uElwc1+0GT+hlRETSfoUrLB5MCk1yFj7pN5Nz9NF/LQ="; got != want {
		t.Fatalf("signature = %s, want %s", got, want)
	}
}

func TestVerifyRoundTripThroughWireEncoding(t *testing.T) {
	form := url.Values{"Action": {"CreateVolume"}, "Description": {"pvc with spaces & symbols"}}
	Sign(form, "AK", "SK", "127.0.0.1:8080", "/api/", time.Now())
	// The body goes over the wire with url.Values.Encode ("+" for spaces);
	// the verifier parses it back and must still match.
	parsed, err := url.ParseQuery(form.Encode())
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(ak string) (string, bool) { return map[string]string{"AK": "SK"}[ak], ak == "AK" }
	if err := Verify(parsed, "POST", "127.0.0.1:8080", "/api/", lookup); err != nil {
		t.Fatalf("verify: %v", err)
	}
	parsed.Set("Description", "tampered")
	if err := Verify(parsed, "POST", "127.0.0.1:8080", "/api/", lookup); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("tampered form: err = %v, want ErrSignatureMismatch", err)
	}
	wrongKey := func(string) (string, bool) { return "other", true }
	parsed.Set("Description", "pvc with spaces & symbols")
	if err := Verify(parsed, "POST", "127.0.0.1:8080", "/api/", wrongKey); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("wrong secret: err = %v", err)
	}
	if err := Verify(parsed, "POST", "other-host", "/api/", lookup); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("wrong host: err = %v", err)
	}
	parsed.Del(KeySignatureMethod)
	if err := Verify(parsed, "POST", "127.0.0.1:8080", "/api/", lookup); !errors.Is(err, ErrMissingParameter) {
		t.Fatalf("missing method: err = %v", err)
	}
}

func TestHmacSHA1Accepted(t *testing.T) {
	form := url.Values{"Action": {"DescribeVolumes"}, KeyAccessKeyID: {"AK"}, KeySignatureVersion: {"2"}, KeySignatureMethod: {MethodHmacSHA1}, KeyTimestamp: {"2026-01-02T03:04:05Z"}}
	form.Set(KeySignature, Compute(form, "SK", "POST", "h", "/api/", MethodHmacSHA1))
	if err := Verify(form, "POST", "h", "/api/", func(string) (string, bool) { return "SK", true }); err != nil {
		t.Fatal(err)
	}
}
