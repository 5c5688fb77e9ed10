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
// handful of upserts. The counts are map values, not pointers: with 100,000 keys in rotation nearly
// every request adds a key row and a token row, and a pointer per row was an allocation the GC then had
// to mark until the flush.
type counters struct {
	minute map[reqKey]reqCount
	hour   map[reqKey]reqCount
	keys   map[keyKey]keyCount
	tokens map[tokenKey]tokenCount
}

func newCounters() *counters {
	return &counters{minute: map[reqKey]reqCount{}, hour: map[reqKey]reqCount{},
		keys: map[keyKey]keyCount{}, tokens: map[tokenKey]tokenCount{}}
}

// empty reports whether nothing was counted.
func (c *counters) empty() bool { return c.rows() == 0 }

// rows is the number of counter rows held: what a flush would upsert.
func (c *counters) rows() int { return len(c.minute) + len(c.hour) + len(c.keys) + len(c.tokens) }

// merge adds o's counts to c.
func (c *counters) merge(o *counters) {
	for _, m := range [][2]map[reqKey]reqCount{{c.minute, o.minute}, {c.hour, o.hour}} {
		for k, v := range m[1] {
			w := m[0][k]
			w.Requests += v.Requests
			w.Attempts += v.Attempts
			w.LatencyMS += v.LatencyMS
			w.Refused += v.Refused
			m[0][k] = w
		}
	}
	for k, v := range o.keys {
		w, ok := c.keys[k]
		if !ok {
			w.Masked = v.Masked
		}
		w.Attempts += v.Attempts
		w.LatencyMS += v.LatencyMS
		c.keys[k] = w
	}
	for k, v := range o.tokens {
		w, ok := c.tokens[k]
		if !ok {
			w.Masked = v.Masked
		}
		w.Requests += v.Requests
		w.Prompt += v.Prompt
		w.Output += v.Output
		w.Thought += v.Thought
		w.Cached += v.Cached
		c.tokens[k] = w
	}
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
		to   map[reqKey]reqCount
		secs int64
	}{{c.minute, minuteSecs}, {c.hour, hourSecs}} {
		k := reqKey{floorTo(e.Start, m.secs), route, model, e.Status}
		v := m.to[k]
		v.Requests++
		v.Attempts += n
		v.LatencyMS += lat
		if refused(e) {
			v.Refused++
		}
		m.to[k] = v
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
		v, ok := c.keys[k]
		if !ok {
			v.Masked = a.KeyMasked
		}
		v.Attempts++
		v.LatencyMS += a.Latency.Milliseconds()
		c.keys[k] = v
	}
	var keyID, masked string
	if n > 0 {
		keyID, masked = e.Attempts[n-1].KeyID, e.Attempts[n-1].KeyMasked
	}
	tk := tokenKey{floorTo(e.Start, daySecs), keyID, model, e.TokenID}
	tv, ok := c.tokens[tk]
	if !ok {
		tv.Masked = masked
	}
	tv.Requests++
	tv.Prompt += int64(e.Usage.Prompt)
	tv.Output += int64(e.Usage.Output)
	tv.Thought += int64(e.Usage.Thoughts)
	tv.Cached += int64(e.Usage.Cached)
	c.tokens[tk] = tv
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
