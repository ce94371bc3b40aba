// Package smithy reads the subset of the Smithy IDL that NIFCLOUD's
// computing model (nifcloud-sdk-go computing.smithy) uses: operations with
// input/output, structures and lists with their members and the
// @xmlName, @ec2QueryName and @required traits. Every other shape (enums,
// strings, numbers, timestamps) is a leaf. It is a test-time reader only:
// nothing is generated from the model.
package smithy

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// Member is one member of a structure, or the member of a list.
type Member struct {
	Name      string
	Target    string
	XMLName   string // @xmlName, "" when absent
	QueryName string // @ec2QueryName, "" when absent
	Required  bool
}

// Shape is a structure or a list (Kind "structure" / "list").
type Shape struct {
	Name    string
	Kind    string
	Members []Member // structure members, or the one list member
}

// Operation names its input and output shapes.
type Operation struct{ Input, Output string }

// Model holds the aggregate shapes and operations by name.
type Model struct {
	Shapes     map[string]*Shape
	Operations map[string]Operation
}

var (
	reOpen   = regexp.MustCompile(`^(structure|list|operation) (\w+) \{\s*$`)
	reMember = regexp.MustCompile(`^\s+(\w+): ([\w#.]+),?\s*$`)
	reTrait  = regexp.MustCompile(`^\s+@(\w+)(?:\("([^"]*)"\))?\s*$`)
)

// Parse reads a model. Top-level traits (@enum, @waitable, …) and simple
// shapes are skipped; only the bodies of structure/list/operation shapes
// are read, which in this model are one member (plus its traits) a line.
func Parse(r io.Reader) (*Model, error) {
	m := &Model{Shapes: map[string]*Shape{}, Operations: map[string]Operation{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cur *Shape
	var op *Operation
	var opName string
	var pending Member
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if cur == nil && op == nil {
			if g := reOpen.FindStringSubmatch(t); g != nil {
				if g[1] == "operation" {
					op, opName = &Operation{}, g[2]
				} else {
					cur = &Shape{Name: g[2], Kind: g[1]}
				}
				pending = Member{}
			}
			continue
		}
		if strings.TrimSpace(t) == "}" {
			if op != nil {
				m.Operations[opName] = *op
			} else {
				m.Shapes[cur.Name] = cur
			}
			cur, op = nil, nil
			continue
		}
		if g := reTrait.FindStringSubmatch(t); g != nil {
			switch g[1] {
			case "xmlName":
				pending.XMLName = g[2]
			case "ec2QueryName":
				pending.QueryName = g[2]
			case "required":
				pending.Required = true
			}
			continue
		}
		g := reMember.FindStringSubmatch(t)
		if g == nil {
			if strings.TrimSpace(t) == "" {
				continue
			}
			return nil, fmt.Errorf("line %d: unexpected %q", line, t)
		}
		if op != nil {
			switch g[1] {
			case "input":
				op.Input = g[2]
			case "output":
				op.Output = g[2]
			}
			continue
		}
		pending.Name, pending.Target = g[1], g[2]
		cur.Members = append(cur.Members, pending)
		pending = Member{}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil || op != nil {
		return nil, fmt.Errorf("unterminated shape at end of model")
	}
	return m, nil
}

// ElementName is the XML element name of a member: @xmlName, else the
// member name (Smithy's default).
func (mb Member) ElementName() string {
	if mb.XMLName != "" {
		return mb.XMLName
	}
	return mb.Name
}

// ListElementName is the XML name of a list's items; Smithy's default is
// "member".
func (s *Shape) ListElementName() string {
	if n := s.Members[0].XMLName; n != "" {
		return n
	}
	return "member"
}

// QueryKeyName is the ec2Query form name of a member: @ec2QueryName, else
// @xmlName with its first letter upper-cased, else the member name
// upper-cased likewise (Smithy ec2Query protocol rules).
func (mb Member) QueryKeyName() string {
	switch {
	case mb.QueryName != "":
		return mb.QueryName
	case mb.XMLName != "":
		return upperFirst(mb.XMLName)
	}
	return upperFirst(mb.Name)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Member returns the structure member whose element name is name.
func (s *Shape) Member(elementName string) (Member, bool) {
	for _, mb := range s.Members {
		if mb.ElementName() == elementName {
			return mb, true
		}
	}
	return Member{}, false
}

// QueryKeys lists every form key the ec2Query protocol can send for the
// input shape, with list indexes written "N". ec2Query always flattens
// lists (Name.N, the list member's @xmlName is not used); nested
// structures join with ".". Recursion stops at depth 8 (the model has
// no deeper inputs; cycles would otherwise loop).
func (m *Model) QueryKeys(shape string) []string {
	var out []string
	var walk func(prefix, target string, depth int)
	walk = func(prefix, target string, depth int) {
		s, ok := m.Shapes[target]
		if !ok || depth > 8 {
			out = append(out, prefix)
			return
		}
		if s.Kind == "list" {
			walk(prefix+".N", s.Members[0].Target, depth+1)
			return
		}
		for _, mb := range s.Members {
			p := mb.QueryKeyName()
			if prefix != "" {
				p = prefix + "." + p
			}
			walk(p, mb.Target, depth+1)
		}
	}
	walk("", shape, 0)
	sort.Strings(out)
	return out
}
