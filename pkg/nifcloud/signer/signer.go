// Package signer implements NIFCLOUD computing API signature version 2
// (HmacSHA256 / HmacSHA1). The client signs with it and the simulator
// verifies with it, so both sides share one canonicalisation.
package signer

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Form keys the signature adds.
const (
	KeyAccessKeyID      = "AccessKeyId"
	KeySignatureVersion = "SignatureVersion"
	KeySignatureMethod  = "SignatureMethod"
	KeyTimestamp        = "Timestamp"
	KeySignature        = "Signature"

	MethodHmacSHA256 = "HmacSHA256"
	MethodHmacSHA1   = "HmacSHA1"

	// TimestampLayout is the UTC layout NIFCLOUD expects.
	TimestampLayout = "2006-01-02T15:04:05Z"
)

// Sign adds the authentication parameters and the HmacSHA256 signature to
// form. host includes ":port" when the endpoint has one; path is the URL path
// ("/api/").
func Sign(form url.Values, accessKey, secretKey, host, path string, now time.Time) {
	form.Del(KeySignature)
	form.Set(KeyAccessKeyID, accessKey)
	form.Set(KeySignatureVersion, "2")
	form.Set(KeySignatureMethod, MethodHmacSHA256)
	form.Set(KeyTimestamp, now.UTC().Format(TimestampLayout))
	form.Set(KeySignature, Compute(form, secretKey, "POST", host, path, MethodHmacSHA256))
}

// Compute returns base64(HMAC(secret, stringToSign)) over every key of form
// except Signature.
func Compute(form url.Values, secretKey, method, host, path, signatureMethod string) string {
	var newHash func() hash.Hash
	switch signatureMethod {
	case MethodHmacSHA1:
		newHash = sha1.New
	default:
		newHash = sha256.New
	}
	mac := hmac.New(newHash, []byte(secretKey))
	mac.Write([]byte(StringToSign(form, method, host, path)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// StringToSign builds "METHOD\nhost\npath\ncanonical-query".
func StringToSign(form url.Values, method, host, path string) string {
	return method + "\n" + host + "\n" + path + "\n" + CanonicalQuery(form)
}

// CanonicalQuery sorts keys bytewise and escapes keys and values with
// QueryEscape, turning "+" into "%20" as the reference signer does.
func CanonicalQuery(form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		if k == KeySignature {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := ""
		if vs := form[k]; len(vs) > 0 {
			v = vs[0]
		}
		parts = append(parts, escape(k)+"="+escape(v))
	}
	return strings.Join(parts, "&")
}

func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// Verification errors, distinguished so the simulator can answer with the
// matching NIFCLOUD error code.
var (
	ErrMissingParameter   = errors.New("missing authentication parameter")
	ErrUnsupportedVersion = errors.New("unsupported signature version")
	ErrSignatureMismatch  = errors.New("signature does not match")
)

// Verify recomputes the signature of a received form. lookupSecret returns
// the secret for an access key, or false if the key is unknown.
func Verify(form url.Values, method, host, path string, lookupSecret func(accessKey string) (string, bool)) error {
	for _, k := range []string{KeyAccessKeyID, KeySignatureVersion, KeySignatureMethod, KeySignature} {
		if form.Get(k) == "" {
			return fmt.Errorf("%w: %s", ErrMissingParameter, k)
		}
	}
	if form.Get(KeySignatureVersion) != "2" {
		return fmt.Errorf("%w: %q", ErrUnsupportedVersion, form.Get(KeySignatureVersion))
	}
	sm := form.Get(KeySignatureMethod)
	if sm != MethodHmacSHA256 && sm != MethodHmacSHA1 {
		return fmt.Errorf("%w: method %q", ErrUnsupportedVersion, sm)
	}
	secret, ok := lookupSecret(form.Get(KeyAccessKeyID))
	if !ok {
		return fmt.Errorf("%w: unknown access key", ErrSignatureMismatch)
	}
	want := Compute(form, secret, method, host, path, sm)
	if subtle.ConstantTimeCompare([]byte(want), []byte(form.Get(KeySignature))) != 1 {
		return ErrSignatureMismatch
	}
	return nil
}
