package gemini

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// member is one name and raw value of a JSON object, as decoding into map[string]json.RawMessage
// would give them, without the map, the copies and the strings.
type member struct {
	key   []byte // the name as written, quotes included
	value []byte // the value as written, without surrounding white space
}

// members appends the members of obj, which must be valid JSON (json.Valid) and an object; both
// slices point into obj.
func members(obj []byte, out []member) []member {
	i := skipSpace(obj, 0) + 1 // past '{'
	for {
		i = skipSpace(obj, i)
		if obj[i] == '}' {
			return out
		}
		end := stringEnd(obj, i)
		key := obj[i:end]
		i = skipSpace(obj, end) + 1 // past ':'
		i = skipSpace(obj, i)
		vend := valueEnd(obj, i)
		out = append(out, member{key: key, value: obj[i:vend]})
		i = skipSpace(obj, vend)
		if obj[i] == ',' {
			i++
		}
	}
}

// plain returns the name without its quotes when it reads as written: no escapes, and valid UTF-8
// (encoding/json replaces invalid bytes with U+FFFD).
func (m member) plain() ([]byte, bool) {
	if bytes.IndexByte(m.key, '\\') < 0 && utf8.Valid(m.key) {
		return m.key[1 : len(m.key)-1], true
	}
	return nil, false
}

// name is the member's name as encoding/json decodes it.
func (m member) name() string {
	if p, ok := m.plain(); ok {
		return string(p)
	}
	var s string
	_ = json.Unmarshal(m.key, &s) // a valid JSON string: cannot fail
	return s
}

// named reports whether the member is called name.
func (m member) named(name string) bool {
	if p, ok := m.plain(); ok {
		return string(p) == name
	}
	return m.name() == name
}

// namedFold reports whether the member matches name the way encoding/json matches a struct field:
// ignoring case.
func (m member) namedFold(name string) bool {
	if p, ok := m.plain(); ok {
		return bytes.EqualFold(p, []byte(name))
	}
	return strings.EqualFold(m.name(), name)
}

// isObject reports whether b holds one valid JSON object, the shape members reads.
func isObject(b []byte) bool {
	i := skipSpace(b, 0)
	return i < len(b) && b[i] == '{' && json.Valid(b)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at b[i] ('"').
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
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
func lookup(ms []member, name string) ([]byte, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].named(name) {
			return ms[i].value, true
		}
	}
	return nil, false
}
