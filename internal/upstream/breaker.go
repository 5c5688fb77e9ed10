package upstream

import (
	"sync"
	"sync/atomic"
	"time"
)

// Google's overloads (503) and internal errors hit a whole model, not a key: once a model has failed
// this many times in a row across keys, calls for it pause briefly instead of walking every key into
// the same wall.
const (
	breakerThreshold = 8
	breakerOpenFor   = 5 * time.Second
)

// breaker is a per-model circuit breaker over transient upstream failures.
type breaker struct {
	models sync.Map // model -> *modelBreaker
}

type modelBreaker struct {
	streak    atomic.Int32
	openUntil atomic.Int64 // unix nanoseconds
}

func (b *breaker) get(model string) *modelBreaker {
	if m, ok := b.models.Load(model); ok {
		return m.(*modelBreaker)
	}
	m, _ := b.models.LoadOrStore(model, &modelBreaker{})
	return m.(*modelBreaker)
}

// open reports until when calls for model are paused (zero when they may go ahead). After the pause
// calls go through again; one success closes the breaker, one more failure re-opens it.
func (b *breaker) open(model string, now time.Time) time.Time {
	m, ok := b.models.Load(model)
	if !ok {
		return time.Time{}
	}
	if u := m.(*modelBreaker).openUntil.Load(); u > now.UnixNano() {
		return time.Unix(0, u)
	}
	return time.Time{}
}

func (b *breaker) success(model string) {
	if m, ok := b.models.Load(model); ok {
		mb := m.(*modelBreaker)
		if mb.streak.Load() != 0 {
			mb.streak.Store(0)
		}
	}
}

func (b *breaker) failure(model string, now time.Time) {
	m := b.get(model)
	if m.streak.Add(1) >= breakerThreshold {
		m.openUntil.Store(now.Add(breakerOpenFor).UnixNano())
	}
}
