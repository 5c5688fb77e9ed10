package upstream

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
)

// Hedging (HEDGE_AFTER_MS): a call that has no answer after the delay is also sent on a second key,
// and the first good answer wins. Google's latency has a long tail that is mostly not the request's
// doing (a busy replica, a slow project), so a second try on another key usually answers in the
// normal time; the price is the hedged calls, which the budget below keeps to a share of all calls.

// hedgedMethods are the calls a hedge may duplicate: they only read (or generate) an answer, so two
// of them cost tokens at worst. Calls that create something (context caches, batches, long-running
// operations, files) would create it twice and are never hedged.
var hedgedMethods = []string{":generateContent", ":streamGenerateContent", ":countTokens", ":embedContent",
	":batchEmbedContents", "openai/chat/completions", "openai/embeddings"}

func hedgeable(path string) bool {
	for _, m := range hedgedMethods {
		if strings.HasSuffix(path, m) {
			return true
		}
	}
	return false
}

// hedgeAfter is the call's hedging delay, 0 when it must not be hedged: hedging off, a call pinned to
// one key (the key holding the files or caches it names, a key check), or a call naming a resource
// gemgate does not know (Google is asked once). Every hedgeable call earns its share of the process's
// budget and of its client token's, which it returns for hedgeKey.
func (e *Executor) hedgeAfter(ctx context.Context, snap *config.Snapshot, call Call, vouched bool) (time.Duration, *hedgeBudget) {
	ms := config.HedgeAfterMS.Get(snap)
	if ms <= 0 || call.Key != nil || !vouched || !hedgeable(call.Path) {
		return 0, nil
	}
	percent := config.HedgeMaxPercent.Get(snap)
	e.hedges.earn(percent)
	own := e.tokenHedges(auth.CallerID(ctx))
	own.earn(percent)
	return time.Duration(ms) * time.Millisecond, own
}

// tokenHedges is the hedge budget of one client token. A hedge costs a second key's quota, so the
// share HEDGE_MAX_PERCENT allows is earned per token: a token whose every call is slow (long answers
// on purpose) spends its own share, not the reserve the process keeps for everyone's tail. The map
// holds one entry per client token that made a hedgeable call: tokens are made by the admin, so it
// stays as small as the token list.
func (e *Executor) tokenHedges(tokenID string) *hedgeBudget {
	if b, ok := e.perToken.Load(tokenID); ok {
		return b.(*hedgeBudget)
	}
	b, _ := e.perToken.LoadOrStore(tokenID, &hedgeBudget{window: tokenHedgeWindow})
	return b.(*hedgeBudget)
}

// The budgets' windows, in calls: a token's bucket holds the hedges of 100 of its calls, the
// process's those of 1,000, so that one token emptying its own leaves the others a reserve.
const (
	tokenHedgeWindow   = 100
	processHedgeWindow = 1000
)

// hedgeBudget bounds hedged calls to HEDGE_MAX_PERCENT of calls: a token bucket, as gRPC's retry
// throttling and Finagle's retry budget do, where each call earns percent/100 of a hedge and a
// hedge spends one, and the bucket holds at most the hedges of a window of calls (percent × window
// / 100). Over any n calls at most percent×(window + n)/100 are hedged, so when Google is slow on
// every call the extra load tends to the percentage instead of doubling; when only the tail is slow
// the reserve covers bursts of slow calls. It is kept as a debt in thousandths of a hedge, so that it
// starts full whatever the percentage, and earning on a full bucket is one atomic load.
type hedgeBudget struct {
	debt   atomic.Int64
	window int64 // calls; 0 means processHedgeWindow
}

const milliHedge = 1000

// capacity is the most the bucket holds, in thousandths of a hedge.
func (b *hedgeBudget) capacity(percent int) int64 {
	w := b.window
	if w == 0 {
		w = processHedgeWindow
	}
	return int64(percent) * milliHedge * w / 100
}

func (b *hedgeBudget) earn(percent int) {
	for {
		d := b.debt.Load()
		if d == 0 {
			return
		}
		if b.debt.CompareAndSwap(d, max(d-int64(percent)*milliHedge/100, 0)) {
			return
		}
	}
}

func (b *hedgeBudget) spend(percent int) bool {
	for {
		d := b.debt.Load()
		if d+milliHedge > b.capacity(percent) {
			return false
		}
		if b.debt.CompareAndSwap(d, d+milliHedge) {
			return true
		}
	}
}

func (b *hedgeBudget) refund() {
	for {
		d := b.debt.Load()
		if b.debt.CompareAndSwap(d, max(d-milliHedge, 0)) {
			return
		}
	}
}

// race makes the attempt with key and, when it has not ended after the delay, a second one with
// another key. The first outcome that settles the call (a good answer, or one another key would not
// change) ends the race; the other attempt is cancelled and waited for, so that its record is in the
// log before the answer leaves. A failure or an empty answer of one half does not end the race while
// the other half runs. The outcomes come back in the order the loop settles them, the decisive one
// last.
func (r *run) race(key *keypool.Key, after time.Duration) []outcome {
	results := make(chan outcome, 2)
	cancels := make(map[*keypool.Key]context.CancelFunc, 2)
	e, snap, call := r.e, r.snap, r.call
	start := func(k *keypool.Key) {
		// The winner's context must outlive the race (its stream is read after it); the request's
		// end releases it.
		ctx, cancel := context.WithCancel(r.ctx)
		cancels[k] = cancel
		go func() { results <- e.try(ctx, snap, call, k) }()
	}
	start(key)
	running := 1
	timer := time.NewTimer(after)
	defer timer.Stop()
	var outs []outcome
	for {
		select {
		case <-timer.C:
			if k := r.hedgeKey(); k != nil {
				start(k)
				running++
			}
		case o := <-results:
			running--
			if running > 0 && !o.decisive() {
				outs = append(outs, o)
				continue
			}
			for k, cancel := range cancels {
				if k != o.key {
					cancel()
				}
			}
			for ; running > 0; running-- {
				outs = append(outs, lose(<-results))
			}
			return append(outs, o)
		}
	}
}

// hedgeKey picks the hedge's key as the pool picks any retry's (no key already tried, none cooling
// or disabled, KEY_MODEL_LIMITS reserved), when the budget allows one.
func (r *run) hedgeKey() *keypool.Key {
	percent := config.HedgeMaxPercent.Get(r.snap)
	if !r.ownHedges.spend(percent) {
		return nil
	}
	if !r.e.hedges.spend(percent) {
		r.ownHedges.refund()
		return nil
	}
	k, err := r.e.Pool.Pick(r.model, r.tried)
	if err != nil {
		r.e.hedges.refund()
		r.ownHedges.refund()
		return nil
	}
	r.tried = append(r.tried, k)
	return k
}

// decisive reports an outcome that ends a race: a good answer, or a failure that another key would
// not change (an answer about the request, a client that went away).
func (o *outcome) decisive() bool {
	if o.fail == nil {
		return !o.empty
	}
	return o.fail.Canceled || !o.a.Class.Retryable()
}

// lose marks the outcome of a race's cancelled half: whatever it got is dropped, and its attempt is
// recorded as what it cost, charged to nobody.
func lose(o outcome) outcome {
	if o.resp != nil && o.resp.Stream != nil {
		o.resp.Stream.Close()
	}
	if o.a.Canceled {
		o.a.Status = 0
	}
	o.a.Class, o.a.Canceled = HedgeLost, false
	o.a.Error = "hedged call: the other key answered first, so this one was cancelled (charged to no key)"
	o.lost = true
	return o
}
