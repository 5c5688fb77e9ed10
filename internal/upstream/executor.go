package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/pace"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/resources"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/secret"
)

// maxResponseBytes bounds a non-streamed answer held in memory; a variable so that tests can show
// the bound without sending 256 MiB.
var maxResponseBytes = 256 << 20

// firstReadSize is the buffer of the first read of a stream, which decides whether it can be retried:
// any byte at all decides it, so the buffer need not hold a whole event. It is let go once relayed, so
// an open stream does not keep it.
const firstReadSize = 512

// UserAgent identifies gemgate to Google.
var UserAgent = "gemgate"

// Call is one logical upstream request, which may take several attempts on different keys.
type Call struct {
	Method string     // default POST
	Path   string     // relative to BASE_URL, e.g. "models/gemini-2.5-flash:generateContent"
	Query  url.Values // sent as is; never carries a key
	Body   []byte
	Stream bool
	// Bearer sends the key as "Authorization: Bearer" (Google's OpenAI-compatible endpoint) instead of
	// x-goog-api-key.
	Bearer bool
	Model  string // the model asked for, for logs
	// QuotaModel is the real model whose quota the call spends (for cooldowns); when empty it is read
	// from Path ("models/<model>:<method>"), and a call with no model only honours key-wide cooldowns.
	QuotaModel string
	// Key, when set, makes a single attempt with exactly this key (key verification, Files affinity),
	// whatever its state; the outcome still updates the key.
	Key *keypool.Key
	// Empty, when set, tells a 200 answer that carries nothing useful (Gemini's empty answers); such an
	// answer is retried on another key up to EMPTY_RESPONSE_RETRIES times, without blaming the key.
	// The last one is returned as is when the retries run out. valid says the executor has found the
	// body to be valid JSON (Response.ValidJSON), so that it may be scanned without validating it again.
	Empty func(body []byte, valid bool) bool
	// BaseURL, when set, replaces the executor's base for this call (the Files API's upload root).
	BaseURL string
	// Header is sent on top of gemgate's own headers (the Files API's X-Goog-Upload-* protocol).
	Header http.Header
}

// Attempt is the record of one try.
type Attempt struct {
	KeyID    string
	Masked   string
	Status   int // HTTP status, or 0 when no answer came
	Class    Class
	Latency  time.Duration
	Error    string // short description when it failed
	Started  time.Time
	Canceled bool // the client went away
}

// Response is a successful (or client-error) answer.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte        // non-streamed answers, read in full
	Stream     io.ReadCloser // streamed answers: the first bytes are already read but not lost
	Key        *keypool.Key
	Attempts   []Attempt
	// ValidJSON says Body is a JSON answer the executor found valid, so that readers need not
	// validate it again (each validation is a pass over the whole answer).
	ValidJSON bool
}

// Error is a call that produced no usable answer.
type Error struct {
	StatusCode int
	Status     rpcstatus.Status // the envelope to show the client (upstream's, redacted, or gemgate's own)
	Body       []byte           // upstream's raw error body (redacted), when the last attempt got one
	RetryAfter time.Duration
	// Final says that retrying cannot help until an operator acts (no key can serve at all); clients
	// are told not to retry (SetRetryHeaders).
	Final    bool
	Attempts []Attempt
	Canceled bool // the client went away; nothing can be sent
	quota    *Quota
	// answer is Google's answer as a client would get it, for a suspect refusal that its key check may
	// show to be about the request.
	answer *Response
}

func (e *Error) Error() string {
	return fmt.Sprintf("upstream %d %s: %s", e.StatusCode, e.Status.Status, e.Status.Message)
}

