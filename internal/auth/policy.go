package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/secret"
)

// Policy is a client token managed in the admin panel, with its limits. Tokens in ALLOWED_TOKENS (and
// AUTH_TOKEN) have none and need no Policy.
type Policy struct {
	ID         int64
	Name       string
	Token      string
	Enabled    bool
	ExpiresAt  time.Time // zero: never
	Models     []string  // allowed model names or globs (path.Match); empty allows every model
	DailyQuota int64     // requests per day in TIMEZONE; 0 is unlimited
}

// active reports whether the token may be used at now.
func (p *Policy) active(now time.Time) bool {
	return p.Enabled && (p.ExpiresAt.IsZero() || now.Before(p.ExpiresAt))
}

// allows reports whether any of names (the model as asked for, and as resolved) is on the list.
func (p *Policy) allows(names ...string) bool {
	if len(p.Models) == 0 {
		return true
	}
	for _, pat := range p.Models {
		for _, n := range names {
			if n == "" {
				continue
			}
			n = strings.TrimPrefix(n, "models/")
			if ok, err := path.Match(pat, n); (err == nil && ok) || pat == n {
				return true
			}
		}
	}
	return false
}

// policies is the managed-token part of Tokens: looked up lock-free per request, replaced as a whole.
type policies struct {
	table atomic.Pointer[map[[32]byte]*Policy]
	zone  atomic.Pointer[time.Location]
	now   func() time.Time // tests move the clock
	quota quota
}

// SetPolicies replaces the managed tokens.
func (t *Tokens) SetPolicies(list []Policy) {
	m := make(map[[32]byte]*Policy, len(list))
	for i := range list {
		p := list[i]
		p.Models = append([]string(nil), p.Models...)
		m[sha256.Sum256([]byte(p.Token))] = &p
	}
	t.table.Store(&m)
}

// Policies returns the managed tokens in force.
func (t *Tokens) Policies() []Policy {
	m := t.table.Load()
	if m == nil {
		return nil
	}
	out := make([]Policy, 0, len(*m))
	for _, p := range *m {
		out = append(out, *p)
	}
	return out
}

// Unlimited reports whether token is one of ALLOWED_TOKENS or the admin token.
func (t *Tokens) Unlimited(token string) bool { return t.set.Load().Contains(token) }

func (t *Tokens) policy(token string) *Policy {
	m := t.table.Load()
	if m == nil || token == "" {
		return nil
	}
	p := (*m)[sha256.Sum256([]byte(token))]
	if p == nil || !secret.Equal(p.Token, token) {
		return nil
	}
	return p
}

// active returns the managed token's policy when it may be used now.
func (t *Tokens) active(token string) *Policy {
	if p := t.policy(token); p != nil && p.active(t.clock()) {
		return p
	}
	return nil
}

func (t *Tokens) clock() time.Time {
	if t.now != nil {
		return t.now()
	}
	return time.Now()
}

// setZone follows TIMEZONE, the day boundary of the daily quotas; an unknown zone keeps UTC, as the
// scheduler does.
func (t *Tokens) setZone(snap *config.Snapshot) {
	loc, err := time.LoadLocation(config.Timezone.Get(snap))
	if err != nil {
		loc = time.UTC
	}
	t.zone.Store(loc)
}

func (t *Tokens) location() *time.Location {
	if loc := t.zone.Load(); loc != nil {
		return loc
	}
	return time.UTC
}

// day is the quota day of now in TIMEZONE, and when the next one starts.
func (t *Tokens) day() (string, time.Time) {
	now := t.clock().In(t.location())
	y, m, d := now.Date()
	return now.Format(time.DateOnly), time.Date(y, m, d+1, 0, 0, 0, 0, now.Location())
}

// Grant is what a request's client token allows, resolved once at the front door and carried in the
// request's context to where the model is known (the upstream executor applies the limits).
type Grant struct {
	tokens  *Tokens
	policy  *Policy // nil: ALLOWED_TOKENS or AUTH_TOKEN, without limits
	token   string
	id      string
	counted atomic.Bool // the daily quota was spent; only a policy's grant (one per request) uses it
}

// ID is the token's non-reversible id (secret.ID), the name logs and ownership records use.
func (g *Grant) ID() string { return g.id }

// Token is the client token itself, for matching records Gemini Balance stored in full.
func (g *Grant) Token() string { return g.token }

// Name is the managed token's name, or "" for a token without limits.
func (g *Grant) Name() string {
	if g.policy == nil {
		return ""
	}
	return g.policy.Name
}

// Resolve returns the grant of token, or nil when it is not a usable client token (unknown, disabled
// or expired).
func (t *Tokens) Resolve(token string) *Grant {
	if token == "" {
		return nil
	}
	if m := t.unlimited.Load(); m != nil {
		if g := (*m)[sha256.Sum256([]byte(token))]; g != nil && secret.Equal(g.token, token) {
			return g
		}
	}
	if t.Unlimited(token) { // a set stored a moment before its grants
		return &Grant{tokens: t, token: token, id: secret.ID(token)}
	}
	if p := t.active(token); p != nil {
		return &Grant{tokens: t, policy: p, token: token, id: secret.ID(token)}
	}
	return nil
}

