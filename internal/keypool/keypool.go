// Package keypool holds the Gemini API keys and picks one per upstream attempt: round-robin over the
// usable keys, lock-free on the hot path, O(1) per pick, with flat memory at 100,000 keys.
package keypool

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gemgate/gemgate/internal/secret"
)

// ErrNoKey means no usable key is left for this attempt (none configured, all disabled, or all
// already tried by this request).
var ErrNoKey = errors.New("no usable API key")

// Key is one API key with its live state. The pointer is stable for as long as the key stays in the
// pool, so state survives membership changes.
type Key struct {
	// The fields are ordered for size: with 100,000 keys each 8 bytes is 0.8 MB of heap, doubled in RSS
	// by the GC's goal (160 bytes a key at first, 80 now). Requests counted against KEY_MODEL_LIMITS are
	// in Pool.usage.
	value      string
	id         [idLen]byte   // secret.ID(value), held here rather than as a string of its own
	flags      atomic.Uint32 // flagDisabled, flagDirty, and above them the count of consecutive 5xx or network failures (Shaky)
	lastUsed   atomic.Int64  // unix nanoseconds
	avoidUntil atomic.Int64  // unix nanoseconds: picked only when nothing better is left (Shaky)
	lastErr    atomic.Pointer[Failure]
	admin      atomic.Pointer[adminNotes] // nil for most keys
	cool       atomic.Pointer[coolMap]
	failures   atomic.Int32
	rateStreak atomic.Int32 // consecutive 429s without quota details
}

// idLen is the length of secret.ID.
const idLen = 12

// adminNotes are what changes only under Pool.mu, as a whole (copy on write): why the key was
// disabled, and what an admin says about it. One pointer for both, and none for a key with neither.
type adminNotes struct {
	disabledBy string
	meta       *Meta
}

// notes returns a copy of k's admin notes, to change and store with setNotes (under Pool.mu).
func (k *Key) notes() adminNotes {
	if n := k.admin.Load(); n != nil {
		return *n
	}
	return adminNotes{}
}

func (k *Key) setNotes(n adminNotes) { k.admin.Store(&n) }

// meta is the key's metadata, nil when an admin gave none.
func (k *Key) meta() *Meta {
	if n := k.admin.Load(); n != nil {
		return n.meta
	}
	return nil
}

// Bits of Key.flags: one word instead of two atomic.Bool and an atomic.Int32, 4 bytes each.
const (
	flagDisabled = 1 << iota
	flagDirty    // state changed since the last Drain
	flagUsed     // only the last use changed: written by a drain that includes uses

	shakyShift = 8
	flagMask   = 1<<shakyShift - 1
)

func (k *Key) isDisabled() bool { return k.flags.Load()&flagDisabled != 0 }

func (k *Key) setDisabled(on bool) {
	if on {
		k.flags.Or(flagDisabled)
	} else {
		k.flags.And(^uint32(flagDisabled))
	}
}

// markDirty asks the next Drain to include k; a load first keeps the hot path from writing a shared
// cache line that is already set.
func (k *Key) markDirty() {
	if k.flags.Load()&flagDirty == 0 {
		k.flags.Or(flagDirty)
	}
}

// markUsed asks the next drain that includes uses to write k's last use.
func (k *Key) markUsed() {
	if k.flags.Load()&(flagDirty|flagUsed) == 0 {
		k.flags.Or(flagUsed)
	}
}

// takeDirty clears the dirty flag and reports whether it was set; with uses, a key only used counts
// too. Either way the state taken carries the last use, so both flags are cleared.
func (k *Key) takeDirty(uses bool) bool {
	want := uint32(flagDirty)
	if uses {
		want |= flagUsed
	}
	return k.flags.Load()&want != 0 && k.flags.And(^uint32(flagDirty|flagUsed))&want != 0
}

// Failure describes the last failed attempt of a key.
type Failure struct {
	Code    int
	Message string
	At      time.Time
}

// Value is the secret key itself; only the upstream client should read it.
func (k *Key) Value() string { return k.value }