// Executor runs calls against the key pool with retries.
type Executor struct {
	Pool     *keypool.Pool
	Client   *Client
	Settings func() *config.Snapshot
	// Backoff is the pause between attempts after transient failures; tests shorten it.
	Backoff func(attempt int) time.Duration
	// BaseURL, when set, overrides BASE_URL: the Vertex Express executor runs the same retries over
	// its own pool against VERTEX_EXPRESS_BASE_URL.
	BaseURL func(*config.Snapshot) string
	// Owners knows which key and client token own the resources a call names (files, context caches,
	// ...); nil makes every named resource unknown.
	Owners Owners
	// Logger receives the blame ledger's alerts.
	Logger *slog.Logger

	health   modelHealth
	checks   keyChecks
	ledger   ledger
	hedges   hedgeBudget
	perToken sync.Map // client token id → *hedgeBudget
}

// Owners looks up the ownership record of a resource; resources.ErrUnknown when gemgate has none.
type Owners interface {
	Lookup(ctx context.Context, name string) (*resources.Owner, error)
}

func defaultBackoff(attempt int) time.Duration {
	base := 50 * time.Millisecond << min(attempt, 4)
	return base/2 + rand.N(base/2+1)
}

// Do runs call: up to MAX_RETRIES+1 attempts, each on a key not yet tried by this call. Client errors
// come back as a Response (the client should see Google's exact answer); a call with no good answer
// comes back as *Error.
func (e *Executor) Do(ctx context.Context, call Call) (*Response, error) {
	snap := e.Settings()
	reqlog.Update(ctx, func(en *reqlog.Entry) {
		if en.Model == "" {
			en.Model = call.Model
		}
		en.Stream = en.Stream || call.Stream
		if config.ErrorLogRecordRequestBody.Get(snap) {
			en.RequestBody = call.Body
		}
	})
	model, gateErr := e.gate(ctx, call)
	if gateErr != nil {
		return nil, gateErr
	}
	vouched, bindErr := e.bindResources(ctx, snap, &call)
	if bindErr != nil {
		return nil, bindErr
	}
	retries, emptyRetries := config.MaxRetries.Get(snap), config.EmptyResponseRetries.Get(snap)
	if !vouched {
		retries = 0 // a resource gemgate does not know: Google is asked once, and its answer stands
	}
	r := &run{e: e, ctx: ctx, snap: snap, call: call, model: model, vouched: vouched, emptyRetries: emptyRetries}
	r.log, r.tried = r.firstLog[:0], r.firstTried[:0]
	hedgeAfter, ownHedges := e.hedgeAfter(ctx, snap, call, vouched)
	r.ownHedges = ownHedges
	for r.failures <= retries {
		if i := len(r.log); i > 0 && r.last != nil && r.last.Status.Code >= 500 {
			if !pace.Sleep(ctx, e.backoff(i)) {
				break
			}
		}
		key, err := e.pick(call, model, r.tried)
		if err != nil {
			if r.lastEmpty != nil {
				r.lastEmpty.Attempts = r.log
				return r.lastEmpty, nil
			}
			r.last = e.noKey(err, model, r.last)
			break
		}
		r.tried = append(r.tried, key)
		var outs []outcome
		if hedgeAfter > 0 {
			outs = r.race(key, hedgeAfter)
		} else {
			outs = []outcome{e.try(ctx, snap, call, key)}
		}
		if resp, stop := r.settleAll(outs); resp != nil || stop {
			if resp != nil {
				return resp, nil
			}
			break
		}
	}
	last, log := r.last, r.log
	if r.lastEmpty != nil && !last.Canceled {
		// An empty answer is still an answer; it beats an error from a later attempt.
		r.lastEmpty.Attempts = log
		return r.lastEmpty, nil
	}
	if n := len(log); n > 0 && last.Body != nil && keyClass(log[n-1].Class) {
		// Google's "API key not valid" or "permission denied" is about gemgate's key, not the client's
		// token: passed on as is, a client would blame its own credentials.
		last = keyTrouble(log[n-1])
	}
	last.Attempts = log
	return nil, last
}

// run is the state of one call's retry loop.
type run struct {
	e       *Executor
	ctx     context.Context
	snap    *config.Snapshot
	call    Call
	model   string
	vouched bool
	// ownHedges is the client token's hedge budget, when the call may be hedged.
	ownHedges *hedgeBudget

	tried []*keypool.Key
	log   []Attempt
	// Room for the usual single attempt, in the run's allocation.
	firstLog   [1]Attempt
	firstTried [1]*keypool.Key
	last       *Error
	lastEmpty  *Response
	failures   int
	empties    int

	emptyRetries int
}

