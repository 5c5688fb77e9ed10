package auth

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
)

// FuzzTokenExtraction feeds client credentials in every place a token is read from: no panic, a
// bearer token never carries the spaces around it, and the token found is one the client sent.
func FuzzTokenExtraction(f *testing.F) {
	f.Add("Bearer sk-abc", "", "")
	f.Add("bearer   sk-abc  ", "AIzaSy", "key=sk-q&x=1")
	f.Add("Bearer", "", "key=%zz")
	f.Add("Basic dXNlcjpwdw==", "\xff\xfe", "key=a&key=b")
	f.Add("BEARER \t", "", ";;key==")
	snap, err := config.FromEnv(map[string]string{"ALLOWED_TOKENS": "sk-allowed-token-0000000"})
	if err != nil {
		f.Fatal(err)
	}
	tokens := NewTokens(snap)
	tokens.SetPolicies([]Policy{{ID: 1, Token: "sk-managed-token-0000000", Enabled: true, Models: []string{"[", "x*"}, DailyQuota: 1}})
	f.Fuzz(func(t *testing.T, authz, goog, rawQuery string) {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{Path: "/v1beta/models", RawQuery: rawQuery}}
		r.Header["Authorization"] = []string{authz}
		r.Header["X-Goog-Api-Key"] = []string{goog}
		b := BearerToken(r)
		if b != strings.TrimSpace(b) || (b != "" && !strings.Contains(authz, b)) {
			t.Fatalf("bearer token %q from %q", b, authz)
		}
		g := GeminiToken(r)
		if g != "" && g != b && g != goog && g != r.URL.Query().Get("key") {
			t.Fatalf("token %q is none of those sent", g)
		}
		_ = tokens.Valid(g)
		if grant := GrantFrom(tokens.Bind(r, b, goog, g).Context()); grant != nil {
			_ = grant.Admit(goog, authz)
		}
	})
}
