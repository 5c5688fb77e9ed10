package secret

import (
	"bytes"
	"strings"
	"sync/atomic"
)

// Scrubber takes secrets out of text bound for logs and the database. It finds Google API keys
// ("AIza" and 35 more characters) and "sk-" tokens by their shape, even ones gemgate was never given,
// and the configured keys and tokens by value, and replaces each by its mask. It is safe for concurrent
// use; Update swaps the configured set atomically.
type Scrubber struct {
	set atomic.Pointer[scrubSet]
}

type scrubSet struct {
	// exact holds secrets made only of word characters; text is cut into runs of such characters and
	// each run is looked up, so the cost does not grow with the number of secrets.
	exact map[string]struct{}
	// other holds secrets with other characters, searched for one by one (rare: URLs, JWTs).
	other []string
}

// minScrubLen keeps short values (a token like "abc") from being masked all over unrelated text.
const minScrubLen = 8

// NewScrubber returns a scrubber knowing the given secrets.
func NewScrubber(secrets ...[]string) *Scrubber {
	s := &Scrubber{}
	s.Update(secrets...)
	return s
}

// Update replaces the configured secrets.
func (s *Scrubber) Update(secrets ...[]string) {
	set := &scrubSet{exact: map[string]struct{}{}}
	for _, list := range secrets {
		for _, v := range list {
			switch {
			case len(v) < minScrubLen:
			case isWord(v):
				set.exact[v] = struct{}{}
			default:
				set.other = append(set.other, v)
			}
		}
	}
	s.set.Store(set)
}

// Bytes returns text without secrets. It returns text itself when there was nothing to take out.
func (s *Scrubber) Bytes(text []byte) []byte {
	out := scrub(s.load(), text)
	if out == nil {
		return text
	}
	return out
}

// String is Bytes for strings.
func (s *Scrubber) String(text string) string {
	out := scrub(s.load(), text)
	if out == nil {
		return text
	}
	return string(out)
}

func (s *Scrubber) load() *scrubSet {
	if s == nil {
		return nil
	}
	return s.set.Load()
}

// scrub returns the scrubbed text, or nil when text holds no secret.
func scrub[T string | []byte](set *scrubSet, text T) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(text); {
		if !wordByte(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && wordByte(text[j]) {
			j++
		}
		if repl := scrubRun(set, text[i:j]); repl != nil {
			out = append(out, text[last:i]...)
			out = append(out, repl...)
			last = j
		}
		i = j
	}
	if out != nil {
		out = append(out, text[last:]...)
	}
	if set == nil || len(set.other) == 0 {
		return out
	}
	cur := out
	if cur == nil {
		cur = []byte(text)
	}
	changed := out != nil
	for _, sec := range set.other {
		if bytes.Contains(cur, []byte(sec)) {
			cur = bytes.ReplaceAll(cur, []byte(sec), []byte(Mask(sec)))
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return cur
}

// scrubRun returns the replacement of one run of word characters, or nil to keep it.
func scrubRun[T string | []byte](set *scrubSet, run T) []byte {
	if set != nil {
		if _, ok := set.exact[string(run)]; ok {
			return []byte(Mask(string(run)))
		}
	}
	var out []byte
	last := 0
	for p := 0; p < len(run); {
		rest := run[p:]
		switch {
		case len(rest) >= googleKeyLen && string(rest[:4]) == "AIza":
			out = append(out, run[last:p]...)
			out = append(out, Mask(string(rest[:googleKeyLen]))...)
			p += googleKeyLen
			last = p
		case len(rest) >= minSKLen && string(rest[:3]) == "sk-":
			out = append(out, run[last:p]...)
			out = append(out, Mask(string(rest))...)
			p = len(run)
			last = p
		default:
			p++
		}
	}
	if out == nil {
		return nil
	}
	return append(out, run[last:]...)
}

const (
	googleKeyLen = 39 // "AIza" and 35 characters
	minSKLen     = 23 // "sk-" and at least 20 characters, the shape of OpenAI-style tokens
)

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func isWord(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r > 0x7f || !wordByte(byte(r)) }) < 0
}