// outcome is one finished attempt, before the loop settles what it proves.
type outcome struct {
	key   *keypool.Key
	resp  *Response
	a     Attempt
	fail  *Error
	empty bool // a 200 that carries nothing (Call.Empty)
	lost  bool // a hedge's losing half: shown in the log, charged to nobody
}

// try makes one attempt with key. It is not a method of run so that a hedge's goroutine does not take
// the loop's state to the heap on every call.
func (e *Executor) try(ctx context.Context, snap *config.Snapshot, call Call, key *keypool.Key) outcome {
	resp, a, fail := e.attempt(ctx, snap, call, key)
	empty := fail == nil && resp.StatusCode == 200 && resp.Stream == nil && isEmpty(call, resp)
	return outcome{key: key, resp: resp, a: a, fail: fail, empty: empty}
}

func isEmpty(call Call, resp *Response) bool {
	return call.Empty != nil && call.Empty(resp.Body, resp.ValidJSON)
}

// settleAll settles outs in order and returns what the last one decides: the answer when it is final,
// or stop when the loop must end without one. The outcomes before it (a hedge's failed or cancelled
// half) only settle what they prove about their keys: the race already ended on the last one.
func (r *run) settleAll(outs []outcome) (resp *Response, stop bool) {
	for _, o := range outs {
		resp, stop = r.settle(o)
	}
	return resp, stop
}

// settle applies what one attempt proved: to its key, to the log, and to the loop.
func (r *run) settle(o outcome) (*Response, bool) {
	ctx, e, attempt, resp, fail := r.ctx, r.e, o.a, o.resp, o.fail
	if o.lost {
		r.log = append(r.log, attempt)
		record(ctx, attempt, nil, nil)
		return nil, false
	}
	if fail != nil {
		e.judge(ctx, r.snap, o.key, &attempt, r.vouched)
		if attempt.Class == ClientError && fail.answer != nil {
			resp, fail = fail.answer, nil
		}
	}
	if o.empty {
		attempt.Error = "empty answer"
	}
	r.log = append(r.log, attempt)
	record(ctx, attempt, resp, fail)
	e.account(ctx, r.snap, o.key, r.model, attempt, fail)
	if o.empty {
		if r.empties++; r.empties <= r.emptyRetries {
			r.lastEmpty = resp
			return nil, false
		}
	}
	if fail == nil {
		resp.Attempts = r.log
		return resp, false
	}
	r.failures++
	r.last = fail
	return nil, fail.Canceled || !attempt.Class.Retryable()
}

// gate refuses a call before any key is tried when the client token may not make it (its model list,
// its daily quota) or when its model is paused after failing on many keys. It returns the model the
// call's quota is counted against.
func (e *Executor) gate(ctx context.Context, call Call) (string, *Error) {
	if err := admit(ctx, call); err != nil {
		return "", err
	}
	model := quotaModel(call)
	if reason, wait := e.health.paused(model, time.Now()); reason != "" {
		err := localError(http.StatusServiceUnavailable, reason)
		err.RetryAfter = wait
		return "", err
	}
	return model, nil
}

// keyClass reports answers about gemgate's key rather than the client's request.
func keyClass(c Class) bool { return c == KeyInvalid || c == KeyFailure || c == Unconfirmed }

