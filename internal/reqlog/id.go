package reqlog

import (
	"context"
	"math/rand/v2"
	"time"
)

type idKey struct{}

// IDLen is the length of a request id from NewID.
const IDLen = 24

// NewID returns a request id (X-Request-Id): 12 hex digits of Unix milliseconds, then 12 random hex
// digits. Ids sort by time, so the request log's request_id index takes each new row at its end instead
// of at a random page (a random id cost the log writer about a fifth of its CPU, docs/benchmarks.md);
// 48 random bits keep ids of the same millisecond apart across processes and instances sharing one
// database (two ids collide with odds of about 1 in 10^14 at ten requests per millisecond). The runtime's
// generator (ChaCha8, seeded from the OS) is enough: an id needs no cryptographic guarantee, and it
// avoids crypto/rand's system call per request on kernels before 6.11.
func NewID() string { return newIDAt(time.Now()) }

func newIDAt(t time.Time) string {
	const digits = "0123456789abcdef"
	var b [IDLen]byte
	ms, r := uint64(t.UnixMilli()), rand.Uint64()
	for i := IDLen/2 - 1; i >= 0; i-- {
		b[i] = digits[ms&15]
		ms >>= 4
	}
	for i := IDLen - 1; i >= IDLen/2; i-- {
		b[i] = digits[r&15]
		r >>= 4
	}
	return string(b[:])
}

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
