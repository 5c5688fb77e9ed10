package gemini

import (
	"bytes"
	"math"

	"github.com/gemgate/gemgate/internal/jsonvalid"
	"github.com/gemgate/gemgate/internal/reqlog"
)

// usageJSON is Gemini's usageMetadata, the fields the token statistics keep.
type usageJSON struct {
	Prompt   int `json:"promptTokenCount"`
	Output   int `json:"candidatesTokenCount"`
	Thoughts int `json:"thoughtsTokenCount"`
	Cached   int `json:"cachedContentTokenCount"`
}

func (u usageJSON) usage() reqlog.Usage {
	return reqlog.Usage{Prompt: u.Prompt, Output: u.Output, Thoughts: u.Thoughts, Cached: u.Cached}
}

// UsageOf reads the top-level usageMetadata of a generateContent answer (or of one stream event).
// Only that member is decoded, as decoding into struct{UsageMetadata *usageJSON} would: matched
// ignoring case, the last one winning, null clearing it. The rest of the body is only scanned.
func UsageOf(body []byte) (reqlog.Usage, bool) {
	if !IsObject(body) {
		return reqlog.Usage{}, false // invalid, or valid but not an object: no usage either way
	}
	return UsageOfValid(body)
}

// UsageOfValid is UsageOf for a body already known to be valid JSON.
func UsageOfValid(body []byte) (reqlog.Usage, bool) {
	if i := SkipSpace(body, 0); body[i] != '{' {
		return reqlog.Usage{}, false
	}
	var buf [8]Member
	var u usageJSON // the one last decoded, when found
	var found bool
	for _, m := range Members(body, buf[:0]) {
		if !m.NamedFold("usageMetadata") {
			continue
		}
		if string(m.value) == "null" {
			u, found = usageJSON{}, false
			continue
		}
		if !found {
			u, found = usageJSON{}, true
		}
		if !u.scan(m.value) {
			return reqlog.Usage{}, false
		}
	}
	if !found {
		return reqlog.Usage{}, false
	}
	return u.usage(), true
}

// scan reads v, a valid JSON value, into u as json.Unmarshal(v, u) would, and reports whether that
// decoding would have succeeded: members matched ignoring case, null leaving a count as it was, and
// anything but an integer refused. Every answer carries a usage, so it is read without the decoder.
func (u *usageJSON) scan(v []byte) bool {
	if v[0] != '{' {
		return false // null is the caller's; anything else is not an object
	}
	var buf [8]Member
	for _, m := range Members(v, buf[:0]) {
		var dst *int
		switch {
		case m.NamedFold("promptTokenCount"):
			dst = &u.Prompt
		case m.NamedFold("candidatesTokenCount"):
			dst = &u.Output
		case m.NamedFold("thoughtsTokenCount"):
			dst = &u.Thoughts
		case m.NamedFold("cachedContentTokenCount"):
			dst = &u.Cached
		default:
			continue
		}
		if m.value[0] == 'n' {
			continue
		}
		n, ok := jsonInt(m.value)
		if !ok {
			return false
		}
		*dst = n
	}
	return true
}

// jsonInt parses a JSON value as strconv.ParseInt(s, 10, 64) does for the decoder: an integer without
// fraction or exponent that fits in 64 bits; strings and other types are refused.
func jsonInt(b []byte) (int, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		return int(-n), true
	}
	return int(n), true
}