// judge settles what a failed attempt proves before anyone is charged. An ambiguous refusal is put to
// a key check; a proven one is too when the client token's allowance is spent (the ledger). A call
// naming a resource gemgate does not know charges nobody, whatever Google says.
func (e *Executor) judge(ctx context.Context, snap *config.Snapshot, key *keypool.Key, a *Attempt, vouched bool) {
	switch {
	case a.Class == KeySuspect && !vouched:
		a.Class = ClientError
		a.Error += " (about a resource the request names; not charged to the key)"
		return
	case a.Class == KeyInvalid && !vouched:
		a.Class = Unconfirmed
		a.Error += " (not charged: the request names a resource gemgate does not know)"
		return
	case a.Class == KeySuspect:
	case a.Class == KeyInvalid && e.needsCheck(ctx, snap):
	default:
		return
	}
	r := e.checkKey(ctx, snap, key)
	switch r.verdict {
	case checkPassed:
		if a.Class == KeySuspect {
			a.Class = ClientError
			a.Error += "; the key passed its check, so the refusal was about the request"
		} else {
			a.Class = Unconfirmed
			a.Error += "; not charged: the key passed its check (" + r.summary + ")"
		}
	case checkFailed:
		a.Class = r.class
		a.Error += "; confirmed by a " + r.summary
	default:
		a.Class = Unconfirmed
		a.Error += "; not charged: " + r.summary
	}
}

func keyTrouble(a Attempt) *Error {
	return localError(http.StatusBadGateway, "None of gemgate's Gemini API keys could serve this request; Google refused the last one ("+
		a.Masked+"): "+a.Error)
}

// pick chooses the key of the next attempt: the call's own key once, or the pool's choice.
func (e *Executor) pick(call Call, model string, tried []*keypool.Key) (*keypool.Key, error) {
	if call.Key == nil {
		return e.Pool.Pick(model, tried)
	}
	if len(tried) > 0 {
		return nil, keypool.ErrNoKey
	}
	return call.Key, nil
}

// errorBodyLimit bounds the upstream error body kept for the error log.
const errorBodyLimit = 16 << 10

// record hands the attempt to the request's log entry, with the upstream error body when it failed.
func record(ctx context.Context, a Attempt, resp *Response, fail *Error) {
	if reqlog.From(ctx) == nil {
		return
	}
	var body []byte
	switch {
	case fail != nil:
		body = fail.Body
	case resp != nil && a.Class == ClientError:
		body = resp.Body
	}
	if len(body) > errorBodyLimit {
		body = body[:errorBodyLimit]
	}
	reqlog.AddAttempt(ctx, reqlog.Attempt{KeyID: a.KeyID, KeyMasked: a.Masked, Status: a.Status, Class: a.Class.String(),
		Latency: a.Latency, Error: a.Error, ErrorBody: body, Started: a.Started})
}

func noKeyMessage(total int, model string, err error) string {
	if errors.Is(err, keypool.ErrNoKeyForModel) {
		return "no API key is allowed to serve " + model + ": MODEL_KEY_TAGS names tags that no usable key carries"
	}
	if total == 0 {
		return "gemgate has no Gemini API key configured (set API_KEYS or add keys in the admin panel)"
	}
	return "every Gemini API key is disabled or was tried for this request; check the key status page"
}

func (e *Executor) backoff(attempt int) time.Duration {
	if e.Backoff != nil {
		return e.Backoff(attempt)
	}
	return defaultBackoff(attempt)
}

// account applies what an attempt proved to the key and to the model's health.
func (e *Executor) account(ctx context.Context, snap *config.Snapshot, key *keypool.Key, model string, a Attempt, fail *Error) {
	switch {
	case a.Canceled:
	case a.Class == OK:
		e.Pool.Success(key)
		e.health.success(model, time.Now())
	case a.Class == Transient || a.Class == Overloaded:
		e.Pool.Shaky(key)
		_, usable := e.Pool.Counts()
		e.health.failure(model, key.ID(), a.Error, usable, time.Now())
	case a.Class == KeyInvalid:
		e.charge(ctx, snap, key, a, true)
	case a.Class == KeyFailure:
		e.charge(ctx, snap, key, a, false)
	case a.Class == RateLimited && fail != nil:
		q := Quota{Window: windowUnknown}
		if fail.quota != nil {
			q = *fail.quota
		}
		if q.Model != "" {
			model = q.Model
		}
		streak := 0
		if q.Window == windowUnknown {
			streak = e.Pool.RateLimited(key)
		}
		until, reason := CooldownFor(q, e.Pool.Now(), streak)
		e.Pool.CoolDownShared(key, model, until, reason)
		e.Pool.Note(key, a.Status, a.Error)
	}
}