// ResolveID returns the grant of the usable client token whose id (secret.ID) is id, or nil when none
// is (revoked, disabled, expired). It scans every token: it is for the rare call that knows only the
// owner recorded with a resource (a browser's ephemeral token), never for every request.
func (t *Tokens) ResolveID(id string) *Grant {
	if id == "" {
		return nil
	}
	for _, tok := range t.set.Load().Values() {
		if secret.ID(tok) == id {
			return t.Resolve(tok)
		}
	}
	for _, p := range t.Policies() {
		if secret.ID(p.Token) == id {
			return t.Resolve(p.Token)
		}
	}
	return nil
}

type grantKey struct{}

// WithGrant returns ctx carrying g.
func WithGrant(ctx context.Context, g *Grant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

// GrantFrom returns the request's grant, or nil (a request that passed no front door).
func GrantFrom(ctx context.Context) *Grant {
	g, _ := ctx.Value(grantKey{}).(*Grant)
	return g
}

// CallerID is the id of the client token the request was accepted with, or "" for gemgate's own calls
// (key checks, jobs, admin verification).
func CallerID(ctx context.Context) string {
	if g := GrantFrom(ctx); g != nil {
		return g.id
	}
	return ""
}

// Denial is a request its token may not make.
type Denial struct {
	Status     int
	Message    string
	RetryAfter time.Duration
}

func (d *Denial) Error() string { return d.Message }

// Admit checks a call for models against the token's limits: the model allow-list, then the daily
// quota, which one request spends once however many upstream calls it makes.
func (g *Grant) Admit(models ...string) *Denial {
	if g == nil || g.policy == nil {
		return nil
	}
	p := g.policy
	if !p.allows(models...) {
		return &Denial{Status: http.StatusNotFound,
			Message: fmt.Sprintf("The model %s does not exist or the token %q may not use it.", firstNonEmpty(models), p.Name)}
	}
	if p.DailyQuota <= 0 || !g.counted.CompareAndSwap(false, true) {
		return nil
	}
	day, next := g.tokens.day()
	if !g.tokens.quota.take(p.ID, p.DailyQuota, day) {
		wait := max(next.Sub(g.tokens.clock()), time.Second)
		return &Denial{Status: http.StatusTooManyRequests, RetryAfter: wait,
			Message: fmt.Sprintf("The token %q has used its %d requests for today; the quota resets at midnight (%s), in %s.",
				p.Name, p.DailyQuota, g.tokens.location(), wait.Round(time.Minute))}
	}
	return nil
}

// Lists reports whether a model list shows a model to this token: the allow-list only, no quota
// spent. A token without limits (or none) sees every model.
func (g *Grant) Lists(names ...string) bool {
	return g == nil || g.policy == nil || g.policy.allows(names...)
}

func firstNonEmpty(names []string) string {
	for _, n := range names {
		if n != "" {
			return n
		}
	}
	return "(none)"
}

// quota counts requests per managed token and day in memory. The counts of all instances meet in the
// database (SyncUsage), so each instance sees the others' requests within one sync interval.
type quota struct {
	mu      sync.Mutex
	day     string
	used    map[int64]int64 // the shared count as last read, plus this instance's requests since
	pending map[int64]int64 // this instance's requests not yet added to the shared count
}

func (q *quota) rollover(day string) {
	if q.day != day {
		q.day, q.used, q.pending = day, map[int64]int64{}, map[int64]int64{}
	}
}

func (q *quota) take(id, limit int64, day string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rollover(day)
	if q.used[id] >= limit {
		return false
	}
	q.used[id]++
	q.pending[id]++
	return true
}

// Used returns today's count of a managed token as this instance knows it.
func (t *Tokens) Used(id int64) int64 {
	day, _ := t.day()
	q := &t.quota
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.day != day {
		return 0
	}
	return q.used[id]
}

// SeedUsage sets a token's count from storage, for the day it was counted on.
func (t *Tokens) SeedUsage(id int64, day string, n int64) {
	today, _ := t.day()
	if day != today {
		return
	}
	q := &t.quota
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rollover(today)
	q.used[id] = max(q.used[id], n+q.pending[id])
}

// UsageStore adds deltas to the day's shared counts and returns the counts (store.AddTokenUsage).
type UsageStore func(ctx context.Context, day string, deltas map[int64]int64) (map[int64]int64, error)

// SyncUsage adds this instance's requests to the shared counts and reads back everyone's, for every
// token with a quota. While the database is unreachable the requests stay pending and counting goes
// on in memory.
func (t *Tokens) SyncUsage(ctx context.Context, add UsageStore) error {
	day, _ := t.day()
	q := &t.quota
	q.mu.Lock()
	q.rollover(day)
	deltas := map[int64]int64{}
	for _, p := range t.Policies() {
		if p.DailyQuota > 0 {
			deltas[p.ID] = q.pending[p.ID]
		}
	}
	q.mu.Unlock()
	if len(deltas) == 0 {
		return nil
	}
	totals, err := add(ctx, day, deltas)
	if err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.day != day {
		return nil
	}
	for id, d := range deltas {
		q.pending[id] -= d
		q.used[id] = totals[id] + q.pending[id]
	}
	return nil
}

// Required serves next only for requests that came through the front door (they carry a grant) and
// answers the others with refuse, so a route mounted without the door fails closed instead of open.
func Required(next http.HandlerFunc, refuse func(http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if GrantFrom(r.Context()) == nil {
			refuse(w)
			return
		}
		next(w, r)
	})
}