// UsageScanner watches a streamed answer pass by, SSE ("data: {...}") or a JSON array ("[{...},{...}]"),
// and remembers the last top-level usageMetadata, which carries the totals. It keeps only the state of
// a small JSON tokenizer and the bytes of the usage object itself, so it can see every byte of a long
// stream without buffering it. Feed it the bytes in order, split anywhere. Not safe for concurrent use.
type UsageScanner struct {
	braces  int  // depth of open {…}: the events are at depth 1
	inStr   bool // inside a JSON string
	escaped bool // after a backslash inside a string
	// key matching: the position reached in `"usageMetadata"` by the current string at depth 1, or -1.
	match int
	// afterKey is set between the closing quote of "usageMetadata" and its ':'.
	afterKey bool
	// capturing collects the value object from its '{' until its depth closes.
	capturing bool
	captured  []byte
	// room holds a usual usageMetadata (about 150 bytes) without growing captured byte by byte.
	room [256]byte

	usage reqlog.Usage
	found bool
}

const usageKey = "usageMetadata"

// maxUsageBytes bounds a captured usageMetadata object (it holds a few counts and per-modality lists).
const maxUsageBytes = 16 << 10

// Write scans p; it never fails.
func (s *UsageScanner) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i++ {
		if s.inStr && !s.escaped && s.match < 0 && !s.capturing {
			// Inside a string that is not a key being matched nor captured, only a quote or a
			// backslash changes anything: jump to the next one (most of a stream is text).
			j := plainRun(p[i:])
			if i += j; i == len(p) {
				break
			}
		}
		s.step(p[i])
	}
	return len(p), nil
}

// plainRun is the length of p's prefix without a quote or a backslash.
func plainRun(p []byte) int {
	n := len(p)
	if q := bytes.IndexByte(p, '"'); q >= 0 {
		n = q
	}
	if b := bytes.IndexByte(p[:n], '\\'); b >= 0 {
		n = b
	}
	return n
}

// Usage returns the last usage seen, and whether there was one.
func (s *UsageScanner) Usage() (reqlog.Usage, bool) { return s.usage, s.found }

func (s *UsageScanner) step(c byte) {
	if s.capturing {
		s.capture(c)
	}
	if s.inStr {
		s.inString(c)
		return
	}
	switch c {
	case '"':
		s.inStr = true
		s.match = -1
		if s.braces == 1 && !s.capturing {
			s.match = 0
		}
	case ':':
		if s.afterKey && !s.capturing {
			s.afterKey = false
			s.capturing = true
			if s.captured == nil {
				s.captured = s.room[:0]
			}
			s.captured = s.captured[:0]
			return
		}
	case '{':
		s.braces++
	case '}':
		s.braces--
		if s.capturing && s.braces == 1 {
			s.finish()
		}
	}
	if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
		s.afterKey = false
	}
	if s.capturing && s.braces == 1 && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '{' && c != '}' {
		// The value is not an object (null, a number): nothing to read.
		s.capturing = false
	}
}

func (s *UsageScanner) inString(c byte) {
	switch {
	case s.escaped:
		s.escaped = false
		s.match = -1
	case c == '\\':
		s.escaped = true
		s.match = -1
	case c == '"':
		s.inStr = false
		s.afterKey = s.match == len(usageKey)
	case s.match >= 0 && s.match < len(usageKey) && c == usageKey[s.match]:
		s.match++
	default:
		s.match = -1
	}
}

func (s *UsageScanner) capture(c byte) {
	if len(s.captured) >= maxUsageBytes {
		s.capturing = false
		return
	}
	s.captured = append(s.captured, c)
}

func (s *UsageScanner) finish() {
	s.capturing = false
	if u, ok := capturedUsage(s.captured); ok {
		s.usage, s.found = u, true
	}
}

// capturedUsage decodes a captured usageMetadata value as json.Unmarshal into usageJSON does, with the
// scan UsageOfValid reads answers with: the decoder cost a dozen allocations per stream.
func capturedUsage(b []byte) (reqlog.Usage, bool) {
	if !jsonvalid.Valid(b) {
		return reqlog.Usage{}, false
	}
	var u usageJSON
	if v := b[SkipSpace(b, 0):]; v[0] != 'n' && !u.scan(v) {
		return reqlog.Usage{}, false // null decodes into nothing; the rest as scan says
	}
	return u.usage(), true
}
