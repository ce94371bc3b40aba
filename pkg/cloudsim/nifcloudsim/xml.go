package nifcloudsim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// apiNamespace is the xmlns of every NIFCLOUD computing response root.
const apiNamespace = "https://computing.api.nifcloud.com/api/"

// timeLayout is how timestamps appear in responses (NIFCLOUD writes
// milliseconds and an offset; the simulator always answers in UTC).
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// node is a tiny XML tree. Responses are built as trees so every element is
// escaped in one place and the EC2 and ELB envelopes share the payload code.
type node struct {
	name string
	text string
	leaf bool
	kids []*node
}

// el is an element with children.
func el(name string, kids ...*node) *node {
	n := &node{name: name}
	for _, k := range kids {
		if k != nil {
			n.kids = append(n.kids, k)
		}
	}
	return n
}

// tx is a text element. Integers, booleans and times are formatted the way
// the API writes them.
func tx(name string, v any) *node {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case int:
		s = strconv.Itoa(x)
	case bool:
		s = strconv.FormatBool(x)
	case time.Time:
		if !x.IsZero() {
			s = x.UTC().Format(timeLayout)
		}
	default:
		s = fmt.Sprint(x)
	}
	return &node{name: name, text: s, leaf: true}
}

func (n *node) add(kids ...*node) *node {
	for _, k := range kids {
		if k != nil {
			n.kids = append(n.kids, k)
		}
	}
	return n
}

func (n *node) render(b *bytes.Buffer) {
	b.WriteByte('<')
	b.WriteString(n.name)
	if !n.leaf && len(n.kids) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	if n.leaf {
		_ = xml.EscapeText(b, []byte(n.text))
	}
	for _, k := range n.kids {
		k.render(b)
	}
	b.WriteString("</")
	b.WriteString(n.name)
	b.WriteByte('>')
}

// items wraps EC2-style list entries: <name><item>…</item>…</name>.
func items(name string, entries []*node) *node {
	n := el(name)
	for _, e := range entries {
		n.add(el("item", e.kids...))
	}
	return n
}

// members wraps ELB-style list entries: <name><member>…</member>…</name>.
func members(name string, entries []*node) *node {
	n := el(name)
	for _, e := range entries {
		if e.leaf {
			n.add(tx("member", e.text))
			continue
		}
		n.add(el("member", e.kids...))
	}
	return n
}

// group is a nameless container used to pass a list of children.
func group(kids ...*node) *node { return el("", kids...) }

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// writeSuccess writes <{Action}Response xmlns=…>. EC2-style actions get a
// leading <requestId>; ELB-style ones wrap the payload in <{Action}Result>
// followed by <ResponseMetadata><RequestId>. A nil ELB payload writes no
// Result element: some output shapes (e.g. NiftyUpdateElasticLoadBalancerResult)
// have only ResponseMetadata.
func writeSuccess(w http.ResponseWriter, action string, elbStyle bool, payload *node, requestID string) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`)
	b.WriteString("<" + action + `Response xmlns="` + apiNamespace + `">`)
	var kids []*node
	if payload != nil {
		kids = payload.kids
	}
	if elbStyle {
		if payload != nil {
			el(action+"Result", kids...).render(&b)
		}
		el("ResponseMetadata", tx("RequestId", requestID)).render(&b)
	} else {
		tx("requestId", requestID).render(&b)
		for _, k := range kids {
			k.render(&b)
		}
	}
	b.WriteString("</" + action + "Response>")
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("X-Request-Id", requestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

// writeError writes the NIFCLOUD error envelope:
// <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>.
func writeError(w http.ResponseWriter, e *apiError, requestID string) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	el("Response",
		el("Errors", el("Error", tx("Code", e.Code), tx("Message", e.Message))),
		tx("RequestID", requestID),
	).render(&b)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("X-Request-Id", requestID)
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(b.Bytes())
}
