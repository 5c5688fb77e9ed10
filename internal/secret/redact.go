package secret

import (
	"bytes"
	"io"
)

// A hostile upstream (or a relay in BASE_URL) can send a key back in any spelling JSON allows: as is,
// or with any of its characters written as a \uXXXX escape, which a client's JSON decoder turns back
// into the key. Redact and NewRedactor take out every such spelling.

// Redact replaces every occurrence of each secret in text by its mask, whether written plainly or with
// JSON escapes. Google's own error messages sometimes quote the full key (403 CONSUMER_SUSPENDED), so
// upstream bodies go through this before they reach a client or a log.
func Redact(text []byte, secrets ...string) []byte {
	for _, s := range secrets {
		if len(s) < 8 {
			continue
		}
		if containsString(text, s) {
			text = bytes.ReplaceAll(text, []byte(s), []byte(Mask(s)))
		}
		if bytes.IndexByte(text, '\\') >= 0 {
			text = redactEscaped(text, s)
		}
	}
	return text
}

// containsString is bytes.Contains(text, []byte(s)) without the copy of s that a key, longer than the
// 32 bytes the compiler converts on the stack, costs at every answer.
func containsString(text []byte, s string) bool {
	for i := 0; len(text)-i >= len(s); i++ {
		j := bytes.IndexByte(text[i:len(text)-len(s)+1], s[0])
		if j < 0 {
			return false
		}
		i += j
		if string(text[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}

// redactEscaped replaces the spellings of s that use JSON escapes.
func redactEscaped(text []byte, s string) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(text); i++ {
		if text[i] != s[0] && text[i] != '\\' {
			continue
		}
		end, complete := matchEncoded(text[i:], s)
		if !complete {
			continue
		}
		out = append(out, text[last:i]...)
		out = append(out, Mask(s)...)
		i += end - 1
		last = i + 1
	}
	if out == nil {
		return text
	}
	return append(out, text[last:]...)
}

// matchEncoded matches s at the start of text, each character written as itself or as a JSON escape.
// It returns how many bytes matched and whether all of s did; a match cut short by the end of text
// (complete false, n == len(text)) is a prefix that later bytes could finish.
func matchEncoded(text []byte, s string) (n int, complete bool) {
	p := 0
	for k := 0; k < len(s); k++ {
		c := s[k]
		switch {
		case p == len(text):
			return p, false
		case text[p] == c:
			p++
		case text[p] == '\\':
			w, ok, partial := escapeOf(text[p:], c)
			if partial {
				return len(text), false
			}
			if !ok {
				return p, false
			}
			p += w
		default:
			return p, false
		}
	}
	return p, true
}

// escapeOf reads a JSON escape of c at the start of text: its width, whether it spells c, and whether
// text ends inside an escape that still could.
func escapeOf(text []byte, c byte) (width int, ok, partial bool) {
	if len(text) < 2 {
		return 0, false, true
	}
	if text[1] == '/' && c == '/' || text[1] == '\\' && c == '\\' || text[1] == '"' && c == '"' {
		return 2, true, false
	}
	if text[1] != 'u' {
		return 0, false, false
	}
	want := [4]byte{'0', '0', hexDigit(c >> 4), hexDigit(c & 0xf)}
	for i := 0; i < 4; i++ {
		if 2+i == len(text) {
			return 0, false, true
		}
		if lower(text[2+i]) != want[i] {
			return 0, false, false
		}
	}
	return 6, true, false
}

func hexDigit(v byte) byte { return "0123456789abcdef"[v] }

func lower(b byte) byte {
	if b >= 'A' && b <= 'F' {
		return b + 'a' - 'A'
	}
	return b
}

// heldTail is how many bytes at the end of text could be the start of a secret that the next bytes
// complete: those are held back from a stream until they can be judged. A stream's events end with a
// newline, which starts no secret, so in practice nothing is held and no event waits.
func heldTail(text []byte, secrets []string) int {
	held := 0
	for _, s := range secrets {
		if len(s) < 8 {
			continue
		}
		from := max(0, len(text)-6*len(s))
		for i := from; i < len(text)-held; i++ {
			if text[i] != s[0] && text[i] != '\\' {
				continue
			}
			if n, complete := matchEncoded(text[i:], s); !complete && n == len(text)-i {
				held = len(text) - i
				break
			}
		}
	}
	return held
}

// Redactor is a stream with secrets taken out, in every spelling, even across reads.
type Redactor struct {
	src     io.ReadCloser
	secrets []string
	buf     []byte
	out     []byte // ready for the reader
	held    []byte // a tail that could start a secret
	err     error
}

// NewRedactor returns src with secrets taken out.
func NewRedactor(src io.ReadCloser, secrets ...string) *Redactor {
	return &Redactor{src: src, secrets: secrets}
}

func (x *Redactor) Read(p []byte) (int, error) {
	for len(x.out) == 0 {
		if x.err != nil {
			if len(x.held) > 0 {
				x.out, x.held = x.held, nil
				break
			}
			return 0, x.err
		}
		if cap(x.buf) == 0 {
			x.buf = make([]byte, max(len(p), 512))
		}
		n, err := x.src.Read(x.buf[:cap(x.buf)])
		x.err = err
		if n == 0 && err == nil {
			continue
		}
		data := x.buf[:n] // x.out may point into buf: it is read empty before buf is filled again
		if len(x.held) > 0 {
			data = append(x.held, data...)
		}
		data = Redact(data, x.secrets...)
		keep := 0
		if err == nil {
			keep = heldTail(data, x.secrets)
		}
		x.out = data[:len(data)-keep]
		x.held = append([]byte(nil), data[len(data)-keep:]...)
	}
	n := copy(p, x.out)
	x.out = x.out[n:]
	return n, nil
}

// Close closes the source.
func (x *Redactor) Close() error { return x.src.Close() }
