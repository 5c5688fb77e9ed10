// Package auth checks client tokens. The accepted set (ALLOWED_TOKENS plus AUTH_TOKEN) is rebuilt when
// settings change and read lock-free per request.
package auth

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/secret"
)

// Tokens holds the client tokens in force.
type Tokens struct {
	set atomic.Pointer[secret.Set]
	// unlimited are the grants of the tokens in set, by the token's SHA-256: a token without limits has
	// no per-request state, so each request shares its grant instead of building one (and hashing the
	// token twice, for the lookup and for its id).
	unlimited atomic.Pointer[map[[32]byte]*Grant]
	policies
}

// NewTokens builds the token set from snap.
func NewTokens(snap *config.Snapshot) *Tokens {
	t := &Tokens{}
	t.Update(snap)
	return t
}

// Update rebuilds the set from snap.
func (t *Tokens) Update(snap *config.Snapshot) {
	set := secret.NewSet(config.AllowedTokens.Get(snap), []string{config.AuthToken.Get(snap)})
	grants := make(map[[32]byte]*Grant, set.Len())
	for _, tok := range set.Values() {
		grants[sha256.Sum256([]byte(tok))] = &Grant{tokens: t, token: tok, id: secret.ID(tok)}
	}
	t.set.Store(set)
	t.unlimited.Store(&grants)
	t.setZone(snap)
}

// Valid reports whether token is a client token: one of ALLOWED_TOKENS, the admin token, or a
// managed token that is enabled and not expired.
func (t *Tokens) Valid(token string) bool {
	return t.set.Load().Contains(token) || t.active(token) != nil
}

// ErrAmbiguous is a request that carries two different tokens: which one it means cannot be told, and
// guessing would let one token's limits be dodged with another's spelling.
var ErrAmbiguous = errors.New("the request carries two different gemgate tokens; send one, in one place")

// Credential is the one parser of client credentials: it finds the token of an API request wherever a
// client of any API sends it (?key= for Google's clients, x-goog-api-key for their SDKs, Authorization:
// Bearer for OpenAI's, x-api-key for Anthropic's). Query names and values are read decoded, as any HTTP
// server reads them, so ?k%65y= is ?key=. Every occurrence counts: the same token repeated is that
// token, two different ones are ErrAmbiguous. "" means the request carries none.
func Credential(r *http.Request) (string, error) {
	var found string
	add := func(v string) error {
		switch {
		case v == "" || v == found:
		case found == "":
			found = v
		default:
			return ErrAmbiguous
		}
		return nil
	}
	for _, v := range queryKeys(r.URL.RawQuery) {
		if err := add(v); err != nil {
			return "", err
		}
	}
	for _, v := range r.Header.Values("Authorization") {
		if err := add(bearer(v)); err != nil {
			return "", err
		}
	}
	for _, name := range [...]string{"X-Goog-Api-Key", "X-Api-Key"} {
		for _, v := range r.Header[name] {
			if err := add(strings.TrimSpace(v)); err != nil {
				return "", err
			}
		}
	}
	return found, nil
}

// queryKeys is every value of the key parameter. Most clients send their token in a header, so the
// query is parsed (a map per request) only when it can hold one: a literal "key", or escapes that
// could spell it.
func queryKeys(raw string) []string {
	if raw == "" || (!strings.Contains(raw, "key") && !strings.Contains(raw, "%")) {
		return nil
	}
	q, _ := url.ParseQuery(raw)
	return q["key"]
}

// BearerToken returns the token of an "Authorization: Bearer" header, or "". Admin calls and /metrics
// read theirs this way; API calls go through Credential.
func BearerToken(r *http.Request) string { return bearer(r.Header.Get("Authorization")) }

func bearer(h string) string {
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// Refusal is why the front door turned a request away.
type Refusal int

const (
	RefusalMissing   Refusal = iota // no token at all
	RefusalInvalid                  // a token that is not (or no longer) a client token
	RefusalAmbiguous                // two different tokens
)

// Door is the front door of the API routes, the one place a client token is recognised: for each
// request guarded reports as an API call, it reads the credential once (Credential), resolves it to a
// grant and hands the grant to next in the context, or answers with refuse (in the called API's error
// shape) before any handler runs. The outcome goes to the request log: the token's id, or why it was
// refused (never the token).
func (t *Tokens) Door(guarded func(*http.Request) bool, refuse func(http.ResponseWriter, *http.Request, Refusal), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions || !guarded(r) {
			next.ServeHTTP(w, r)
			return
		}
		token, err := Credential(r)
		var g *Grant
		if err == nil {
			g = t.Resolve(token)
		}
		switch {
		case err != nil:
			reqlog.Reject(r.Context(), "two different client tokens in one request")
			refuse(w, r, RefusalAmbiguous)
		case token == "":
			reqlog.Reject(r.Context(), "missing client token")
			refuse(w, r, RefusalMissing)
		case g == nil:
			reqlog.Reject(r.Context(), "invalid client token "+secret.Mask(token))
			refuse(w, r, RefusalInvalid)
		default:
			ctx := r.Context()
			reqlog.Update(ctx, func(e *reqlog.Entry) { e.TokenID = g.ID() })
			// The request's scope carries the grant when there is one: no context value and no copy
			// of the request.
			if s := reqlog.ScopeOf(ctx); s == nil || !s.Attach(grantKey{}, g) {
				r = r.WithContext(WithGrant(ctx, g))
			}
			next.ServeHTTP(w, r)
		}
	})
}
