// Package secret masks and compares credentials so that keys and tokens never appear in full in logs,
// error bodies or pages.
package secret

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// Mask shows the first and last four characters of a secret, e.g. "AIza…Xy12". Short secrets are
// masked entirely, since four plus four characters would reveal most of them.
func Mask(s string) string {
	if len(s) < 12 {
		return strings.Repeat("•", min(len(s), 8))
	}
	return s[:4] + "…" + s[len(s)-4:]
}

// ID is a short, stable, non-reversible identifier of a secret, so an admin can find a key from a log
// line without the log holding the key.
func ID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// Equal compares two secrets in constant time (for equal lengths; the length itself is not secret).
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Set holds tokens for lookup by value. Lookups hash the candidate first, so timing reveals nothing about
// how much of a real token an attacker guessed.
type Set struct {
	byHash map[[32]byte]string
}

// NewSet builds a set from tokens, ignoring empty ones.
func NewSet(tokens ...[]string) *Set {
	s := &Set{byHash: map[[32]byte]string{}}
	for _, list := range tokens {
		for _, t := range list {
			if t != "" {
				s.byHash[sha256.Sum256([]byte(t))] = t
			}
		}
	}
	return s
}

// Contains reports whether token is in the set. The empty token is never accepted.
func (s *Set) Contains(token string) bool {
	if token == "" || s == nil {
		return false
	}
	stored, ok := s.byHash[sha256.Sum256([]byte(token))]
	return ok && Equal(stored, token)
}

// Values lists the tokens, in no order.
func (s *Set) Values() []string {
	out := make([]string, 0, len(s.byHash))
	for _, v := range s.byHash {
		out = append(out, v)
	}
	return out
}

// Len is the number of tokens.
func (s *Set) Len() int { return len(s.byHash) }
