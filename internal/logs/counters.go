package logs

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/store"
)

// Bucket sizes of the counter tables, in seconds.
const (
	minuteSecs = 60
	hourSecs   = 3600
	daySecs    = 86400
)

// reqKey is a row of gg_stats_minute or gg_stats_hour.
type reqKey struct {
	Bucket int64
	Route  string
	Model  string
	Status int
}

type reqCount struct{ Requests, Attempts, LatencyMS, Refused int64 }

// refused tells a request gemgate answered with a client error without asking Google (wrong route,
// wrong token, bad body): the client's mistake, which says nothing about the keys. A request that
// reached no key for want of one (5xx) is the gateway's failure and is not refused.
func refused(e *reqlog.Entry) bool {
	return len(e.Attempts) == 0 && e.Status >= 400 && e.Status < 500
}

// keyKey is a row of gg_key_stats_hour.
type keyKey struct {
	Bucket int64
	KeyID  string
	Model  string
	Status int
}

type keyCount struct {
	Masked              string
	Attempts, LatencyMS int64
}

// tokenKey is a row of gg_token_daily.
type tokenKey struct {
	Day     int64
	KeyID   string
	Model   string
	TokenID string
}

type tokenCount struct {
	Masked                                    string
	Requests, Prompt, Output, Thought, Cached int64
}

// counters aggregates a batch of entries in memory, so that a batch of thousands of requests becomes a
// handful of upserts.
type counters struct {
	minute map[reqKey]*reqCount
	hour   map[reqKey]*reqCount
	keys   map[keyKey]*keyCount
	tokens map[tokenKey]*tokenCount
}

func newCounters() *counters {
	return &counters{minute: map[reqKey]*reqCount{}, hour: map[reqKey]*reqCount{},
		keys: map[keyKey]*keyCount{}, tokens: map[tokenKey]*tokenCount{}}
}

func floorTo(t time.Time, secs int64) int64 {
	u := t.Unix()
	return u - ((u%secs)+secs)%secs
}

func (c *counters) add(e *reqlog.Entry) {
	model := entryModel(e)
	route := store.Clip(e.Route, maxRoute)
	lat := e.Latency.Milliseconds()
	n := int64(len(e.Attempts))
	for _, m := range []struct {
		to   map[reqKey]*reqCount
		secs int64
	}{{c.minute, minuteSecs}, {c.hour, hourSecs}} {
		k := reqKey{floorTo(e.Start, m.secs), route, model, e.Status}
		v := m.to[k]
		if v == nil {
			v = &reqCount{}
			m.to[k] = v
		}
		v.Requests++
		v.Attempts += n
		v.LatencyMS += lat
		if refused(e) {
			v.Refused++
		}
	}
	for _, a := range e.Attempts {
		if a.HedgeLost() {
			// A cancelled hedge says nothing about its key: the key's success rate must not drop.
			continue
		}
		at := a.Started
		if at.IsZero() {
			at = e.Start
		}
		k := keyKey{floorTo(at, hourSecs), a.KeyID, model, a.Status}
		v := c.keys[k]
		if v == nil {
			v = &keyCount{Masked: a.KeyMasked}
			c.keys[k] = v
		}
		v.Attempts++
		v.LatencyMS += a.Latency.Milliseconds()
	}
	var keyID, masked string
	if n > 0 {
		keyID, masked = e.Attempts[n-1].KeyID, e.Attempts[n-1].KeyMasked
	}
	tk := tokenKey{floorTo(e.Start, daySecs), keyID, model, e.TokenID}
	tv := c.tokens[tk]
	if tv == nil {
		tv = &tokenCount{Masked: masked}
		c.tokens[tk] = tv
	}
	tv.Requests++
	tv.Prompt += int64(e.Usage.Prompt)
	tv.Output += int64(e.Usage.Output)
	tv.Thought += int64(e.Usage.Thoughts)
	tv.Cached += int64(e.Usage.Cached)
}

// CountHistory adds requests logged before gemgate counted them (Gemini Balance's rows) to the
// statistics, in tx, so that the rows are marked counted in the same transaction.
func (s *Store) CountHistory(ctx context.Context, tx *store.Tx, entries []*reqlog.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	c := newCounters()
	for _, e := range entries {
		c.add(e)
	}
	return s.upsertCounters(ctx, tx, c)
}

// sortedKeys returns the map's keys in primary-key order: concurrent writers (several gemgate
// instances on one database) then lock rows in the same order, which avoids most deadlocks.
func sortedKeys[K comparable, V any](m map[K]V, less func(a, b K) int) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, less)
	return out
}

func cmpReq(a, b reqKey) int {
	return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Route, b.Route), cmp.Compare(a.Model, b.Model), cmp.Compare(a.Status, b.Status))
}

func cmpKey(a, b keyKey) int {
	return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.KeyID, b.KeyID), cmp.Compare(a.Model, b.Model), cmp.Compare(a.Status, b.Status))
}

func cmpToken(a, b tokenKey) int {
	return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.KeyID, b.KeyID), cmp.Compare(a.Model, b.Model), cmp.Compare(a.TokenID, b.TokenID))
}
