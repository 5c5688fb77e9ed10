package upstream

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// A model-wide pause needs proof that the model is down, not that a few keys are: over the last
// healthWindow, at least healthMinFailures failed calls on at least healthMinKeys distinct keys (or
// every usable key, when there are fewer) and not one success. A cluster of failing keys (one project
// in trouble, keys behind a dead proxy) leaves successes on the others and never pauses anything; the
// pool routes around those keys instead (keypool.Shaky). While paused, one trial call per
// healthTrialEvery still goes out, through the normal key choice, so recovery is seen at once.
const (
	healthBuckets     = 10 // one-second buckets
	healthWindow      = healthBuckets * time.Second
	healthMinFailures = 20
	healthMinKeys     = 8
	healthPauseFor    = 5 * time.Second
	healthTrialEvery  = time.Second
	healthKeysPerSec  = 16 // distinct failing keys remembered per bucket
)

// modelHealth watches the outcome of calls per model.
type modelHealth struct {
	models sync.Map // model -> *modelWindow
}

type healthBucket struct {
	sec  atomic.Int64
	ok   atomic.Int64
	fail atomic.Int64
	keys []string // distinct failing keys of this second; guarded by modelWindow.mu
}

type modelWindow struct {
	mu         sync.Mutex
	buckets    [healthBuckets]healthBucket
	pausedTill atomic.Int64 // unix nanoseconds
	nextTrial  atomic.Int64
	reason     atomic.Pointer[string]
	lastError  atomic.Pointer[string]
}

func (h *modelHealth) window(model string) *modelWindow {
	if m, ok := h.models.Load(model); ok {
		return m.(*modelWindow)
	}
	m, _ := h.models.LoadOrStore(model, &modelWindow{})
	return m.(*modelWindow)
}

// bucket returns the bucket of second sec, emptied first when it still holds an older second.
func (w *modelWindow) bucket(sec int64) *healthBucket {
	b := &w.buckets[sec%healthBuckets]
	if b.sec.Load() == sec {
		return b
	}
	w.mu.Lock()
	if b.sec.Load() != sec {
		b.ok.Store(0)
		b.fail.Store(0)
		b.keys = b.keys[:0]
		b.sec.Store(sec)
	}
	w.mu.Unlock()
	return b
}

// paused reports why calls for model are paused, or "" when they may go ahead. A paused model still
// lets one call through per healthTrialEvery.
func (h *modelHealth) paused(model string, now time.Time) (string, time.Duration) {
	m, ok := h.models.Load(model)
	if !ok {
		return "", 0
	}
	w := m.(*modelWindow)
	till := w.pausedTill.Load()
	ns := now.UnixNano()
	if till <= ns {
		return "", 0
	}
	if next := w.nextTrial.Load(); next <= ns && w.nextTrial.CompareAndSwap(next, ns+int64(healthTrialEvery)) {
		return "", 0
	}
	return *w.reason.Load(), time.Duration(till - ns)
}

func (h *modelHealth) success(model string, now time.Time) {
	w := h.window(model)
	w.bucket(now.Unix()).ok.Add(1)
	if w.pausedTill.Load() != 0 {
		w.pausedTill.Store(0)
	}
}

// failure records a 5xx or network failure of keyID for model; usable is the number of keys that could
// serve it, so that a small pool can be judged too.
func (h *modelHealth) failure(model, keyID, summary string, usable int, now time.Time) {
	w := h.window(model)
	b := w.bucket(now.Unix())
	b.fail.Add(1)
	w.lastError.Store(&summary)
	w.mu.Lock()
	if len(b.keys) < healthKeysPerSec && !containsString(b.keys, keyID) {
		b.keys = append(b.keys, keyID)
	}
	ok, fail, keys := w.tally(now.Unix())
	w.mu.Unlock()
	needKeys := min(healthMinKeys, max(usable, 1))
	if ok > 0 || fail < healthMinFailures || keys < needKeys {
		return
	}
	reason := fmt.Sprintf("Gemini failed all %d calls for %s in the last %s, on %d different keys, and none succeeded (last answer: %s); "+
		"gemgate pauses calls to it for %s, letting one through each second to see when it is back.",
		fail, orAll(model), healthWindow, keys, summary, healthPauseFor)
	w.reason.Store(&reason)
	w.nextTrial.Store(now.Add(healthTrialEvery).UnixNano())
	w.pausedTill.Store(now.Add(healthPauseFor).UnixNano())
}

// tally sums the live buckets; callers hold w.mu.
func (w *modelWindow) tally(sec int64) (ok, fail int64, keys int) {
	seen := make(map[string]struct{}, healthKeysPerSec)
	for i := range w.buckets {
		b := &w.buckets[i]
		if s := b.sec.Load(); s <= sec-healthBuckets || s > sec {
			continue
		}
		ok += b.ok.Load()
		fail += b.fail.Load()
		for _, k := range b.keys {
			seen[k] = struct{}{}
		}
	}
	return ok, fail, len(seen)
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
