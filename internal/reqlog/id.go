package reqlog

import "context"

type idKey struct{}

// WithID returns ctx carrying the request id, for every request (logged or not), so that application
// log lines about the request can name it.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, idKey{}, id)
}

// IDFrom returns the request id in ctx, or "".
func IDFrom(ctx context.Context) string {
	if id, ok := ctx.Value(idKey{}).(string); ok {
		return id
	}
	if e := From(ctx); e != nil {
		return e.ID
	}
	return ""
}
