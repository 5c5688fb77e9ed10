// Package auth checks client tokens. The accepted set (ALLOWED_TOKENS plus AUTH_TOKEN) is rebuilt when
// settings change and read lock-free per request.
package auth

import (
	"context"
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
	t.set.Store(secret.NewSet(config.AllowedTokens.Get(snap), []string{config.AuthToken.Get(snap)}))
	t.setZone(snap)
}

// Valid reports whether token is a client token: one of ALLOWED_TOKENS, the admin token, or a
// managed token that is enabled and not expired.
func (t *Tokens) Valid(token string) bool {
	return t.set.Load().Contains(token) || t.active(token) != nil
}

// GeminiToken finds the client token the way Google's clients send a key: ?key=, then x-goog-api-key,
// then (for clients configured as OpenAI-style) Authorization: Bearer.
func GeminiToken(r *http.Request) string {
	if k := queryKey(r.URL.RawQuery); k != "" {
		return k
	}
	if k := r.Header.Get("x-goog-api-key"); k != "" {
		return k
	}
	return BearerToken(r)
}

// queryKey is the ?key= parameter. Most clients send their token in a header, so the query is parsed
// (a map per request) only when it can hold a key: a literal "key=", or escapes that could spell one.
func queryKey(raw string) string {
	if !strings.Contains(raw, "key=") && !strings.Contains(raw, "%") {
		return ""
	}
	q, _ := url.ParseQuery(raw)
	return q.Get("key")
}

// BearerToken returns the token of an "Authorization: Bearer" header, or "".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// caller is the client token a request was accepted with, as its id. The API middleware puts an empty
// one in the context (WithCaller) and the token check fills it in (Note), so that the later stages
// (resource ownership, the blame ledger) know whose request they serve without reading credentials.
type caller struct{ id string }

type callerKey struct{}

// WithCaller returns ctx carrying an empty caller, for Note to fill in.
func WithCaller(ctx context.Context) context.Context {
	return context.WithValue(ctx, callerKey{}, &caller{})
}

// CallerID is the secret.ID of the client token the request was accepted with, or "".
func CallerID(ctx context.Context) string {
	if c, ok := ctx.Value(callerKey{}).(*caller); ok {
		return c.id
	}
	return ""
}

// Note records the outcome of a token check in the request's log entry and its caller: the token's
// non-reversible id when it was accepted, or why the request was refused.
func Note(r *http.Request, token string, ok bool) {
	switch {
	case ok:
		id := secret.ID(token)
		if c, isCaller := r.Context().Value(callerKey{}).(*caller); isCaller {
			c.id = id
		}
		reqlog.Update(r.Context(), func(e *reqlog.Entry) { e.TokenID = id })
	case token == "":
		reqlog.Reject(r.Context(), "missing client token")
	default:
		reqlog.Reject(r.Context(), "invalid client token "+secret.Mask(token))
	}
}