// ID is a short stable identifier that lets an admin find the key without seeing it. The string
// views the key's own bytes, which never change once the key is in a pool: no allocation per call.
func (k *Key) ID() string { return unsafe.String(&k.id[0], idLen) }

// Masked is the key as shown in logs and pages.
func (k *Key) Masked() string { return secret.Mask(k.value) }

// Failures is the number of consecutive failed attempts.
func (k *Key) Failures() int { return int(k.failures.Load()) }

// Disabled reports whether the key is out of rotation.
func (k *Key) Disabled() bool { return k.isDisabled() }

// State is a key's persisted state.
type State struct {
	Key            string
	FailureCount   int
	LastError      string
	LastErrorCode  int
	LastErrorAt    time.Time
	LastUsedAt     time.Time
	Disabled       bool
	DisabledReason string
	Cooldowns      []Cooldown
	Tags           []string
	Weight         int
	Project        string
}

// view is an immutable membership snapshot; picks read it without locking.
type view struct {
	keys     []*Key
	index    *keyIndex // by value
	byID     *keyIndex
	active   []*Key            // keys not disabled, each repeated by its weight, in configured order
	projects map[string][]*Key // keys by project, which share quota and so cooldowns
	rules    *tagRules         // which tags may serve which model
	filtered sync.Map          // tag set -> []*Key: active keys carrying one of the tags, built on demand
}

// newView indexes keys and computes what picks read.
func newView(keys []*Key, index, byID *keyIndex, rules *tagRules) *view {
	v := &view{keys: keys, index: index, byID: byID, rules: rules, projects: map[string][]*Key{}}
	v.active = activeOf(keys)
	for _, k := range keys {
		if m := k.meta(); m != nil && m.Project != "" {
			v.projects[m.Project] = append(v.projects[m.Project], k)
		}
	}
	return v
}

// republish rebuilds the view after a state or metadata change; callers hold p.mu.
func (p *Pool) republish() {
	cur := p.v.Load()
	p.v.Store(newView(cur.keys, cur.index, cur.byID, cur.rules))
}

// Pool is safe for concurrent use. Picks and reports are lock-free; membership changes and
// enable/disable transitions (rare) take a mutex and publish a new view.
type Pool struct {
	mu          sync.Mutex
	v           atomic.Pointer[view]
	cursor      atomic.Uint64
	maxFailures atomic.Int32
	exhausted   atomic.Pointer[exhaustion]
	now         func() time.Time
	hook        atomic.Pointer[func(Event)]
	limits      atomic.Pointer[limitRules] // KEY_MODEL_LIMITS; nil: no caps
	shareUsage  atomic.Bool
	pending     pendingUsage
	usage       sync.Map // *Key -> *sync.Map of model -> *usage: requests counted against KEY_MODEL_LIMITS
}

// New returns a pool of keys (duplicates and empty strings dropped) that disables a key after
// maxFailures consecutive failures.
func New(keys []string, maxFailures int) *Pool {
	p := &Pool{now: time.Now}
	p.maxFailures.Store(int32(max(maxFailures, 1)))
	p.v.Store(&view{index: &keyIndex{}, byID: &keyIndex{}})
	p.SetKeys(keys)
	return p
}

// SetKeys replaces the membership. Keys that stay keep their state; the rotation continues where it was.
func (p *Pool) SetKeys(keys []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.v.Load()
	list := make([]*Key, 0, len(keys))
	index, byID := newKeyIndex(len(keys), keyValue), newKeyIndex(len(keys), keyID)
	var added []*Key
	for _, s := range keys {
		if s == "" || index.find(list, s) != nil {
			continue
		}
		k := old.index.find(old.keys, s)
		if k == nil {
			k = &Key{value: s}
			added = append(added, k)
		}
		list = append(list, k)
		index.add(list, len(list)-1)
	}
	assignIDs(added)
	for i := range list {
		byID.add(list, i)
	}
	p.v.Store(newView(list, &index, &byID, old.rules))
	p.exhausted.Store(&exhaustion{})
	p.usage.Range(func(k, _ any) bool {
		if key := k.(*Key); index.find(list, key.value) != key {
			p.usage.Delete(k) // the key left the pool
		}
		return true
	})
}

