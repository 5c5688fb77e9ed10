package logs

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// attemptsJSON is the attempts column: what json.Marshal makes of them, written without reflection
// (encoding/json took about a twentieth of the log writer's CPU). FuzzAttemptsJSON checks that the
// decoder reads back from it what it reads from json.Marshal's.
func attemptsJSON(buf []byte, as []AttemptView) []byte {
	buf = append(buf, '[')
	for i, a := range as {
		if a.At.Year() < 0 || a.At.Year() > 9999 {
			return marshalAttempts(buf[:0], as) // a time JSON cannot carry: encoding/json's verdict
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"key_id":`...)
		buf = appendString(buf, a.KeyID)
		buf = append(buf, `,"key":`...)
		buf = appendString(buf, a.Key)
		buf = append(buf, `,"status":`...)
		buf = strconv.AppendInt(buf, int64(a.Status), 10)
		buf = append(buf, `,"class":`...)
		buf = appendString(buf, a.Class)
		buf = append(buf, `,"latency_ms":`...)
		buf = strconv.AppendInt(buf, a.LatencyMS, 10)
		if a.Error != "" {
			buf = append(buf, `,"error":`...)
			buf = appendString(buf, a.Error)
		}
		buf = append(buf, `,"at":"`...)
		buf = a.At.AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, `"}`...)
	}
	return append(buf, ']')
}

func marshalAttempts(buf []byte, as []AttemptView) []byte {
	b, err := json.Marshal(as)
	if err != nil {
		return append(buf, "[]"...)
	}
	return append(buf, b...)
}

// appendString quotes s as JSON does: control characters, quotes and backslashes escaped, invalid UTF-8
// replaced by U+FFFD.
func appendString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			buf = append(buf, `\ufffd`...)
		} else {
			buf = append(buf, s[i:i+n]...)
		}
		i += n
	}
	return append(buf, '"')
}
