package nifcloud

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Response decoding.
//
// Success bodies have the root <{Action}Response> in the computing namespace.
// Two payload styles exist and are expressed in the struct tags of the
// output types (encoding/xml matches names case-sensitively, so the tags use
// the exact names of the wire format):
//
//   - EC2 style (instances, volumes, security groups): lowerCamel elements
//     directly under the root, <item> list elements, <requestId>.
//   - ELB style (load balancers): UpperCamel elements inside
//     <{Action}Result>, <member> list elements and
//     <ResponseMetadata><RequestId>.
//
// Errors use the envelope
// <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>.

// errorEnvelope is the computing API error body.
type errorEnvelope struct {
	Errors []struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Errors>Error"`
	RequestID string `xml:"RequestID"`
	// Some gateways spell it RequestId; accept both.
	RequestIDAlt string `xml:"RequestId"`
}

// ErrUnexpectedResponse is wrapped by decoding failures of 2xx bodies.
var ErrUnexpectedResponse = errors.New("unexpected response body")

// decodeResponse decodes a response body of action. For a 2xx status it
// unmarshals the <{Action}Response> document into out (which may be nil to
// only check the root); an error envelope, even with a 2xx status, becomes
// an *APIError. For any other status it returns an *APIError built from the
// envelope, or from the status alone if the body is not an envelope.
func decodeResponse(action string, status int, body []byte, out any) error {
	if status < 200 || status > 299 {
		return decodeError(action, status, body)
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	start, err := firstStart(dec)
	if err != nil {
		return fmt.Errorf("nifcloud: %s: %w: %v", action, ErrUnexpectedResponse, err)
	}
	switch start.Name.Local {
	case action + "Response":
	case "Response":
		return decodeError(action, status, body)
	default:
		return fmt.Errorf("nifcloud: %s: %w: root element <%s>, want <%sResponse>",
			action, ErrUnexpectedResponse, sanitize(start.Name.Local, 64), action)
	}
	if out == nil {
		out = &struct{}{}
	}
	if err := dec.DecodeElement(out, &start); err != nil {
		return fmt.Errorf("nifcloud: %s: %w: %v", action, ErrUnexpectedResponse, err)
	}
	return nil
}

// decodeError turns an error response into an *APIError. It never fails:
// an unparseable body yields an APIError carrying only the status and an
// excerpt of the body.
func decodeError(action string, status int, body []byte) *APIError {
	e := &APIError{Action: action, HTTPStatus: status}
	var env errorEnvelope
	dec := xml.NewDecoder(bytes.NewReader(body))
	start, err := firstStart(dec)
	if err == nil && start.Name.Local == "Response" {
		err = dec.DecodeElement(&env, &start)
	} else if err == nil {
		err = ErrUnexpectedResponse
	}
	if err == nil && len(env.Errors) > 0 {
		e.Code = strings.TrimSpace(env.Errors[0].Code)
		e.Message = strings.TrimSpace(env.Errors[0].Message)
		e.RequestID = strings.TrimSpace(env.RequestID)
		if e.RequestID == "" {
			e.RequestID = strings.TrimSpace(env.RequestIDAlt)
		}
		return e
	}
	e.Message = sanitize(string(body), 200)
	return e
}

// firstStart returns the first start element of the document.
func firstStart(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return xml.StartElement{}, errors.New("no root element")
			}
			return xml.StartElement{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se, nil
		}
	}
}

// sanitize returns at most n runes of s with control characters replaced, for
// safe inclusion of server text in error messages.
func sanitize(s string, n int) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	count := 0
	for _, r := range s {
		if count == n {
			b.WriteString("…")
			break
		}
		if r == utf8.RuneError || (unicode.IsControl(r)) {
			r = ' '
		}
		b.WriteRune(r)
		count++
	}
	return b.String()
}
