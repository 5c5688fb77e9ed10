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
