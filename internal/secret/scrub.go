package secret

import (
	"bytes"
	"math/rand/v2"
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
	exact hashSet
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
	set := &scrubSet{}
	var words []string
	for _, list := range secrets {
		for _, v := range list {
			switch {
			case len(v) < minScrubLen:
			case isWord(v):
				words = append(words, v)
			default:
				set.other = append(set.other, v)
			}
		}
	}
	set.exact = newHashSet(words)
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
	if set != nil && hasRun(&set.exact, run) {
		return []byte(Mask(string(run)))
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

// hashSet holds secrets as 64-bit hashes only, in an open-addressed table: with 100,000 keys a map of
// strings took 4 MB of live heap, this takes 1 MB and none of it points into the secrets. A run whose
// hash matches a secret's is masked: a collision (about one in 2^64 per run) masks a harmless word.
type hashSet struct {
	slots          []uint64 // 0 is an empty slot
	seed           uint64
	minLen, maxLen int // no secret is shorter or longer, so most runs are never hashed
}

func newHashSet(words []string) hashSet {
	if len(words) == 0 {
		return hashSet{}
	}
	size := 8
	for size < len(words)+len(words)/4 {
		size <<= 1
	}
	h := hashSet{slots: make([]uint64, size), seed: rand.Uint64(), minLen: len(words[0]), maxLen: len(words[0])}
	for _, w := range words {
		h.minLen, h.maxLen = min(h.minLen, len(w)), max(h.maxLen, len(w))
		sum := hashOf(h.seed, w)
		for i := sum & uint64(size-1); ; i = (i + 1) & uint64(size-1) {
			if h.slots[i] == sum {
				break
			}
			if h.slots[i] == 0 {
				h.slots[i] = sum
				break
			}
		}
	}
	return h
}

// hasRun reports whether run is one of the secrets (by hash).
func hasRun[T string | []byte](h *hashSet, run T) bool {
	if len(h.slots) == 0 || len(run) < h.minLen || len(run) > h.maxLen {
		return false
	}
	sum := hashOf(h.seed, run)
	mask := uint64(len(h.slots) - 1)
	for i := sum & mask; ; i = (i + 1) & mask {
		switch h.slots[i] {
		case sum:
			return true
		case 0:
			return false
		}
	}
}

// hashOf is FNV-1a from a random basis, finished by a mixer so that the low bits index the table
// well; never 0, which marks an empty slot.
func hashOf[T string | []byte](seed uint64, s T) uint64 {
	h := seed ^ 0xcbf29ce484222325
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h | 1<<63
}
