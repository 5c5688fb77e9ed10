package keypool

import (
	"strings"
	"testing"
)

// FuzzExtractKeys feeds pasted text (admin panel, keys import): every key found is a well-formed key
// that was in the text.
func FuzzExtractKeys(f *testing.F) {
	f.Add("AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q, AIzaSyzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-_Z")
	f.Add("xAIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Qx")
	f.Add("AIzaSy\xffA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p")
	f.Fuzz(func(t *testing.T, text string) {
		for _, k := range ExtractKeys(text) {
			if !strings.HasPrefix(k, "AIza") || len(k) != 39 || !strings.Contains(text, k) {
				t.Fatalf("%q found in %q", k, text)
			}
		}
	})
}
