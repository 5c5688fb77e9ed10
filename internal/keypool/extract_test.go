package keypool

import (
	"slices"
	"testing"
)

func TestExtractKeys(t *testing.T) {
	a := "AIzaSy" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
	b := "AIzaSy" + "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-_Z"
	text := "keys: " + a + ", " + b + "\n" + a + " AIzaSyTooShort AIzaXX" + b[6:] + " and sk-token"
	got := ExtractKeys(text)
	if want := []string{a, b, a}; !slices.Equal(got, want) {
		t.Fatalf("ExtractKeys = %q, want %q", got, want)
	}
	if got := ExtractKeys("nothing here"); len(got) != 0 {
		t.Fatalf("ExtractKeys found %q in text without keys", got)
	}
}

func TestMergeKeys(t *testing.T) {
	next, added, dups := MergeKeys([]string{"k1", "k2"}, []string{"k2", "k3", "k3", "k4"})
	if want := []string{"k1", "k2", "k3", "k4"}; !slices.Equal(next, want) || added != 2 || dups != 2 {
		t.Fatalf("MergeKeys = %q, %d added, %d duplicates", next, added, dups)
	}
	next, added, dups = MergeKeys(nil, nil)
	if len(next) != 0 || added != 0 || dups != 0 {
		t.Fatalf("MergeKeys of nothing = %q, %d, %d", next, added, dups)
	}
}