// quotaModel is the model a call's quota is counted against.
func quotaModel(call Call) string {
	if call.QuotaModel != "" {
		return call.QuotaModel
	}
	rest, ok := strings.CutPrefix(call.Path, "models/")
	if !ok {
		return keypool.AllModels
	}
	m, _, _ := strings.Cut(rest, ":")
	return m
}

// coolingError is gemgate's 429 when every key is cooling down. It carries the real wait as RetryInfo
// and, when Google's own 429 of this call said which quota ran out, its QuotaFailure: gemini-cli tells
// a daily quota from a per-minute one by them. google is the call's last failure, or nil.
func coolingError(c *keypool.CoolingError, now time.Time, google *Error) *Error {
	wait := max(c.Until.Sub(now), time.Second)
	msg := fmt.Sprintf("Every Gemini API key is cooling down for %s after hitting its quota; the first one is back in %s. "+
		"Add keys or wait.", orAll(c.Model), wait.Round(time.Second))
	e := localError(http.StatusTooManyRequests, msg)
	e.RetryAfter = wait
	var details []json.RawMessage
	if google != nil && google.StatusCode == http.StatusTooManyRequests {
		details = google.Status.Details
	}
	e.Status.Details = quotaDetails(details, wait)
	return e
}

func orAll(model string) string {
	if model == "" {
		return "every model"
	}
	return model
}

// attempt makes one request with key. A client-error answer is returned as a Response with the
// error's status (not retried, not the key's fault).
func (e *Executor) attempt(parent context.Context, snap *config.Snapshot, call Call, key *keypool.Key) (*Response, Attempt, *Error) {
	start := time.Now()
	a := Attempt{KeyID: key.ID(), Masked: key.Masked(), Started: start}
	ctx, dl := startDeadline(parent, time.Duration(config.TimeOut.Get(snap))*time.Second)
	target, err := buildURL(e.baseURL(snap, call), call)
	if err != nil {
		dl.stop()
		a.Class, a.Error = ClientError, err.Error()
		return nil, a, localError(http.StatusBadRequest, err.Error())
	}
	newReq := func() (*http.Request, error) { return e.newRequest(ctx, snap, call, target, key) }
	// The drain ends the attempt through the deadline's context: one cancelable context per attempt.
	resp, err := e.Client.send(&dl.call, dl.cancel, newReq, key.Value(), config.Proxies.Get(snap), config.ProxiesConsistentHash.Get(snap))
	if err != nil {
		dl.stop()
		return nil, a, e.networkFailure(&a, parent, err, dl.timedOut.Load(), key, start)
	}
	a.Status = resp.StatusCode
	if resp.StatusCode >= 200 && resp.StatusCode < 300 && call.Stream {
		resp.Body = &drainBody{ReadCloser: resp.Body, d: &e.Client.drain, call: &dl.call}
		return e.openStream(resp, a, dl, parent, key, start)
	}
	body, err := readAnswer(resp)
	resp.Body.Close()
	err = e.Client.drain.finish(&dl.call, err) // a read the drain broke is ErrShuttingDown
	dl.stop()
	a.Latency = time.Since(start)
	if err == nil && len(body) > maxResponseBytes {
		err = fmt.Errorf("answer larger than %d MiB", maxResponseBytes>>20)
	}
	if err != nil {
		return nil, a, e.networkFailure(&a, parent, err, dl.timedOut.Load(), key, start)
	}
	var sb [2]string
	secrets := secretsInto(&sb, parent, key)
	body = secret.Redact(body, secrets...)
	redactHeader(resp.Header, secrets)
	var parsed rpcstatus.Parsed
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// A 2xx is OK whatever its body says; only an error body is worth decoding.
		parsed = rpcstatus.Parse(body)
	}
	a.Class = Classify(resp.StatusCode, parsed)
	if a.Class == OK && malformedJSON(resp.Header, body) {
		a.Class, a.Error = Transient, "200 with a body that is not valid JSON"
		return nil, a, localError(http.StatusBadGateway, "Gemini answered with a body that is not valid JSON (cut off or corrupted on the way)")
	}
	out := &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body, Key: key}
	if a.Class == OK {
		out.ValidJSON = isJSON(resp.Header.Get("Content-Type")) // malformedJSON validated it
		return out, a, nil
	}
	a.Error = summary(resp.StatusCode, parsed, body)
	var q Quota
	if a.Class == RateLimited {
		q = ReadQuota(parsed)
		if q.InputLimit > 0 && promptTokens(call.Body) >= q.InputLimit {
			// The request alone is over a per-minute input-token quota: every key would refuse it.
			a.Class = RequestQuota
			a.Error += fmt.Sprintf(" (the request's own input, about %d tokens, is over the %d-token limit; no key cooled)",
				promptTokens(call.Body), q.InputLimit)
		}
	}
	if a.Class.clientAnswer() {
		return out, a, nil
	}
	fail := &Error{StatusCode: resp.StatusCode, Body: body, RetryAfter: parsed.RetryDelay, answer: out}
	if a.Class == RateLimited {
		fail.quota = &q
	}
	if parsed.OK {
		fail.Status = parsed.Status
	} else {
		fail.Status = rpcstatus.Status{Code: resp.StatusCode, Status: rpcstatus.StatusFor(resp.StatusCode), Message: a.Error}
	}
	return nil, a, fail
}

