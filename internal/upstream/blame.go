package upstream

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/reqlog"
)

// The ledger is the last line of defence: whatever the blame table gets wrong, one client token cannot
// charge more than KEY_BLAME_SHARE_PERCENT of the keys in KEY_BLAME_WINDOW_MINUTES on Google's word
// alone. Past that, each further charge caused by its requests needs a failing key check, and the
// first time it happens in a window an alert names the token and the requests.
const (
	ledgerRequests = 10    // request ids kept per token and window
	ledgerAlerts   = 20    // alerts kept for the panel
	ledgerTokens   = 10000 // tokens tracked before expired entries are swept
)

// BlameAlert is a client token whose requests led to charges on more keys than its share.
type BlameAlert struct {
	TokenID  string    `json:"token_id"`
	Keys     int       `json:"keys"`
	Allowed  int       `json:"allowed"`
	Requests []string  `json:"requests"`
	Since    time.Time `json:"since"`
	At       time.Time `json:"at"`
}

type tokenCharges struct {
	since    time.Time
	keys     map[string]struct{}
	requests []string
	tripped  bool
}

type ledger struct {
	mu     sync.Mutex
	tokens map[string]*tokenCharges
	alerts []BlameAlert
}

// entry returns the token's charges of the current window; callers hold l.mu.
func (l *ledger) entry(token string, window time.Duration, now time.Time) *tokenCharges {
	if l.tokens == nil {
		l.tokens = make(map[string]*tokenCharges)
	}
	t := l.tokens[token]
	if t != nil && now.Sub(t.since) < window {
		return t
	}
	if len(l.tokens) >= ledgerTokens {
		for id, old := range l.tokens {
			if now.Sub(old.since) >= window {
				delete(l.tokens, id)
			}
		}
	}
	t = &tokenCharges{since: now, keys: make(map[string]struct{})}
	l.tokens[token] = t
	return t
}

// spent reports whether the token has used up its allowance, so that a charge its request would cause
// needs a key check. The first time in a window it returns the alert that names the token and the
// requests that used the allowance up, this one included.
func (l *ledger) spent(token, requestID string, allowed int, window time.Duration, now time.Time) (bool, *BlameAlert) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.entry(token, window, now)
	if len(t.keys) < allowed {
		return false, nil
	}
	if t.tripped {
		return true, nil
	}
	t.tripped = true
	t.note(requestID)
	a := BlameAlert{TokenID: token, Keys: len(t.keys), Allowed: allowed, Requests: slices.Clone(t.requests), Since: t.since, At: now}
	if len(l.alerts) == ledgerAlerts {
		l.alerts = l.alerts[1:]
	}
	l.alerts = append(l.alerts, a)
	return true, &a
}

// charge records a charge to keyID caused by the token's request.
func (l *ledger) charge(token, keyID, requestID string, window time.Duration, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.entry(token, window, now)
	t.keys[keyID] = struct{}{}
	t.note(requestID)
}

// note remembers a request id among the token's last ledgerRequests; callers hold the ledger's lock.
func (t *tokenCharges) note(requestID string) {
	if requestID == "" || slices.Contains(t.requests, requestID) {
		return
	}
	if len(t.requests) == ledgerRequests {
		t.requests = t.requests[1:]
	}
	t.requests = append(t.requests, requestID)
}

// BlameAlerts lists the recent alerts, newest first.
func (e *Executor) BlameAlerts() []BlameAlert {
	e.ledger.mu.Lock()
	defer e.ledger.mu.Unlock()
	out := slices.Clone(e.ledger.alerts)
	slices.Reverse(out)
	return out
}

// allowance is how many keys one token may charge per window on Google's word alone.
func allowance(snap *config.Snapshot, keys int) int {
	pct := config.KeyBlameSharePercent.Get(snap)
	if pct <= 0 {
		return 0
	}
	return max(1, keys*pct/100)
}

func blameWindow(snap *config.Snapshot) time.Duration {
	return time.Duration(config.KeyBlameWindowMinutes.Get(snap)) * time.Minute
}

// needsCheck reports whether a charge caused by this request must first be confirmed by a key check:
// its token has used up its allowance. Calls with no client token (key checks, admin verification)
// are gemgate's own and never need one.
func (e *Executor) needsCheck(ctx context.Context, snap *config.Snapshot) bool {
	token := auth.CallerID(ctx)
	if token == "" {
		return false
	}
	total, _ := e.Pool.Counts()
	spent, alert := e.ledger.spent(token, reqlog.IDFrom(ctx), allowance(snap, total), blameWindow(snap), time.Now())
	if alert != nil {
		e.logger().Warn("one client token's requests have charged as many keys as KEY_BLAME_SHARE_PERCENT allows; "+
			"each further charge they cause needs a failing key check",
			"token_id", alert.TokenID, "keys", alert.Keys, "allowed", alert.Allowed, "requests", alert.Requests, "since", alert.Since)
	}
	return spent
}

// charge counts a proven failure against key (disabling it when disable is set or MAX_FAILURES is
// reached) and records it in the ledger under the request's client token.
func (e *Executor) charge(ctx context.Context, snap *config.Snapshot, key *keypool.Key, a Attempt, disable bool) {
	e.Pool.Failure(key, a.Status, a.Error, disable)
	token := auth.CallerID(ctx)
	if token == "" {
		return
	}
	e.ledger.charge(token, key.ID(), reqlog.IDFrom(ctx), blameWindow(snap), time.Now())
}

func (e *Executor) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.Default()
}
