// Package reqlog carries the record of one client request through its handling: the API middleware
// opens an Entry and puts it in the request context, the auth step names the client token, handlers
// add the model and token usage, the upstream executor appends its attempts, and when the handler
// returns the middleware hands the finished Entry to a Sink (the log writer), off the hot path.
package reqlog

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Attempt is one upstream try, as the executor saw it.
type Attempt struct {
	KeyID     string // secret.ID of the key
	KeyMasked string
	Status    int // HTTP status, 0 when no answer came
	Class     string
	Latency   time.Duration
	Error     string // short description when it failed
	ErrorBody []byte // upstream error body, redacted and truncated
	Started   time.Time
}

// ClassHedgeLost is the class of a hedge's losing half: the same call on a second key, cancelled
// because the other answered first. It shows what hedging costs upstream; it charges no key and
// counts as no failure.
const ClassHedgeLost = "hedge_lost"

// HedgeLost reports a hedge's losing half.
func (a Attempt) HedgeLost() bool { return a.Class == ClassHedgeLost }

// Usage is token usage from Gemini's usageMetadata.
type Usage struct {
	Prompt, Output, Thoughts, Cached int
}

// Entry is the record of one client request. Its fields are set by different stages; the mutex makes
// that safe when a stream's reader and the handler overlap.
type Entry struct {
	mu sync.Mutex

	ID          string
	Start       time.Time
	Route       string // "gemini", "openai", "openai-compat", "admin", ...
	Method      string
	Path        string
	TokenID     string // secret.ID of the client token; never the token
	Source      string // the client's address, set for requests gemgate refused itself
	Model       string
	Stream      bool
	Status      int
	Latency     time.Duration
	Usage       Usage
	Attempts    []Attempt
	Rejection   string // why gemgate refused the request itself (auth, bad input), if it did
	RequestBody []byte // the upstream payload, kept only when ERROR_LOG_RECORD_REQUEST_BODY is on

	// session is the outcome of a session on a connection upgraded to a WebSocket, as an HTTP status.
	session int
}

type ctxKey struct{}

// With returns ctx carrying e.
func With(ctx context.Context, e *Entry) context.Context { return context.WithValue(ctx, ctxKey{}, e) }

// From returns the entry in ctx, or nil when the request is not logged.
func From(ctx context.Context) *Entry {
	e, _ := ctx.Value(ctxKey{}).(*Entry)
	return e
}

// Update runs fn with the entry locked; it does nothing when ctx carries no entry.
func Update(ctx context.Context, fn func(e *Entry)) {
	if e := From(ctx); e != nil {
		e.mu.Lock()
		fn(e)
		e.mu.Unlock()
	}
}

// AddAttempt appends an upstream attempt.
func AddAttempt(ctx context.Context, a Attempt) {
	Update(ctx, func(e *Entry) { e.Attempts = append(e.Attempts, a) })
}

// SetUsage records token usage (the last call wins: streams report running totals).
func SetUsage(ctx context.Context, u Usage) { Update(ctx, func(e *Entry) { e.Usage = u }) }

// Reject records why gemgate itself refused the request.
func Reject(ctx context.Context, why string) { Update(ctx, func(e *Entry) { e.Rejection = why }) }

// Unsent reports a request gemgate answered itself with an error, without asking Google (a refused
// token or route, a quota, a paused model): the log keeps only samples of those.
func (e *Entry) Unsent() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.Attempts) == 0 && e.Status >= 400 && e.Rejection != ""
}

// Snapshot returns a copy safe to read after the request ended.
func (e *Entry) Snapshot() Entry {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Entry{ID: e.ID, Start: e.Start, Route: e.Route, Method: e.Method, Path: e.Path, TokenID: e.TokenID, Source: e.Source,
		Model: e.Model, Stream: e.Stream, Status: e.Status, Latency: e.Latency, Usage: e.Usage,
		Attempts: append([]Attempt(nil), e.Attempts...), Rejection: e.Rejection, RequestBody: e.RequestBody}
}

// Sink receives finished entries. Submit must never block: a full buffer drops the entry and counts it.
type Sink interface {
	Submit(e *Entry)
}

// Finish sets the final status and latency. An upgraded connection (101) is logged with its session's
// outcome instead, when the session recorded one.
func (e *Entry) Finish(status int, latency time.Duration) {
	e.mu.Lock()
	if status == http.StatusSwitchingProtocols && e.session != 0 {
		status = e.session
	}
	e.Status, e.Latency = status, latency
	e.mu.Unlock()
}

// SetSessionStatus records the outcome of a session on an upgraded connection (the Live API's
// WebSocket), whose 101 says nothing about it: 200 when it ran, else the status of why it could not.
func SetSessionStatus(ctx context.Context, status int) {
	Update(ctx, func(e *Entry) { e.session = status })
}
