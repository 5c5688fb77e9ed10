package auth

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
)

// FuzzTokenExtraction feeds client credentials in every place a token is read from: no panic, and the
// token found is the one (decoded) credential the client sent, or the request is refused as ambiguous
// when it sent two different ones.
func FuzzTokenExtraction(f *testing.F) {
	f.Add("Bearer sk-abc", "", "", "")
	f.Add("bearer   sk-abc  ", "AIzaSy", "", "key=sk-q&x=1")
	f.Add("Bearer", "", "", "key=%zz")
	f.Add("Basic dXNlcjpwdw==", "\xff\xfe", "", "key=a&key=b")
	f.Add("BEARER \t", "", "sk-x", ";;key==")
	f.Add("", "", "", "k%65y=sk-managed-token-0000000")
	f.Add("Bearer sk-a", "sk-a", "sk-a", "%6bey=sk-a")
	snap, err := config.FromEnv(map[string]string{"ALLOWED_TOKENS": "sk-allowed-token-0000000"})
	if err != nil {
		f.Fatal(err)
	}
	tokens := NewTokens(snap)
	tokens.SetPolicies([]Policy{{ID: 1, Token: "sk-managed-token-0000000", Enabled: true, Models: []string{"[", "x*"}, DailyQuota: 1}})
	f.Fuzz(func(t *testing.T, authz, goog, xapi, rawQuery string) {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{Path: "/v1beta/models", RawQuery: rawQuery}}
		r.Header["Authorization"] = []string{authz}
		r.Header["X-Goog-Api-Key"] = []string{goog}
		r.Header["X-Api-Key"] = []string{xapi}
		// What a client sent, decoded the way any HTTP server decodes it.
		q, _ := url.ParseQuery(rawQuery)
		sent := append([]string(nil), q["key"]...)
		if len(authz) > 7 && strings.EqualFold(authz[:7], "bearer ") {
			sent = append(sent, strings.TrimSpace(authz[7:]))
		}
		sent = append(sent, strings.TrimSpace(goog), strings.TrimSpace(xapi))
		distinct := map[string]bool{}
		for _, s := range sent {
			if s != "" {
				distinct[s] = true
			}
		}
		tok, err := Credential(r)
		switch {
		case len(distinct) > 1:
			if !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("two tokens %v, got %q %v", distinct, tok, err)
			}
		case len(distinct) == 1:
			if err != nil || !distinct[tok] {
				t.Fatalf("sent %v, got %q %v", distinct, tok, err)
			}
		default:
			if tok != "" || err != nil {
				t.Fatalf("nothing sent, got %q %v", tok, err)
			}
		}
		if g := tokens.Resolve(tok); g != nil {
			_ = g.Admit(goog, authz)
		}
	})
}
