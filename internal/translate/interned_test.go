package translate

import (
	"reflect"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/models"
)

func TestGenerateContentPath(t *testing.T) {
	for range 2 { // built, then kept
		if got := GenerateContentPath("gemini-2.5-flash"); got != "models/gemini-2.5-flash:generateContent" {
			t.Fatalf("GenerateContentPath = %q", got)
		}
	}
}

func TestModelVersionInterned(t *testing.T) {
	for _, v := range []string{`"gemini-2.5-flash"`, `"gemini-2.5-flash"`, `"g\u00e9"`, `"STOP"`} {
		got, ok := modelVersion([]byte(v))
		want, wantOK := scanString([]byte(v))
		if got != want || ok != wantOK {
			t.Fatalf("modelVersion(%s) = %q, %v; want %q, %v", v, got, ok, want, wantOK)
		}
	}
}

// The safety settings kept for a snapshot are the ones built from it, and a new snapshot's replace them.
func TestSafetySettingsPerSnapshot(t *testing.T) {
	model := models.Resolved{Real: "gemini-2.5-flash"}
	for _, env := range []map[string]string{
		{}, {"SAFETY_SETTINGS": `[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_ONLY_HIGH"}]`},
	} {
		snap, err := config.FromEnv(env)
		if err != nil {
			t.Fatal(err)
		}
		want := safetySettings(snap)
		for range 2 {
			if got := SafetySettings(snap, model); !reflect.DeepEqual(got, want) {
				t.Fatalf("SafetySettings = %+v, want %+v", got, want)
			}
		}
	}
}

// Past its room, Scalars still gives a pointer of its own to each value.
func TestScalarsPastRoom(t *testing.T) {
	var s Scalars
	var fs []*float64
	var is []*int
	var bs []*bool
	for i := range 10 {
		f, _ := s.Float([]byte("1.5"))
		n, _ := s.Int([]byte("-" + string(rune('0'+i))))
		b, _ := s.Bool([]byte("true"))
		fs, is, bs = append(fs, f), append(is, n), append(bs, b)
	}
	for i := range 10 {
		if *fs[i] != 1.5 || *is[i] != -i || !*bs[i] {
			t.Fatalf("value %d: %v %v %v", i, *fs[i], *is[i], *bs[i])
		}
		for j := range i {
			if fs[i] == fs[j] || is[i] == is[j] || bs[i] == bs[j] {
				t.Fatalf("values %d and %d share a variable", i, j)
			}
		}
	}
	if _, ok := s.Float([]byte("null")); ok {
		t.Fatal("null read as a number")
	}
}
