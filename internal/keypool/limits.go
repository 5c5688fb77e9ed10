package keypool

import (
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// Per-key request caps (KEY_MODEL_LIMITS): Google's free tier allows each project a number of requests
// per minute and per day for each model. A key that has used its share for a model is skipped for that
// model until the window turns, instead of being sent on to collect a 429. Counts are shared between
// instances through the cluster (UsageDelta), so the caps hold for the deployment, not per instance.

// Limit caps requests per minute (RPM) and per day (RPD) of one key for one model; 0 is no cap.
type Limit struct {
	RPM, RPD int
}

func (l Limit) any() bool { return l.RPM > 0 || l.RPD > 0 }

// limitRules maps model names and globs to limits, resolved per model once.
type limitRules struct {
	exact    map[string]Limit
	patterns []limitPattern // longest first
	cache    sync.Map       // model -> Limit
}

type limitPattern struct {
	glob  string
	limit Limit
}

// SetLimits installs KEY_MODEL_LIMITS: model name or glob to its caps.
func (p *Pool) SetLimits(m map[string]Limit) {
	if len(m) == 0 {
		p.limits.Store(nil)
		return
	}
	r := &limitRules{exact: map[string]Limit{}}
	for pattern, l := range m {
		if !l.any() {
			continue
		}
		if strings.ContainsAny(pattern, "*?[") {
			r.patterns = append(r.patterns, limitPattern{pattern, l})
		} else {
			r.exact[pattern] = l
		}
	}
	sort.Slice(r.patterns, func(i, j int) bool { return len(r.patterns[i].glob) > len(r.patterns[j].glob) })
	p.limits.Store(r)
	p.exhausted.Store(&exhaustion{})
}

// LimitFor returns the caps of model; false when it has none.
func (p *Pool) LimitFor(model string) (Limit, bool) {
	r := p.limits.Load()
	if r == nil || model == AllModels {
		return Limit{}, false
	}
	if l, ok := r.cache.Load(model); ok {
		return l.(Limit), l.(Limit).any()
	}
	l, ok := r.exact[model]
	if !ok {
		for _, pt := range r.patterns {
			if m, _ := path.Match(pt.glob, model); m {
				l = pt.limit
				break
			}
		}
	}
	r.cache.Store(model, l)
	return l, l.any()
}

// pacific is where Gemini's daily quotas reset at midnight.
var pacific = func() *time.Location {
	loc, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		// Without tzdata, a fixed UTC-8: at worst an hour early in summer.
		return time.FixedZone("PST", -8*3600)
	}
	return loc
}()

// NextPacificMidnight is when a daily quota used up at now comes back.
func NextPacificMidnight(now time.Time) time.Time {
	t := now.In(pacific)
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, pacific)
}

