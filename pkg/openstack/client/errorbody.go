package client

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// errorBodyPeek is how much of a 2xx body is read to recognise an error
// envelope; the first key of every OpenStack error body comes well within.
const errorBodyPeek = 512

// errorEnvelopeKeys are the top-level keys of OpenStack error bodies:
// Keystone/Octavia/generic "error", Neutron "NeutronError", WSME
// "faultcode"/"faultstring", and the Nova/Cinder fault names. No success
// body of the APIs this client uses starts with one of them.
var errorEnvelopeKeys = map[string]bool{
	"error": true, "NeutronError": true, "faultcode": true, "faultstring": true,
	"badRequest": true, "itemNotFound": true, "computeFault": true, "conflictingRequest": true,
	"overLimit": true, "forbidden": true, "notImplemented": true,
}

// flagErrorBody turns a 2xx JSON answer whose body is an error envelope
// into a 502, so that gophercloud returns an error instead of decoding the
// envelope into an empty result (a create "succeeding" with an empty ID, a
// lookup by name "finding" nothing and its object then being taken as
// deleted). The body is left intact for the caller.
func flagErrorBody(resp *http.Response) {
	if resp.StatusCode < 200 || resp.StatusCode > 299 || resp.StatusCode == http.StatusNoContent || resp.Body == nil ||
		!strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), "json") {
		return
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, errorBodyPeek))
	resp.Body = &prefixedBody{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), closer: resp.Body}
	if err != nil || !isErrorEnvelope(head) {
		return
	}
	resp.Status = "502 Bad Gateway (error body in a " + resp.Status + " answer)"
	resp.StatusCode = http.StatusBadGateway
}

// isErrorEnvelope reports whether the JSON text starting with head is an
// object whose first key is an error envelope key holding a value.
func isErrorEnvelope(head []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(head))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	t, err := dec.Token()
	if err != nil {
		return false
	}
	key, ok := t.(string)
	return ok && errorEnvelopeKeys[key]
}

// prefixedBody replays the peeked bytes, then the rest of the body.
type prefixedBody struct {
	io.Reader
	closer io.Closer
}

func (b *prefixedBody) Close() error { return b.closer.Close() }
