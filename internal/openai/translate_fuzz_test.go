package openai

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/models"
)

// FuzzTranslateRequest: the OpenAI request parser and translator never panic, refuse bad input with a
// 400/413 request error, and everything they accept encodes as a Gemini request (a raw JSON field that
// is not valid JSON would otherwise fail at send time, as a 500).
func FuzzTranslateRequest(f *testing.F) {
	files, _ := filepath.Glob("testdata/translate/*.json")
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.json") {
			continue
		}
		var tc translateCase
		if json.Unmarshal(chatReadFile(f, file), &tc) == nil {
			f.Add([]byte(tc.Request))
		}
	}
	snap := chatTestSnap(f, map[string]string{
		"IMAGE_MODELS": `["gemini-2.0-flash-exp","gemini-2.5-flash"]`, "TOOLS_CODE_EXECUTION_ENABLED": "true",
		"URL_CONTEXT_ENABLED": "true", "THINKING_BUDGET_MAP": `{"gemini-2.5-flash":1024}`,
	})
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseChatRequest(body)
		if err != nil {
			checkRequestError(t, err)
			return
		}
		// Model checks are skipped so that every suffix combination reaches the translator.
		tr, err := translateRequest(snap, models.Resolve(snap, req.Model), req)
		if err != nil {
			checkRequestError(t, err)
			return
		}
		if _, err := json.Marshal(tr.body); err != nil {
			t.Fatalf("translated request does not encode: %v", err)
		}
		for _, m := range tr.media {
			if m.Blob == nil || m.Param == "" {
				t.Fatalf("media job without a target: %+v", m)
			}
		}
	})
}

func checkRequestError(t *testing.T, err error) {
	t.Helper()
	var re *requestError
	if !errors.As(err, &re) || (re.status != http.StatusBadRequest && re.status != http.StatusRequestEntityTooLarge) || re.msg == "" {
		t.Fatalf("not a client error: %#v", err)
	}
}
