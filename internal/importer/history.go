package importer

import (
	"context"
	"fmt"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/logs"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/store"
)

// History says how Gemini Balance's log rows join gemgate's history: the zone their naive times were
// written in, and where their requests are counted into the statistics. The zero value converts no
// time and counts nothing.
type History struct {
	Zone  *time.Location
	Count func(ctx context.Context, tx *store.Tx, entries []*reqlog.Entry) error
}

// NewHistory reads GEMINI_BALANCE_TIMEZONE and counts into st's statistics tables.
func NewHistory(snap *config.Snapshot, st *store.Store) (History, error) {
	zone, err := time.LoadLocation(config.GeminiBalanceTimezone.Get(snap))
	if err != nil {
		return History{}, fmt.Errorf("GEMINI_BALANCE_TIMEZONE: %w", err)
	}
	return History{Zone: zone, Count: logs.NewStore(st).CountHistory}, nil
}

// historyRoute is the route Gemini Balance's requests are counted under: its rows do not say which API
// a request came through.
const historyRoute = "gemini-balance"

// utc turns a naive Gemini Balance time (read as if it were UTC) into the instant it meant: its wall
// clock in the zone it was written in.
func (h History) utc(naive time.Time) time.Time {
	if h.Zone == nil || naive.IsZero() {
		return naive
	}
	y, mo, d := naive.Date()
	hh, mm, ss := naive.Clock()
	return time.Date(y, mo, d, hh, mm, ss, naive.Nanosecond(), h.Zone).UTC()
}

// entry is a Gemini Balance request row as the statistics count it: one attempt, by the row's key.
func entry(at time.Time, model string, status int, latencyMS int64, ref keyRef) *reqlog.Entry {
	e := &reqlog.Entry{Start: at, Route: historyRoute, Model: model, Status: status, Latency: time.Duration(latencyMS) * time.Millisecond}
	if ref.id != "" {
		e.Attempts = []reqlog.Attempt{{KeyID: ref.id, KeyMasked: ref.masked, Status: status, Latency: e.Latency, Started: at}}
	}
	return e
}