// secretsOf is what must never reach a client or a log from an attempt with key: the key, and the
// client's own token (a relay in BASE_URL could echo either back), in any spelling.
func secretsOf(ctx context.Context, key *keypool.Key) []string {
	var buf [2]string
	return secretsInto(&buf, ctx, key)
}

// secretsInto is secretsOf into buf, for the callers that do not keep the list.
func secretsInto(buf *[2]string, ctx context.Context, key *keypool.Key) []string {
	buf[0] = key.Value()
	if g := auth.GrantFrom(ctx); g != nil {
		buf[1] = g.Token()
		return buf[:2]
	}
	return buf[:1]
}

// redactHeader takes secrets out of upstream header values that may be relayed to a client.
func redactHeader(h http.Header, secrets []string) {
	for _, values := range h {
		for i, v := range values {
			for _, s := range secrets {
				if len(s) >= 8 && strings.Contains(v, s) {
					values[i] = string(secret.Redact([]byte(v), s))
					v = values[i]
				}
			}
		}
	}
}

// openStream reads the first bytes of a 2xx stream: a stream that dies before its first byte can still
// be retried on another key; after that the bytes belong to the client.
func (e *Executor) openStream(resp *http.Response, a Attempt, dl *deadline, parent context.Context, key *keypool.Key,
	start time.Time) (*Response, Attempt, *Error) {
	dl.extend()
	buf := make([]byte, firstReadSize)
	n, err := resp.Body.Read(buf)
	if n == 0 {
		resp.Body.Close()
		dl.stop()
		if err == nil || err == io.EOF {
			err = errors.New("stream ended before its first byte")
		}
		return nil, a, e.networkFailure(&a, parent, err, dl.timedOut.Load(), key, start)
	}
	dl.extend()
	a.Class, a.Latency = OK, time.Since(start)
	secrets := secretsOf(parent, key)
	redactHeader(resp.Header, secrets)
	body := &streamBody{first: buf[:n], firstErr: err, body: resp.Body, deadline: dl}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Stream: secret.NewRedactor(body, secrets...), Key: key}, a, nil
}

func (e *Executor) networkFailure(a *Attempt, parent context.Context, err error, timedOut bool, key *keypool.Key, start time.Time) *Error {
	a.Latency = time.Since(start)
	a.Class = Transient
	switch {
	case parent.Err() != nil:
		a.Canceled, a.Status, a.Error = true, 499, "client went away"
		return &Error{StatusCode: 499, Status: rpcstatus.Status{Code: 499, Status: "CANCELLED", Message: a.Error}, Canceled: true}
	case timedOut:
		a.Status, a.Error = http.StatusGatewayTimeout, "no answer within TIME_OUT"
		return localError(http.StatusGatewayTimeout, "Gemini did not answer within TIME_OUT; raise TIME_OUT for long tasks")
	}
	msg := string(secret.Redact([]byte(err.Error()), secretsOf(parent, key)...))
	a.Error = msg
	return localError(http.StatusBadGateway, "could not reach Gemini: "+msg)
}

