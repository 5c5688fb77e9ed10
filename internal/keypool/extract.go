package keypool

import "regexp"

// geminiKeyPattern is the shape of a Gemini API key, as the reference's bulk-add dialog matched it.
// Anchoring on "AIzaSy" rather than "AIza" keeps other Google API keys found in pasted text out.
var geminiKeyPattern = regexp.MustCompile(`AIzaSy[A-Za-z0-9_\-]{33}`)

var wholeGeminiKey = regexp.MustCompile(`^` + geminiKeyPattern.String() + `$`)

// IsGeminiKey reports a string shaped like a Gemini API key and nothing else.
func IsGeminiKey(s string) bool { return wholeGeminiKey.MatchString(s) }

// ExtractKeys returns every Gemini API key found in text, in order of appearance, repeats included,
// so that callers can tell how many were found in all from how many were new.
func ExtractKeys(text string) []string {
	return geminiKeyPattern.FindAllString(text, -1)
}

// MergeKeys appends to current the keys of found that it does not hold yet. duplicates counts the
// found keys that were already there or appeared earlier in found.
func MergeKeys(current, found []string) (next []string, added, duplicates int) {
	have := make(map[string]bool, len(current)+len(found))
	for _, k := range current {
		have[k] = true
	}
	next = append(make([]string, 0, len(current)+len(found)), current...)
	for _, k := range found {
		if have[k] {
			duplicates++
			continue
		}
		have[k] = true
		next = append(next, k)
		added++
	}
	return next, added, duplicates
}
