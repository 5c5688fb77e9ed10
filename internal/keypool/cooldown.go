package keypool

import (
	"fmt"
	"maps"
	"sort"
	"time"
)

// AllModels is the cooldown scope that covers every model of a key.
const AllModels = ""

// Cooldown takes a key out of rotation for one model (or all) until a time: Google's quotas are per
// project and per model, so a key out of gemini-2.5-pro for today still serves gemini-2.5-flash.
type Cooldown struct {
	Model  string    `json:"model"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

type coolEntry struct {
	until  int64 // unix nanoseconds
	reason string
}

// coolMap is replaced, never modified, so picks read it without locking.
type coolMap map[string]coolEntry

// CoolingError means every usable key is cooling down for the model; Until is the soonest recovery.
type CoolingError struct {
	Model string
	Until time.Time
}

func (e *CoolingError) Error() string {
	return fmt.Sprintf("every API key is cooling down for %s until %s", e.Model, e.Until.UTC().Format(time.RFC3339))
}

// coolingUntil returns when k is usable again for model (0 when it is usable now).
func (k *Key) coolingUntil(model string, now int64) int64 {
	m := k.cool.Load()
	if m == nil {
		return 0
	}
	var until int64
	if e, ok := (*m)[AllModels]; ok && e.until > now {
		until = e.until
	}
	if model != AllModels {
		if e, ok := (*m)[model]; ok && e.until > now && e.until > until {
			until = e.until
		}
	}
	return until
}

// Cooldowns lists the key's cooldowns that have not expired, soonest first.
func (k *Key) Cooldowns() []Cooldown { return k.CooldownsAt(time.Now()) }

// CooldownsAt lists the cooldowns still running at t.
func (k *Key) CooldownsAt(t time.Time) []Cooldown {
	m := k.cool.Load()
	if m == nil {
		return nil
	}
	now := t.UnixNano()
	var out []Cooldown
	for model, e := range *m {
		if e.until > now {
			out = append(out, Cooldown{Model: model, Until: time.Unix(0, e.until).UTC(), Reason: e.reason})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Until.Before(out[j].Until) })
	return out
}

// CoolDown takes k out of rotation for model until the given time. A later cooldown never shortens an
// earlier one.
func (p *Pool) CoolDown(k *Key, model string, until time.Time, reason string) {
	if p.coolDown(k, model, until, reason) {
		p.emit(Event{Kind: EventCool, KeyIDs: []string{k.ID()}, Model: model, Until: until, Reason: reason})
	}
}

func (p *Pool) coolDown(k *Key, model string, until time.Time, reason string) bool {
	now := p.now().UnixNano()
	u := until.UnixNano()
	for {
		old := k.cool.Load()
		next := coolMap{}
		if old != nil {
			for m, e := range *old {
				if e.until > now { // drop expired entries while copying
					next[m] = e
				}
			}
		}
		if e, ok := next[model]; ok && e.until >= u {
			return false
		}
		next[model] = coolEntry{until: u, reason: reason}
		if k.cool.CompareAndSwap(old, &next) {
			k.markDirty()
			return true
		}
	}
}

// clearCooldowns makes k usable again for every model.
func (p *Pool) clearCooldowns(k *Key) {
	k.cool.Store(nil)
	k.markDirty()
	p.exhausted.Store(&exhaustion{})
}

// exhaustion remembers, per model, that a full scan found every key cooling, so that until the soonest
// recovery further requests for that model are answered at once instead of scanning again.
type exhaustion struct {
	byModel map[string]int64
}

func (p *Pool) exhaustedUntil(model string, now int64) int64 {
	ex := p.exhausted.Load()
	if ex == nil || ex.byModel == nil {
		return 0
	}
	if u := ex.byModel[model]; u > now {
		return u
	}
	return 0
}

func (p *Pool) markExhausted(model string, until int64) {
	for {
		old := p.exhausted.Load()
		next := &exhaustion{byModel: map[string]int64{}}
		if old != nil && old.byModel != nil {
			maps.Copy(next.byModel, old.byModel)
		}
		next.byModel[model] = until
		if p.exhausted.CompareAndSwap(old, next) {
			return
		}
	}
}

// restoreCooldowns applies persisted cooldowns, skipping expired ones.
func restoreCooldowns(k *Key, cds []Cooldown, now time.Time) {
	if len(cds) == 0 {
		k.cool.Store(nil)
		return
	}
	m := coolMap{}
	for _, c := range cds {
		if c.Until.After(now) {
			m[c.Model] = coolEntry{until: c.Until.UnixNano(), reason: c.Reason}
		}
	}
	if len(m) == 0 {
		k.cool.Store(nil)
		return
	}
	k.cool.Store(&m)
}