func localError(code int, msg string) *Error {
	return &Error{StatusCode: code, Status: rpcstatus.Status{Code: code, Status: rpcstatus.StatusFor(code), Message: msg}}
}

func summary(status int, p rpcstatus.Parsed, body []byte) string {
	if p.OK {
		reason := ""
		if len(p.Reasons) > 0 {
			reason = " " + p.Reasons[0]
		}
		return fmt.Sprintf("%d %s%s: %s", status, p.Status.Status, reason, truncate(p.Message, 300))
	}
	return fmt.Sprintf("%d: %s", status, truncate(strings.TrimSpace(string(body)), 300))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (e *Executor) baseURL(snap *config.Snapshot, call Call) string {
	switch {
	case call.BaseURL != "":
		return call.BaseURL
	case e.BaseURL != nil:
		return e.BaseURL(snap)
	}
	return config.BaseURL.Get(snap)
}

func buildURL(base string, call Call) (string, error) {
	// The memo's key for the query: none, or the alt=sse of every SSE stream; other queries are not
	// remembered.
	query, memo := "", true
	if len(call.Query) > 0 {
		if alt := call.Query["alt"]; len(call.Query) == 1 && len(alt) == 1 && alt[0] == "sse" {
			query = "alt=sse"
		} else {
			memo = false
		}
	}
	if memo {
		if u, ok := targets.get(base, call.Path, query); ok {
			return u, nil
		}
	}
	u, err := url.Parse(strings.TrimRight(base, "/") + "/" + strings.TrimLeft(call.Path, "/"))
	if err != nil {
		return "", fmt.Errorf("bad BASE_URL or path: %w", err)
	}
	if len(call.Query) > 0 {
		u.RawQuery = call.Query.Encode()
	}
	target := u.String()
	if memo {
		targets.put(base, call.Path, query, target)
	}
	return target, nil
}

// targets remembers the URLs buildURL made for a base, a path and no query or a stream's alt=sse: a
// client calls the same few models over and over, and joining, parsing and printing the URL (and
// encoding the query) cost three to six allocations per attempt. The map is replaced as a whole (copied
// when an entry is added) and starts over when full.
var targets urlMemo

type urlMemo struct {
	m atomic.Pointer[map[[3]string]string]
}

const maxTargets = 256

func (c *urlMemo) get(base, path, query string) (string, bool) {
	m := c.m.Load()
	if m == nil {
		return "", false
	}
	u, ok := (*m)[[3]string{base, path, query}]
	return u, ok
}

func (c *urlMemo) put(base, path, query, target string) {
	old := c.m.Load()
	next := make(map[[3]string]string, 8)
	if old != nil && len(*old) < maxTargets {
		maps.Copy(next, *old)
	}
	next[[3]string{base, path, query}] = target
	c.m.CompareAndSwap(old, &next) // a lost race loses an entry, made again at the next call
}

func (e *Executor) newRequest(ctx context.Context, snap *config.Snapshot, call Call, target string, key *keypool.Key) (*http.Request, error) {
	method := call.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, err
	}
	if call.Body != nil {
		setBody(req, call.Body)
	}
	custom := config.CustomHeaders.Get(snap)
	// The values of the headers set here share one array: Header.Set allocates a slice per value.
	h := headerSetter{h: req.Header, vals: make([]string, 0, len(custom)+3)}
	for k, v := range custom {
		h.set(textproto.CanonicalMIMEHeaderKey(k), v)
	}
	if call.Body != nil {
		h.set("Content-Type", "application/json")
	}
	for k, v := range call.Header {
		req.Header[k] = v
	}
	h.set("User-Agent", UserAgent)
	if call.Bearer {
		h.set("Authorization", "Bearer "+key.Value())
	} else {
		h.set("X-Goog-Api-Key", key.Value())
	}
	return req, nil
}