// assignIDs gives new keys their IDs.
func assignIDs(keys []*Key) {
	for _, k := range keys {
		copy(k.id[:], secret.ID(k.value))
	}
}

// activeOf lists usable keys in rounds: round r holds every key whose weight exceeds r, so a key of
// weight 3 is picked three times as often as a key of weight 1, spread over the rotation.
func activeOf(keys []*Key) []*Key {
	maxWeight, usable := 1, 0
	for _, k := range keys {
		if !k.isDisabled() {
			usable++
			maxWeight = max(maxWeight, k.weight())
		}
	}
	if usable == len(keys) && maxWeight == 1 {
		// The usual case: the rotation is the key list itself, not a copy (0.8 MB at 100,000 keys).
		return keys
	}
	active := make([]*Key, 0, usable)
	for _, k := range keys {
		if !k.isDisabled() {
			active = append(active, k)
		}
	}
	if maxWeight == 1 {
		return active
	}
	first := active
	for round := 1; round < maxWeight; round++ {
		for _, k := range first {
			if k.weight() > round {
				active = append(active, k)
			}
		}
	}
	return active
}

// SetMaxFailures changes the threshold; keys already past a raised threshold stay disabled until
// re-enabled, since they did fail that often.
func (p *Pool) SetMaxFailures(n int) { p.maxFailures.Store(int32(max(n, 1))) }

// Pick returns the next key usable for model that is not in tried: round-robin from a shared cursor,
// skipping disabled keys and keys cooling down for model. The scan starts where the previous pick
// ended and moves the cursor past what it skipped, so a run of cooling keys is crossed once, not by
// every request. When every key is cooling it returns *CoolingError with the soonest recovery, and
// remembers it so that later requests for the model get the answer without a scan.
func (p *Pool) Pick(model string, tried []*Key) (*Key, error) {
	v := p.v.Load()
	candidates := v.candidates(model)
	n := uint64(len(candidates))
	if n == 0 {
		if len(v.active) > 0 {
			return nil, ErrNoKeyForModel
		}
		return nil, ErrNoKey
	}
	now := p.now().UnixNano()
	if u := p.exhaustedUntil(model, now); u != 0 {
		return nil, &CoolingError{Model: model, Until: time.Unix(0, u)}
	}
	limit, capped := p.LimitFor(model)
	start := p.cursor.Add(1) - 1
	var soonest int64
	var fallback *Key
	for i := range n {
		k := candidates[(start+i)%n]
		if k.isDisabled() || contains(tried, k) {
			continue
		}
		if u := k.coolingUntil(model, now); u != 0 {
			if soonest == 0 || u < soonest {
				soonest = u
			}
			continue
		}
		if k.avoidUntil.Load() > now {
			// A key failing with 5xx is passed over while others serve, but never refused: when it
			// is all that is left it is better than no answer.
			if fallback == nil {
				fallback = k
			}
			continue
		}
		if capped {
			if ok, u := p.reserve(k, model, limit, time.Unix(0, now)); !ok {
				if soonest == 0 || u < soonest {
					soonest = u
				}
				continue
			}
		}
		if i > 1 {
			p.cursor.CompareAndSwap(start+1, start+i+1)
		}
		return k, nil
	}
	if fallback != nil {
		if !capped {
			return fallback, nil
		}
		ok, u := p.reserve(fallback, model, limit, time.Unix(0, now))
		if ok {
			return fallback, nil
		}
		if soonest == 0 || u < soonest {
			soonest = u
		}
	}
	if soonest != 0 && len(tried) == 0 {
		p.markExhausted(model, soonest)
	}
	if soonest != 0 {
		return nil, &CoolingError{Model: model, Until: time.Unix(0, soonest)}
	}
	return nil, ErrNoKey
}

func contains(tried []*Key, k *Key) bool {
	for _, t := range tried {
		if t == k {
			return true
		}
	}
	return false
}

