package upstream

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/pace"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/secret"
)

// Handshake is how one try at opening a session (a Live API WebSocket) with a key ended.
type Handshake struct {
	// Status is 200 when the session is open; otherwise Google's refusal as an HTTP status: the
	// handshake's own, or the one a close frame right after the setup stands for.
	Status int
	// Body is Google's refusal: a JSON error envelope, or a close reason as plain text.
	Body []byte
	// Err is set when no answer came (network failure, TIME_OUT).
	Err error
}

// Open opens a session on the pool the way Do runs a call: the key is the call's own (a resumed
// session, an ephemeral token) or the pool's pick for call's model, skipping keys cooling for it; each
// refusal is classified and charged by the same blame table as an HTTP answer, recorded in the request
// log, and tried again on another key while that can help. try opens the session with one key, within
// ctx (bounded by TIME_OUT); it returns the key the session opened with.
func (e *Executor) Open(ctx context.Context, call Call, try func(ctx context.Context, key *keypool.Key) Handshake) (*keypool.Key, error) {
	snap := e.Settings()
	reqlog.Update(ctx, func(en *reqlog.Entry) {
		en.Model, en.Stream = call.Model, true
	})
	model, gateErr := e.gate(ctx, call)
	if gateErr != nil {
		return nil, gateErr
	}
	var tried []*keypool.Key
	var last *Error
	var lastAttempt Attempt
	for failures := 0; failures <= config.MaxRetries.Get(snap); failures++ {
		if len(tried) > 0 && last.Status.Code >= 500 && !pace.Sleep(ctx, e.backoff(len(tried))) {
			break
		}
		key, err := e.pick(call, model, tried)
		if err != nil {
			last = e.noKey(err, model, last)
			break
		}
		tried = append(tried, key)
		a, fail := e.handshake(ctx, snap, key, try)
		if fail != nil {
			e.judge(ctx, snap, key, &a, true)
		}
		record(ctx, a, nil, fail)
		e.account(ctx, snap, key, model, a, fail)
		if fail == nil {
			return key, nil
		}
		last, lastAttempt = fail, a
		if fail.Canceled || !a.Class.Retryable() {
			break
		}
	}
	if keyClass(lastAttempt.Class) && last.Body != nil {
		last = keyTrouble(lastAttempt)
	}
	return nil, last
}

// noKey is the error when the pool has no key left for a call: every key cooling (with the wait), or
// none usable at all.
func (e *Executor) noKey(err error, model string, last *Error) *Error {
	var cooling *keypool.CoolingError
	if errors.As(err, &cooling) && (last == nil || last.StatusCode == http.StatusTooManyRequests) {
		return coolingError(cooling, e.Pool.Now(), last)
	}
	if last != nil {
		return last
	}
	total, _ := e.Pool.Counts()
	fail := localError(http.StatusServiceUnavailable, noKeyMessage(total, model, err))
	fail.Final = true
	return fail
}

// handshake makes one try with key and reads what its outcome proves.
func (e *Executor) handshake(ctx context.Context, snap *config.Snapshot, key *keypool.Key, try func(context.Context, *keypool.Key) Handshake) (Attempt, *Error) {
	start := time.Now()
	a := Attempt{KeyID: key.ID(), Masked: key.Masked(), Started: start}
	tctx, cancel := context.WithTimeout(ctx, time.Duration(config.TimeOut.Get(snap))*time.Second)
	h := try(tctx, key)
	timedOut := tctx.Err() != nil && ctx.Err() == nil
	cancel()
	if h.Err != nil {
		return a, e.networkFailure(&a, ctx, h.Err, timedOut, key, start)
	}
	a.Latency, a.Status = time.Since(start), h.Status
	if h.Status >= 200 && h.Status < 300 {
		a.Class = OK
		return a, nil
	}
	body := secret.Redact(h.Body, secretsOf(ctx, key)...)
	parsed := rpcstatus.Parse(body)
	a.Class, a.Error = Classify(h.Status, parsed), summary(h.Status, parsed, body)
	fail := &Error{StatusCode: h.Status, Body: body, RetryAfter: parsed.RetryDelay}
	if parsed.OK {
		fail.Status = parsed.Status
	} else {
		fail.Status = rpcstatus.Status{Code: h.Status, Status: rpcstatus.StatusFor(h.Status), Message: a.Error}
	}
	if a.Class == RateLimited {
		q := ReadQuota(parsed)
		fail.quota = &q
	}
	return a, fail
}
