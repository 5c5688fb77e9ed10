package translate

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"
)

// The appenders below write JSON without reflection, byte for byte as an encoding/json Encoder with
// SetEscapeHTML(false) writes the same values (WriteJSON's and SSEWriter's encoders): answers built
// on every request paid more for reflection than for anything they said. FuzzAppendJSON checks them
// against encoding/json.

// AppendString appends s as a JSON string: quotes, backslashes and control characters escaped
// (\b \f \n \r \t by name), invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped; HTML characters as
// they are.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendFloat appends f as encoding/json writes a float64: the shortest form that reads back, with
// an exponent (e-7, e+21) only below 1e-6 or from 1e21. NaN and infinities, which JSON cannot carry
// and no decoded request holds, are null.
func AppendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9, as encoding/json does
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// AppendCompact appends raw, valid JSON (a json.RawMessage of a decoded request) without the white
// space between its tokens, as the encoder writes a RawMessage.
func AppendCompact(dst, raw []byte) []byte {
	inString, escaped := false, false
	start := 0
	for i, c := range raw {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			dst = append(dst, raw[start:i]...)
			start = i + 1
		}
	}
	return append(dst, raw[start:]...)
}

// appendBuffers hold answers built with appends; like answerBuffers, the odd huge one is dropped.
var appendBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// WriteAppended answers 200 with the JSON document build appends, and a newline, as WriteJSON writes
// an encoded one.
func WriteAppended(w http.ResponseWriter, build func([]byte) []byte) {
	bp := appendBuffers.Get().(*[]byte)
	b := append(build((*bp)[:0]), '\n')
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
	if cap(b) <= maxPooledAnswer {
		*bp = b[:0]
		appendBuffers.Put(bp)
	}
}