// Success records a successful attempt: the consecutive-failure streaks end. A success that changes
// nothing but the key's last use is written with the next drain of uses (every minute), not the next
// flush: with 100,000 keys in rotation nearly every request was a key-state row written 5 s later.
func (p *Pool) Success(k *Key) {
	k.lastUsed.Store(time.Now().UnixNano())
	if k.failures.Load() == 0 {
		k.markUsed()
	} else {
		k.failures.Store(0)
		k.markDirty()
	}
	if k.rateStreak.Load() != 0 {
		k.rateStreak.Store(0)
	}
	if k.flags.Load()>>shakyShift != 0 {
		// The 5xx streak and its avoidance are not part of the stored state.
		k.flags.And(flagMask)
		k.avoidUntil.Store(0)
	}
}

// Failure records a failed attempt. disable takes the key out of rotation at once (invalid or
// suspended key); otherwise it is taken out when its streak reaches the threshold. It reports whether
// the key was disabled by this call.
func (p *Pool) Failure(k *Key, code int, message string, disable bool) bool {
	now := time.Now()
	k.lastUsed.Store(now.UnixNano())
	k.lastErr.Store(&Failure{Code: code, Message: message, At: now})
	n := k.failures.Add(1)
	k.markDirty()
	if !disable && n < p.maxFailures.Load() {
		return false
	}
	reason := message
	if !disable {
		reason = "too many consecutive failures: " + message
	}
	return p.Disable(k, reason)
}

// Shaky records a 5xx or network failure of k, which says nothing certain about the key (Google
// overloaded, one project in trouble, a dead proxy) and so never counts toward MAX_FAILURES. The key
// is passed over for a short time that doubles with each failure in a row (capped at shakyMax), so a
// cluster of failing keys is routed around instead of being walked into by every request.
func (p *Pool) Shaky(k *Key) time.Duration {
	n := min(int(k.flags.Add(1<<shakyShift)>>shakyShift), 8)
	d := min(shakyFirst<<(n-1), shakyMax)
	d += time.Duration(rand.Int64N(int64(d)/5 + 1))
	k.avoidUntil.Store(p.now().Add(d).UnixNano())
	return d
}

// Shaky bounds: the first avoidance, and the longest.
const (
	shakyFirst = 2 * time.Second
	shakyMax   = time.Minute
)

// Avoided reports whether k is being passed over after 5xx failures.
func (k *Key) Avoided(now time.Time) bool { return k.avoidUntil.Load() > now.UnixNano() }

// RateLimited counts a 429 that named no quota window and returns the streak before it, for an
// exponential cooldown.
func (p *Pool) RateLimited(k *Key) int { return int(k.rateStreak.Add(1)) - 1 }

// Note records a failed attempt that is not a hard failure (the key stays in its streak).
func (p *Pool) Note(k *Key, code int, message string) {
	now := time.Now()
	k.lastUsed.Store(now.UnixNano())
	k.lastErr.Store(&Failure{Code: code, Message: message, At: now})
	k.markDirty()
}

// Enable puts a key back into rotation with a clean streak and no cooldowns.
func (p *Pool) Enable(k *Key) {
	p.enable(k)
	p.emit(Event{Kind: EventEnable, KeyIDs: []string{k.ID()}})
}

func (p *Pool) enable(k *Key) {
	k.failures.Store(0)
	k.flags.And(flagMask)
	k.avoidUntil.Store(0)
	p.clearCooldowns(k)
	p.setDisabled(k, false, "")
}

// Disable takes a key out of rotation; it reports whether the key was usable before.
func (p *Pool) Disable(k *Key, reason string) bool {
	if !p.setDisabled(k, true, reason) {
		return false
	}
	p.emit(Event{Kind: EventDisable, KeyIDs: []string{k.ID()}, Reason: reason})
	return true
}

func (p *Pool) setDisabled(k *Key, disabled bool, reason string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k.isDisabled() == disabled {
		return false
	}
	n := k.notes()
	n.disabledBy = reason
	k.setNotes(n)
	k.setDisabled(disabled)
	k.markDirty()
	p.republish()
	if !disabled {
		p.exhausted.Store(&exhaustion{})
	}
	return true
}

// Lookup finds a key by value.
func (p *Pool) Lookup(value string) (*Key, bool) {
	v := p.v.Load()
	k := v.index.find(v.keys, value)
	return k, k != nil
}

