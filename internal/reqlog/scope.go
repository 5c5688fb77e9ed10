package reqlog

import "context"

// Scope is what the middleware chain keeps about one request, carried as the request's context: its
// id, its log entry and the values later stages attach (the client token's grant). It stands in for a
// context value and a copy of the request per middleware: the chain copies the request once, into a
// context that a stage attaches to instead of wrapping.
//
// A Scope belongs to one request: Attach is for the stages that run before the handler, in the
// request's own goroutine, and never after anything may read the context concurrently.
type Scope struct {
	context.Context
	id    string
	entry *Entry
	vals  [2]struct{ key, val any }
}

type scopeKey struct{}

// Init makes s the scope of a request whose context is parent; e may be nil (a request not logged).
func (s *Scope) Init(parent context.Context, id string, e *Entry) {
	*s = Scope{Context: parent, id: id, entry: e}
}

// ScopeOf returns the scope of the request ctx belongs to, or nil.
func ScopeOf(ctx context.Context) *Scope {
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	return s
}

// Attach makes ctx.Value(key) return val for every context of the request, as context.WithValue
// would for the contexts derived from it. It reports false when the scope has no room left.
func (s *Scope) Attach(key, val any) bool {
	for i := range s.vals {
		if s.vals[i].key == nil {
			s.vals[i].key, s.vals[i].val = key, val
			return true
		}
	}
	return false
}

// Value answers for the request id, the entry and the attached values, and asks the parent for the rest.
func (s *Scope) Value(key any) any {
	switch key.(type) {
	case scopeKey:
		return s
	case idKey:
		return s.id
	case ctxKey:
		if s.entry != nil {
			return s.entry
		}
	}
	for i := range s.vals {
		if s.vals[i].key != nil && s.vals[i].key == key {
			return s.vals[i].val
		}
	}
	return s.Context.Value(key)
}
