package translate

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/gemgate/gemgate/internal/gemini"
)

// The helpers below read a client's request in place for the usual shapes, the way json.Unmarshal
// reads them into a struct: each answers ok=false for anything it does not reproduce exactly (a null,
// a wrong type, a number the decoder reads differently), so that its caller falls back to the decoder.

// ScanMembers calls member with the index in fields of each of obj's members that fields names (obj:
// valid JSON, an object; fields: the struct's JSON names). Members the decoder ignores are skipped. ok
// is false when member refuses one, for a name the decoder matches differently (see FieldIndex), and
// for one given twice (the decoder keeps the last value; the scans do not try to).
func ScanMembers(obj []byte, fields []string, member func(i int, v []byte) bool) bool {
	if obj[0] != '{' {
		return false
	}
	var buf [16]gemini.Member
	var seen uint64
	for _, m := range gemini.Members(obj, buf[:0]) {
		i, ok := FieldIndex(m, fields)
		if !ok || i >= 64 || i >= 0 && seen&(1<<i) != 0 { // seen has room for 64 fields
			return false
		}
		if i < 0 {
			continue
		}
		seen |= 1 << i
		if !member(i, m.Value()) {
			return false
		}
	}
	return true
}

// ScanString reads a string member.
func ScanString(v []byte) (string, bool) {
	if v[0] != '"' {
		return "", false
	}
	s, err := gemini.UnquoteString(v)
	return s, err == nil
}

// ScanRole reads a message's role; the roles of the three APIs come without a copy.
func ScanRole(v []byte) (string, bool) {
	switch string(v) {
	case `"user"`:
		return "user", true
	case `"assistant"`:
		return "assistant", true
	case `"system"`:
		return "system", true
	case `"developer"`:
		return "developer", true
	case `"tool"`:
		return "tool", true
	}
	return ScanString(v)
}

// ScanArray reads a JSON array into a slice of its length, each element by each; false from each, or
// v not an array, gives false.
func ScanArray[T any](v []byte, each func(item []byte, t *T) bool) ([]T, bool) {
	if v[0] != '[' {
		return nil, false
	}
	n := 0
	for range gemini.EachElement(v) {
		n++
	}
	out := make([]T, n)
	i := 0
	for item := range gemini.EachElement(v) {
		if !each(item, &out[i]) {
			return nil, false
		}
		i++
	}
	return out, true
}

// ScanBool reads true or false.
func ScanBool(v []byte) (b, ok bool) {
	switch string(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// ScanInt reads a plain integer of up to 18 digits, which int and int64 both hold (what Google sends for
// counts and indexes); a fraction, an exponent or more digits are the decoder's (to accept or to refuse).
func ScanInt(v []byte) (int, bool) {
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// ScanFloat reads a number as the decoder does (strconv.ParseFloat of the literal); one out of range
// is the decoder's error to report.
func ScanFloat(v []byte) (float64, bool) {
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return f, err == nil
}

// ScanRaw is a json.RawMessage member: the decoder's copy holds the same bytes as v, which points into
// the request (not reused after it). null is left to the decoder.
func ScanRaw(v []byte) (json.RawMessage, bool) {
	if v[0] == 'n' {
		return nil, false
	}
	return json.RawMessage(v), true
}

// pointer is a variable of its own holding v, past a Scalars' room.
func pointer[T any](v T) (*T, bool) { return &v, true }

// JSONFields are the JSON names of struct type t's fields, in order: the fields list of ScanMembers,
// taken from the type itself so that a field added later cannot be skipped by a scan while the decoder
// reads it.
func JSONFields(t reflect.Type) []string {
	out := make([]string, t.NumField())
	for i := range out {
		out[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return out
}

// Scalars holds the numbers and booleans a scan points a request's optional fields to, in the
// allocation of the request (a struct holding both) instead of one allocation each.
type Scalars struct {
	floats         [4]float64
	ints           [6]int
	bools          [2]bool
	nf, ni, nbools int
}

// Float is a pointer to ScanFloat's number, held by s.
func (s *Scalars) Float(v []byte) (*float64, bool) {
	f, ok := ScanFloat(v)
	if !ok {
		return nil, false
	}
	if s.nf == len(s.floats) {
		return pointer(f)
	}
	p := &s.floats[s.nf]
	s.nf++
	*p = f
	return p, true
}

// Int is a pointer to ScanInt's number, held by s.
func (s *Scalars) Int(v []byte) (*int, bool) {
	n, ok := ScanInt(v)
	if !ok {
		return nil, false
	}
	if s.ni == len(s.ints) {
		return pointer(n)
	}
	p := &s.ints[s.ni]
	s.ni++
	*p = n
	return p, true
}

// Bool is a pointer to ScanBool's value, held by s.
func (s *Scalars) Bool(v []byte) (*bool, bool) {
	b, ok := ScanBool(v)
	if !ok {
		return nil, false
	}
	if s.nbools == len(s.bools) {
		return pointer(b)
	}
	p := &s.bools[s.nbools]
	s.nbools++
	*p = b
	return p, true
}

// Names are member names to look for in a body with Mentions, quotes included.
type Names [][]byte

// QuotedNames makes Names of names.
func QuotedNames(names ...string) Names {
	out := make(Names, len(names))
	for i, n := range names {
		out[i] = []byte(`"` + n + `"`)
	}
	return out
}

// Mentions reports whether body holds any of names, quoted, anywhere. A scan that refuses such
// members checks this first, so that a request it would refuse late (tools after a long conversation)
// costs a few fast byte searches instead of a validation and a scan before the decoder's own pass. A
// mention inside a string only sends the request to the decoder.
func Mentions(body []byte, names Names) bool {
	for _, n := range names {
		if bytes.Contains(body, n) {
			return true
		}
	}
	return false
}