// pacificDay numbers the quota day of t (days since 1970 in Pacific time).
func pacificDay(t time.Time) int64 {
	y, m, d := t.In(pacific).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// usage counts one key's requests for one model in the current minute and quota day.
type usage struct {
	mu                sync.Mutex
	minute, day       int64 // window numbers
	perMinute, perDay int
}

// roll starts new windows when time moved on.
func (u *usage) roll(minute, day int64) {
	if u.minute != minute {
		u.minute, u.perMinute = minute, 0
	}
	if u.day != day {
		u.day, u.perDay = day, 0
	}
}

// usageOf returns k's counter for model. The counters live in the pool, not in the key: most keys never
// serve a capped model, and 8 bytes more per key put it in the next size class (16 bytes, 1.6 MB at
// 100,000 keys).
func (p *Pool) usageOf(k *Key, model string) *usage {
	var m *sync.Map
	if v, ok := p.usage.Load(k); ok {
		m = v.(*sync.Map)
	} else {
		v, _ := p.usage.LoadOrStore(k, &sync.Map{})
		m = v.(*sync.Map)
	}
	if u, ok := m.Load(model); ok {
		return u.(*usage)
	}
	u, _ := m.LoadOrStore(model, &usage{})
	return u.(*usage)
}

// reserve counts one request of k for model when the caps allow it; otherwise it returns when they
// will (unix nanoseconds).
func (p *Pool) reserve(k *Key, model string, l Limit, now time.Time) (bool, int64) {
	minute, day := now.Unix()/60, pacificDay(now)
	u := p.usageOf(k, model)
	u.mu.Lock()
	u.roll(minute, day)
	var until int64
	if l.RPD > 0 && u.perDay >= l.RPD {
		until = NextPacificMidnight(now).UnixNano()
	} else if l.RPM > 0 && u.perMinute >= l.RPM {
		until = (minute + 1) * 60 * int64(time.Second)
	}
	if until == 0 {
		u.perMinute++
		u.perDay++
	}
	u.mu.Unlock()
	if until == 0 && p.shareUsage.Load() {
		p.noteUsage(UsageDelta{KeyID: k.ID(), Model: model, Minute: minute, Day: day, N: 1})
	}
	return until == 0, until
}

// UsageDelta is requests counted by one instance, for the others (see package cluster).
type UsageDelta struct {
	KeyID  string `json:"key_id"`
	Model  string `json:"model"`
	Minute int64  `json:"minute"`
	Day    int64  `json:"day"`
	N      int    `json:"n"`
}

// pendingUsage gathers this instance's counts until the cluster takes them.
type pendingUsage struct {
	mu sync.Mutex
	m  map[UsageDelta]int // N zero in the key
}

func (p *Pool) noteUsage(d UsageDelta) {
	p.pending.mu.Lock()
	defer p.pending.mu.Unlock()
	if p.pending.m == nil {
		p.pending.m = map[UsageDelta]int{}
	}
	n := d.N
	d.N = 0
	p.pending.m[d] += n
}

// ShareUsage makes the pool gather its request counts for TakeUsage; the cluster turns it on.
func (p *Pool) ShareUsage(on bool) { p.shareUsage.Store(on) }

// TakeUsage returns and forgets the counts gathered since the last call.
func (p *Pool) TakeUsage() []UsageDelta {
	p.pending.mu.Lock()
	m := p.pending.m
	p.pending.m = nil
	p.pending.mu.Unlock()
	out := make([]UsageDelta, 0, len(m))
	for d, n := range m {
		d.N = n
		out = append(out, d)
	}
	return out
}

// AddUsage adds counts another instance made; counts of windows that have passed are dropped.
func (p *Pool) AddUsage(deltas []UsageDelta) {
	for _, d := range deltas {
		k, ok := p.LookupID(d.KeyID)
		if !ok || d.N <= 0 {
			continue
		}
		now := p.now()
		u := p.usageOf(k, d.Model)
		u.mu.Lock()
		u.roll(now.Unix()/60, pacificDay(now))
		if d.Minute == u.minute {
			u.perMinute += d.N
		}
		if d.Day == u.day {
			u.perDay += d.N
		}
		u.mu.Unlock()
	}
}

// Usage is a key's requests for one model in the current minute and quota day, with its caps.
type Usage struct {
	Model     string `json:"model"`
	Minute    int    `json:"minute"`
	Day       int    `json:"day"`
	RPM       int    `json:"rpm_limit,omitempty"`
	RPD       int    `json:"rpd_limit,omitempty"`
	AtCapNow  bool   `json:"at_cap"`
	ResetsDay string `json:"day_resets_at,omitempty"`
}

// UsageOf lists k's counted usage per model in the current windows (models with a cap only).
func (p *Pool) UsageOf(k *Key) []Usage {
	now := p.now()
	minute, day := now.Unix()/60, pacificDay(now)
	var out []Usage
	v, ok := p.usage.Load(k)
	if !ok {
		return nil
	}
	v.(*sync.Map).Range(func(key, value any) bool {
		model := key.(string)
		l, ok := p.LimitFor(model)
		if !ok {
			return true
		}
		u := value.(*usage)
		u.mu.Lock()
		u.roll(minute, day)
		e := Usage{Model: model, Minute: u.perMinute, Day: u.perDay, RPM: l.RPM, RPD: l.RPD,
			ResetsDay: NextPacificMidnight(now).UTC().Format(time.RFC3339)}
		e.AtCapNow = (l.RPM > 0 && u.perMinute >= l.RPM) || (l.RPD > 0 && u.perDay >= l.RPD)
		u.mu.Unlock()
		out = append(out, e)
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}
