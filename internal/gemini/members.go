package gemini

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/gemgate/gemgate/internal/jsonvalid"
)

// Member is one name and raw value of a JSON object, as decoding into map[string]json.RawMessage
// would give them, without the map, the copies and the strings.
type Member struct {
	key   []byte // the name as written, quotes included
	value []byte // the value as written, without surrounding white space
}

// Members appends the members of obj, which must be valid JSON (json.Valid) and an object; both
// slices point into obj.
func Members(obj []byte, out []Member) []Member {
	i := SkipSpace(obj, 0) + 1 // past '{'
	for {
		i = SkipSpace(obj, i)
		if obj[i] == '}' {
			return out
		}
		end := stringEnd(obj, i)
		key := obj[i:end]
		i = SkipSpace(obj, end) + 1 // past ':'
		i = SkipSpace(obj, i)
		vend := valueEnd(obj, i)
		out = append(out, Member{key: key, value: obj[i:vend]})
		i = SkipSpace(obj, vend)
		if obj[i] == ',' {
			i++
		}
	}
}

// Plain returns the name without its quotes when it reads as written: no escapes, and valid UTF-8
// (encoding/json replaces invalid bytes with U+FFFD).
func (m Member) Plain() ([]byte, bool) {
	if bytes.IndexByte(m.key, '\\') < 0 && utf8.Valid(m.key) {
		return m.key[1 : len(m.key)-1], true
	}
	return nil, false
}

// UnquoteString decodes a JSON string as json.Unmarshal into a string does. A string without escapes,
// control characters or invalid UTF-8 (almost every message of a conversation) is copied as it is:
// Unmarshal validates and decodes it through a decoder of its own, several allocations per call.
func UnquoteString(raw []byte) (string, error) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && plainString(raw[1:n-1]) {
		return string(raw[1 : n-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

func plainString(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b)
}

// Span is where the member's value lies in obj, the object Members scanned it from.
func (m Member) Span(obj []byte) (start, end int) {
	start = cap(obj) - cap(m.value) // m.value is obj[start:end]
	return start, start + len(m.value)
}

// Name is the member's name as encoding/json decodes it.
func (m Member) Name() string {
	if p, ok := m.Plain(); ok {
		return string(p)
	}
	var s string
	_ = json.Unmarshal(m.key, &s) // a valid JSON string: cannot fail
	return s
}

// Named reports whether the member is called name.
func (m Member) Named(name string) bool {
	if p, ok := m.Plain(); ok {
		return string(p) == name
	}
	return m.Name() == name
}

// NamedFold reports whether the member matches name the way encoding/json matches a struct field:
// ignoring case.
func (m Member) NamedFold(name string) bool {
	if p, ok := m.Plain(); ok {
		return bytes.EqualFold(p, []byte(name))
	}
	return strings.EqualFold(m.Name(), name)
}

// IsObject reports whether b holds one valid JSON object, the shape members reads.
func IsObject(b []byte) bool {
	i := SkipSpace(b, 0)
	return i < len(b) && b[i] == '{' && jsonvalid.Valid(b)
}

// SkipSpace returns the index of the first byte at or after i that is not JSON white space.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at b[i] ('"'). It jumps from quote to
// quote (bytes.IndexByte reads many bytes a step): in valid JSON a quote ends the string unless an odd
// number of backslashes right before it escapes it. Answers are mostly text, which every scan of an
// answer crosses several times.
func stringEnd(b []byte, i int) int {
	for i++; ; i++ {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		i += j
		escaped := false
		for k := i - 1; b[k] == '\\'; k-- { // the opening quote stops it
			escaped = !escaped
		}
		if !escaped {
			return i + 1
		}
	}
}

// valueEnd returns the index just past the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isSpace(b[i]) {
		i++
	}
	return i
}

// lookup returns the value of the last member called name, as a map would hold it.
func lookup(ms []Member, name string) ([]byte, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Named(name) {
			return ms[i].value, true
		}
	}
	return nil, false
}

// Object is a JSON object (a request body's top level, a part): its members in order, values pointing into the body.
type Object []Member

// Has reports whether o has a member with one of the names.
func (o Object) Has(names ...string) bool {
	for _, n := range names {
		if _, ok := lookup(o, n); ok {
			return true
		}
	}
	return false
}

// Get returns the value of the member called name, as a map would hold it.
func (o Object) Get(name string) (json.RawMessage, bool) { return lookup(o, name) }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
