package config

import (
	"fmt"
	"strings"
)

// iniEntry is one "key = value" assignment, or a section header when key is
// empty and header is true.
type iniEntry struct {
	line     int
	header   bool
	section  string // as written (case preserved)
	sub      string // subsection name; only meaningful when hasSub
	hasSub   bool
	key      string // lower-cased
	rawKey   string // as written
	value    string
	hasValue bool // false for a bare "key" (gcfg: boolean true)
	// afterSecret is the raw name of the secret key assigned by the
	// previous entry, when there is one: this line may then be a wrapped
	// part of that secret value, so its text must not appear in errors.
	afterSecret string
}

// isSecretKey reports whether a key's value must never appear in messages.
func isSecretKey(key string) bool {
	k := strings.ToLower(key)
	return strings.Contains(k, "password") || strings.Contains(k, "secret") || strings.Contains(k, "token")
}

// lexINI splits data into section headers and assignments, following the
// git-config / gcfg syntax used by cloud.conf files: "[section]" and
// `[section "subsection"]` headers, "key = value" lines, comments starting
// with '#' or ';' (also after a value, outside quotes), double-quoted value
// parts with \" \\ \n \t \b escapes, and a trailing backslash continuing a
// value on the next line. Keys and section names are case-insensitive.
func lexINI(name string, data []byte) ([]iniEntry, error) {
	text := string(data)
	text = strings.TrimPrefix(text, "\uFEFF")
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	var out []iniEntry
	prevSecret := "" // raw name of the secret key assigned by the previous entry
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		l := strings.TrimLeft(lines[i], " \t\v\f")
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		// A line following a secret assignment may be a wrapped part of the
		// secret: describe problems without echoing its text.
		hint := ""
		if prevSecret != "" {
			hint = fmt.Sprintf(" (line follows %s; text not shown in case it is part of a wrapped secret value)", prevSecret)
		}
		if l[0] == '[' {
			e, err := lexHeader(l)
			if err != nil {
				if prevSecret != "" {
					return nil, fmt.Errorf("%s:%d: invalid section header%s", name, lineNo, hint)
				}
				return nil, fmt.Errorf("%s:%d: %s", name, lineNo, err)
			}
			prevSecret = ""
			e.line = lineNo
			out = append(out, e)
			continue
		}
		// key
		j := 0
		for j < len(l) && isKeyChar(l[j], j == 0) {
			j++
		}
		if j == 0 {
			// The line's text is never echoed: it may be a wrapped secret.
			return nil, fmt.Errorf("%s:%d: invalid line: expected a [section] header or a key = value assignment%s", name, lineNo, hint)
		}
		rawKey := l[:j]
		rest := strings.TrimLeft(l[j:], " \t\v\f")
		e := iniEntry{line: lineNo, key: strings.ToLower(rawKey), rawKey: rawKey, afterSecret: prevSecret}
		switch {
		case rest == "" || rest[0] == '#' || rest[0] == ';':
			// bare key: boolean true in gcfg
		case rest[0] == '=':
			v, consumed, err := lexValue(lines, i, rest[1:], isSecretKey(rawKey))
			if err != nil {
				if prevSecret != "" {
					return nil, fmt.Errorf("%s:%d: invalid value%s", name, lineNo, hint)
				}
				return nil, fmt.Errorf("%s:%d: %s: %s", name, lineNo, rawKey, err)
			}
			i += consumed
			e.value = v
			e.hasValue = true
		default:
			if prevSecret != "" {
				return nil, fmt.Errorf("%s:%d: invalid line: expected key = value%s", name, lineNo, hint)
			}
			return nil, fmt.Errorf("%s:%d: invalid character after key %q (expected '=')", name, lineNo, rawKey)
		}
		prevSecret = ""
		if isSecretKey(rawKey) {
			prevSecret = rawKey
		}
		out = append(out, e)
	}
	return out, nil
}

func isKeyChar(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return true
	case first:
		return false
	case c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		return true
	}
	return false
}

func lexHeader(l string) (iniEntry, error) {
	e := iniEntry{header: true}
	p := 1
	skipWS := func() {
		for p < len(l) && (l[p] == ' ' || l[p] == '\t') {
			p++
		}
	}
	skipWS()
	start := p
	for p < len(l) && isKeyChar(l[p], p == start) {
		p++
	}
	if p == start {
		return e, fmt.Errorf("invalid section header %q", truncate(l, 60))
	}
	e.section = l[start:p]
	skipWS()
	if p < len(l) && l[p] == '"' {
		p++
		var sb strings.Builder
		closed := false
		for p < len(l) {
			c := l[p]
			if c == '\\' && p+1 < len(l) {
				sb.WriteByte(l[p+1])
				p += 2
				continue
			}
			if c == '"' {
				closed = true
				p++
				break
			}
			sb.WriteByte(c)
			p++
		}
		if !closed {
			return e, fmt.Errorf("unterminated subsection name in %q", truncate(l, 60))
		}
		e.sub = sb.String()
		e.hasSub = true
		skipWS()
	}
	if p >= len(l) || l[p] != ']' {
		return e, fmt.Errorf("invalid section header %q (missing ']')", truncate(l, 60))
	}
	p++
	skipWS()
	if p < len(l) && l[p] != '#' && l[p] != ';' {
		return e, fmt.Errorf("unexpected text after section header: %q", truncate(l[p:], 40))
	}
	return e, nil
}

// lexValue parses a value starting in rest (the text after '=' on line
// lines[idx]); it returns the value and how many extra lines were consumed
// by backslash continuations.
// secret suppresses any part of the value in error messages.
func lexValue(lines []string, idx int, rest string, secret bool) (string, int, error) {
	var out strings.Builder
	pending := "" // unquoted whitespace not yet known to be interior
	started := false
	quoted := false
	consumed := 0
	s := rest
	for {
		p := 0
		for p < len(s) {
			c := s[p]
			if !quoted && (c == '#' || c == ';') {
				return out.String(), consumed, nil
			}
			if !quoted && (c == ' ' || c == '\t' || c == '\v' || c == '\f') {
				if started {
					pending += string(c)
				}
				p++
				continue
			}
			if c == '\\' {
				if p+1 == len(s) {
					// line continuation
					break
				}
				out.WriteString(pending)
				pending = ""
				started = true
				switch s[p+1] {
				case 'n':
					out.WriteByte('\n')
				case 't':
					out.WriteByte('\t')
				case 'b':
					out.WriteByte('\b')
				case '\\':
					out.WriteByte('\\')
				case '"':
					out.WriteByte('"')
				default:
					if secret {
						return "", 0, fmt.Errorf("invalid escape sequence")
					}
					return "", 0, fmt.Errorf("invalid escape sequence \\%c", s[p+1])
				}
				p += 2
				continue
			}
			out.WriteString(pending)
			pending = ""
			started = true
			if c == '"' {
				quoted = !quoted
				p++
				continue
			}
			out.WriteByte(c)
			p++
		}
		if p < len(s) && s[p] == '\\' { // continuation
			if idx+consumed+1 >= len(lines) {
				return "", 0, fmt.Errorf("line continuation at end of file")
			}
			consumed++
			s = lines[idx+consumed]
			continue
		}
		if quoted {
			return "", 0, fmt.Errorf("unterminated quoted value")
		}
		return out.String(), consumed, nil
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
