// Package memo remembers values computed from request bytes that clients send again and again (the
// same tool schemas, the same generationConfig with every call), so that the work is done once.
package memo

import "sync"

// Bytes maps byte strings to values, bounded by the bytes it holds: when a new entry would pass the
// budget it starts over empty, so a burst of distinct keys costs what it cost without it. Safe for
// concurrent use; values are shared, so callers must not change them.
type Bytes[V any] struct {
	mu     sync.Mutex
	budget int
	used   int
	m      map[string]V
}

// New returns a memo holding at most budget bytes (as counted by Put's callers).
func New[V any](budget int) *Bytes[V] { return &Bytes[V]{budget: budget} }

// Get returns the value remembered for key.
func (b *Bytes[V]) Get(key []byte) (V, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[string(key)]
	return v, ok
}

// Put remembers v for key, size being what they hold; an entry over a 64th of the budget is not kept,
// so that one huge key cannot crowd out the others.
func (b *Bytes[V]) Put(key []byte, v V, size int) {
	if size > b.budget/64 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil || b.used+size > b.budget {
		b.m, b.used = map[string]V{}, 0
	}
	if _, ok := b.m[string(key)]; !ok {
		b.m[string(key)] = v
		b.used += size
	}
}

// Used returns the bytes held.
func (b *Bytes[V]) Used() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Len returns the number of entries held.
func (b *Bytes[V]) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}