// LookupID finds a key by its ID.
func (p *Pool) LookupID(id string) (*Key, bool) {
	v := p.v.Load()
	k := v.byID.find(v.keys, id)
	return k, k != nil
}

// Keys returns every key in configured order. The slice must not be modified.
func (p *Pool) Keys() []*Key { return p.v.Load().keys }

// Counts returns the number of keys and of usable keys.
func (p *Pool) Counts() (total, usable int) {
	v := p.v.Load()
	return len(v.keys), len(v.active)
}

// StateOf returns k's persistable state.
func StateOf(k *Key) State {
	s := State{Key: k.value, FailureCount: int(k.failures.Load()), Disabled: k.isDisabled()}
	if ns := k.lastUsed.Load(); ns != 0 {
		s.LastUsedAt = time.Unix(0, ns).UTC()
	}
	if f := k.lastErr.Load(); f != nil {
		s.LastError, s.LastErrorCode, s.LastErrorAt = f.Message, f.Code, f.At.UTC()
	}
	if n := k.admin.Load(); n != nil {
		if s.Disabled {
			s.DisabledReason = n.disabledBy
		}
		if m := n.meta; m != nil {
			s.Tags, s.Weight, s.Project = m.Tags, m.Weight, m.Project
		}
	}
	s.Cooldowns = k.Cooldowns()
	return s
}

// Drain returns the state of every key changed or used since the previous Drain, for a batched write.
func (p *Pool) Drain() []State {
	var out []State
	p.DrainEach(512, true, func(part []State) { out = append(out, part...) })
	return out
}

// DrainEach hands fn the state of every key changed since the previous drain (and, with uses, of
// every key used since), at most n states at a time in a buffer fn must not keep. With 100,000 keys
// in rotation most of them change between two flushes, and their states held all at once made a heap
// spike of tens of MB.
func (p *Pool) DrainEach(n int, uses bool, fn func([]State)) {
	part := make([]State, 0, n)
	for _, k := range p.v.Load().keys {
		if !k.takeDirty(uses) {
			continue
		}
		if part = append(part, StateOf(k)); len(part) == n {
			fn(part)
			part = part[:0]
		}
	}
	if len(part) > 0 {
		fn(part)
	}
}

// Restore applies persisted state to keys in the pool (unknown keys are ignored).
func (p *Pool) Restore(states []State) {
	p.mu.Lock()
	cur := p.v.Load()
	for _, s := range states {
		k := cur.index.find(cur.keys, s.Key)
		if k == nil {
			continue
		}
		k.failures.Store(int32(s.FailureCount))
		if !s.LastUsedAt.IsZero() {
			k.lastUsed.Store(s.LastUsedAt.UnixNano())
		}
		if s.LastErrorCode != 0 || s.LastError != "" {
			k.lastErr.Store(&Failure{Code: s.LastErrorCode, Message: s.LastError, At: s.LastErrorAt})
		}
		// Most keys have no reason, cooldown or metadata: nothing is allocated for them (two
		// allocations per key made 6 MB at 100,000 keys).
		hasMeta := len(s.Tags) > 0 || s.Weight != 0 || s.Project != ""
		if s.DisabledReason != "" || hasMeta || k.admin.Load() != nil {
			n := adminNotes{disabledBy: s.DisabledReason}
			if hasMeta || k.meta() != nil {
				n.meta = &Meta{Tags: s.Tags, Weight: s.Weight, Project: s.Project}
			}
			k.setNotes(n)
		}
		k.setDisabled(s.Disabled)
		restoreCooldowns(k, s.Cooldowns, p.now())
	}
	p.republish()
	p.mu.Unlock()
}

// MarkDirty asks the next Drain to include k again (its last write failed).
func (p *Pool) MarkDirty(k *Key) { k.markDirty() }

// SetClock replaces the pool's clock (tests of cooldown expiry).
func (p *Pool) SetClock(now func() time.Time) { p.now = now }

// Now is the pool's clock.
func (p *Pool) Now() time.Time { return p.now() }