// headerSetter sets header values (canonical keys) that share one array.
type headerSetter struct {
	h    http.Header
	vals []string
}

func (s *headerSetter) set(k, v string) {
	s.vals = append(s.vals, v)
	n := len(s.vals)
	s.h[k] = s.vals[n-1 : n : n]
}

// setBody gives req body as http.NewRequest gives it a *bytes.Reader (length, GetBody for the
// transport's retries, NoBody when empty). The reader is wrapped in io.NopCloser, which net/http sees
// through: a body it knows to be in memory is written with the headers in one system call, where any
// other reader has the headers flushed on their own first (a second write per attempt). NopCloser of a
// *bytes.Reader allocates nothing beyond the reader.
func setBody(req *http.Request, body []byte) {
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
		req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
}

// streamBody relays a stream: the first read's bytes, then the rest, each read restarting the idle
// timer so that TIME_OUT bounds the wait for every event, not the length of the whole answer.
type streamBody struct {
	first    []byte
	firstErr error
	body     io.ReadCloser
	deadline *deadline
	closed   atomic.Bool
}

func (s *streamBody) Read(p []byte) (int, error) {
	if len(s.first) > 0 {
		n := copy(p, s.first)
		s.first = s.first[n:]
		if len(s.first) > 0 {
			return n, nil
		}
		s.first = nil // the buffer is not held for the rest of the stream
		return n, s.firstErr
	}
	n, err := s.body.Read(p)
	if n > 0 {
		s.deadline.extend()
	}
	return n, err
}

func (s *streamBody) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := s.body.Close()
	s.deadline.stop()
	return err
}

// deadline cancels an attempt that waits longer than TIME_OUT for its answer or, on a stream, for
// its next bytes. It is one allocation per attempt where three closures were.
type deadline struct {
	call     drainCall // the attempt as the shutdown drain knows it
	cancel   context.CancelFunc
	timer    *time.Timer
	timeout  time.Duration
	timedOut atomic.Bool
}

func startDeadline(parent context.Context, timeout time.Duration) (context.Context, *deadline) {
	ctx, cancel := context.WithCancel(parent)
	d := &deadline{cancel: cancel, timeout: timeout}
	d.timer = time.AfterFunc(timeout, d.expire)
	return ctx, d
}

func (d *deadline) expire() {
	d.timedOut.Store(true)
	d.cancel()
}

// extend restarts the wait, after the bytes that ended the previous one.
func (d *deadline) extend() { d.timer.Reset(d.timeout) }

func (d *deadline) stop() {
	d.timer.Stop()
	d.cancel()
}

// readAnswer reads a whole non-streamed answer, at most maxResponseBytes+1 bytes. The buffer is sized
// from Content-Length when the answer has one, instead of growing from 512 bytes.
func readAnswer(resp *http.Response) ([]byte, error) {
	limit := maxResponseBytes + 1
	size := bytes.MinRead
	if cl := resp.ContentLength; cl > 0 && cl < int64(limit) {
		size = int(cl) + bytes.MinRead
	}
	// What io.ReadAll(io.LimitReader(resp.Body, limit)) reads, without the limiting reader's allocation.
	b := make([]byte, 0, size)
	for len(b) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append pick the next size
		}
		n, err := resp.Body.Read(b[len(b):min(cap(b), limit)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// APIRoot is BASE_URL without its API version: where Google's other services are reached (uploads,
// v1alpha's auth_tokens, the Live API's WebSocket), so that a relay in BASE_URL (and the test upstream)
// carries them too.
func APIRoot(base string) string {
	b := strings.TrimRight(base, "/")
	for _, v := range []string{"/v1beta", "/v1alpha", "/v1"} {
		if strings.HasSuffix(b, v) {
			return strings.TrimSuffix(b, v)
		}
	}
	if u, err := url.Parse(b); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return b
}
