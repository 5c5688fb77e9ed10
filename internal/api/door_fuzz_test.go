package api

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
)

// FuzzFrontDoor: every spelling of credentials that gets a request past the front door carries the
// limits of the token it names. A managed token limited to one model is sent in arbitrary query strings
// and headers next to an unlimited one; whenever the limited token is among what the client sent (as a
// server decodes it), the request is either refused or carries the limited grant.
func FuzzFrontDoor(f *testing.F) {
	const unlimited, limited = "sk-unlimited-token-00000000", "sk-limited-token-000000000"
	f.Add("k%65y="+limited, "", "", "")
	f.Add("%6bey="+limited+"&key="+limited, "Bearer "+limited, "", "")
	f.Add("key="+unlimited, "", limited, "")
	f.Add("", "", "", limited)
	f.Add("key=%73k-limited-token-000000000", "", "", "")
	snap, err := config.FromEnv(map[string]string{"ALLOWED_TOKENS": unlimited})
	if err != nil {
		f.Fatal(err)
	}
	tokens := auth.NewTokens(snap)
	tokens.SetPolicies([]auth.Policy{{ID: 1, Name: "pro-only", Token: limited, Enabled: true, Models: []string{"gemini-2.5-pro"}}})
	var got *auth.Grant
	door := frontDoor(tokens, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = auth.GrantFrom(r.Context()) }))
	f.Fuzz(func(t *testing.T, rawQuery, authz, goog, xapi string) {
		r := httptest.NewRequest("POST", "/v1beta/models/gemini-2.5-flash:generateContent", nil)
		r.URL.RawQuery = rawQuery
		for name, v := range map[string]string{"Authorization": authz, "X-Goog-Api-Key": goog, "X-Api-Key": xapi} {
			if v != "" {
				r.Header[name] = []string{v}
			}
		}
		got = nil
		w := httptest.NewRecorder()
		door.ServeHTTP(w, r)
		q, _ := url.ParseQuery(rawQuery)
		sentLimited := strings.TrimSpace(goog) == limited || strings.TrimSpace(xapi) == limited ||
			strings.EqualFold(strings.TrimSpace(authz), "bearer "+limited)
		for _, v := range q["key"] {
			sentLimited = sentLimited || v == limited
		}
		switch {
		case got == nil && w.Code < 400:
			t.Fatalf("neither served nor refused: %d", w.Code)
		case got != nil && sentLimited && got.Token() != limited:
			t.Fatalf("the limited token was sent (%q %q %q %q) but the request carries %q's grant", rawQuery, authz, goog, xapi, got.Token())
		case got != nil && got.Token() == limited && got.Admit("gemini-2.5-flash") == nil:
			t.Fatal("the limited grant lets a model off its list through")
		}
	})
}
