package upstream

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// An ambiguous refusal (a 401 or 403 whose reason does not name the key) may be about the key or about
// what the request named, and a hostile client can produce the second kind at will. Before such an
// answer costs the key anything, the key is checked with a call that carries no client data: a
// countTokens of one word on TEST_MODEL. Results are kept per key for a while and checks run a few at
// a time, so no client can turn checks into load on Google or on a key.
const (
	checkPassedTTL  = time.Minute
	checkFailedTTL  = time.Minute
	checkUnknownTTL = 5 * time.Second
	checkTimeout    = 10 * time.Second
	checkParallel   = 4
	checkCacheLimit = 4096 // results kept before expired ones are swept
	checkBodyLimit  = 64 << 10
)

var checkBody = []byte(`{"contents":[{"role":"user","parts":[{"text":"ping"}]}]}`)

type checkVerdict int

const (
	checkUnknown checkVerdict = iota // the check could not decide (Google unreachable, checks saturated)
	checkPassed                      // the key authenticated: whatever was refused, it was the request
	checkFailed                      // the key itself is refused
)

// checkResult is one key check, shared by every call that waits for it.
type checkResult struct {
	done    chan struct{}
	verdict checkVerdict
	class   Class  // KeyInvalid or KeyFailure when the check failed
	summary string // Google's answer to the check, for logs and the key's last error
	expires time.Time
}

type keyChecks struct {
	mu      sync.Mutex
	results map[string]*checkResult // by key id
	slots   chan struct{}
	once    sync.Once
}

func (c *keyChecks) init() {
	c.once.Do(func() {
		c.results = make(map[string]*checkResult)
		c.slots = make(chan struct{}, checkParallel)
	})
}

// checkKey returns the verdict of a key check, reusing a recent one. It waits for a check already
// running for the key rather than starting another.
func (e *Executor) checkKey(ctx context.Context, snap *config.Snapshot, key *keypool.Key) *checkResult {
	c := &e.checks
	c.init()
	now := time.Now()
	c.mu.Lock()
	r := c.results[key.ID()]
	if r == nil || (isDone(r) && now.After(r.expires)) {
		r = &checkResult{done: make(chan struct{})}
		c.results[key.ID()] = r
		if len(c.results) > checkCacheLimit {
			sweep(c.results, now)
		}
		c.mu.Unlock()
		e.runCheck(ctx, snap, key, r)
		return r
	}
	c.mu.Unlock()
	select {
	case <-r.done:
		return r
	case <-ctx.Done():
		return &checkResult{verdict: checkUnknown, summary: "client went away during the key check"}
	}
}

func isDone(r *checkResult) bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// sweep drops finished results past their time; callers hold the lock.
func sweep(results map[string]*checkResult, now time.Time) {
	for id, r := range results {
		if isDone(r) && now.After(r.expires) {
			delete(results, id)
		}
	}
}

func (e *Executor) runCheck(ctx context.Context, snap *config.Snapshot, key *keypool.Key, r *checkResult) {
	defer close(r.done)
	select {
	case e.checks.slots <- struct{}{}:
		defer func() { <-e.checks.slots }()
	default:
		r.verdict, r.summary, r.expires = checkUnknown, "too many key checks at once", time.Now().Add(checkUnknownTTL)
		return
	}
	// The check outlives a client that leaves: others may be waiting for it.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTimeout)
	defer cancel()
	status, parsed, err := e.probe(cctx, snap, key)
	r.verdict, r.class, r.summary = judgeCheck(status, parsed, err)
	ttl := checkPassedTTL
	switch r.verdict {
	case checkFailed:
		ttl = checkFailedTTL
	case checkUnknown:
		ttl = checkUnknownTTL
	}
	r.expires = time.Now().Add(ttl)
}

// probe sends the check call with key.
func (e *Executor) probe(ctx context.Context, snap *config.Snapshot, key *keypool.Key) (int, rpcstatus.Parsed, error) {
	call := Call{Path: "models/" + config.TestModel.Get(snap) + ":countTokens", Body: checkBody}
	target, err := buildURL(e.baseURL(snap, call), call)
	if err != nil {
		return 0, rpcstatus.Parsed{}, err
	}
	newReq := func() (*http.Request, error) { return e.newRequest(ctx, snap, call, target, key) }
	resp, err := e.Client.Do(newReq, key.Value(), config.Proxies.Get(snap), config.ProxiesConsistentHash.Get(snap))
	if err != nil {
		return 0, rpcstatus.Parsed{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, checkBodyLimit))
	if err != nil {
		return 0, rpcstatus.Parsed{}, err
	}
	var parsed rpcstatus.Parsed
	if resp.StatusCode >= 300 {
		parsed = rpcstatus.Parse(body)
	}
	return resp.StatusCode, parsed, nil
}

// judgeCheck reads the check's answer. Google authenticates the key before anything else, so any
// answer past that point (a 2xx, a 429, a 400 or 404 about the model) proves the key works.
func judgeCheck(status int, p rpcstatus.Parsed, err error) (checkVerdict, Class, string) {
	if err != nil {
		return checkUnknown, 0, "key check failed: " + err.Error()
	}
	summary := "key check: " + summary(status, p, nil)
	switch c := Classify(status, p); c {
	case KeyInvalid:
		return checkFailed, KeyInvalid, summary
	case KeySuspect:
		return checkFailed, KeyFailure, summary
	case OK, RateLimited, ClientError:
		return checkPassed, 0, summary
	}
	return checkUnknown, 0, summary
}
