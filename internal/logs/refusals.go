package logs

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemgate/internal/reqlog"
)

// Requests gemgate refuses before asking Google (no or a wrong token, an unknown route, over a token's
// quota, a paused model) cost counters, not rows: an anonymous client sending tens of thousands of
// requests a second must not be able to fill the disk. Each is counted by source address and reason;
// at most refusalSamples of them per source and minute are written as log rows, so the logs still show
// what such traffic looks like (per source and client token, so a token's own refusals still show).
const (
	refusalSamples = 3     // rows per source and minute
	refusalSources = 10000 // sources tracked per minute (and per hour for the counts) before "other"
	refusalTop     = 20    // sources listed in the status
)

// otherSource stands for every source past refusalSources, so an attacker cycling addresses cannot
// grow the maps.
const otherSource = "(other)"

// RefusalReasons lists the reasons refusals are counted under, for metrics.
var RefusalReasons = []string{"missing_token", "invalid_token", "ambiguous_token", "not_found", "over_quota",
	"too_large", "unavailable", "bad_request"}

// refusalReason names why a refused request was refused, from its log entry.
func refusalReason(e *reqlog.Entry) string {
	switch r := e.Rejection; {
	case strings.HasPrefix(r, "missing client token"):
		return "missing_token"
	case strings.HasPrefix(r, "invalid client token"):
		return "invalid_token"
	case strings.HasPrefix(r, "two different client tokens"):
		return "ambiguous_token"
	}
	switch {
	case e.Status == 404 || e.Status == 405:
		return "not_found"
	case e.Status == 429:
		return "over_quota"
	case e.Status == 413:
		return "too_large"
	case e.Status >= 500:
		return "unavailable"
	}
	return "bad_request"
}

// SourceRefusals is one source's refusals in the current hour.
type SourceRefusals struct {
	Source  string           `json:"source"`
	Count   int64            `json:"count"`
	Reasons map[string]int64 `json:"reasons"`
}

// RefusalStats is what the status API shows.
type RefusalStats struct {
	Totals     map[string]int64 `json:"totals"` // since start, by reason
	HourStart  time.Time        `json:"hour_start"`
	TopSources []SourceRefusals `json:"top_sources"` // this hour, most first
	Sampled    int64            `json:"sampled"`     // refusals written as rows, since start
}

type refusalLedger struct {
	mu       sync.Mutex
	pending  *counters // statistics of refusals not written as rows, for the next batch
	minute   int64
	samples  map[string]int
	hour     int64
	bySource map[string]*SourceRefusals
	totals   map[string]int64
	sampled  int64
}

// note counts a refused entry and reports whether it may be written as rows.
func (l *refusalLedger) note(e *reqlog.Entry) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := e.Start
	if at.IsZero() {
		at = time.Now()
	}
	reason := refusalReason(e)
	if l.totals == nil {
		l.totals = map[string]int64{}
	}
	l.totals[reason]++
	source := e.Source
	if source == "" {
		source = "(unknown)"
	}
	if h := at.Unix() / hourSecs; h != l.hour || l.bySource == nil {
		l.hour, l.bySource = h, map[string]*SourceRefusals{}
	}
	s := l.bySource[source]
	if s == nil {
		if len(l.bySource) >= refusalSources {
			source = otherSource
			s = l.bySource[source]
		}
		if s == nil {
			s = &SourceRefusals{Source: source, Reasons: map[string]int64{}}
			l.bySource[source] = s
		}
	}
	s.Count++
	s.Reasons[reason]++
	if m := at.Unix() / minuteSecs; m != l.minute || l.samples == nil {
		l.minute, l.samples = m, map[string]int{}
	}
	// Samples are per source and client token, so that an anonymous flood from an address does not
	// hide the refusals of a token used from the same address.
	sample := source + "|" + e.TokenID
	if _, ok := l.samples[sample]; !ok && len(l.samples) >= refusalSources {
		sample = otherSource
	}
	if l.samples[sample] >= refusalSamples {
		if l.pending == nil {
			l.pending = newCounters()
		}
		countRefusal(l.pending, e)
		return false
	}
	l.samples[sample]++
	l.sampled++
	return true
}

// countRefusal adds a refused entry to the statistics. An anonymous client chooses the path, so its
// model names must not become counter rows.
func countRefusal(c *counters, e *reqlog.Entry) {
	if e.TokenID != "" {
		c.add(e)
		return
	}
	model, path := e.Model, e.Path
	e.Model, e.Path = "", ""
	c.add(e)
	e.Model, e.Path = model, path
}

// takeCounts returns the statistics of refusals not written as rows, as the start of a batch's counters.
func (l *refusalLedger) takeCounts() *counters {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.pending
	l.pending = nil
	if c == nil {
		return newCounters()
	}
	return c
}

func (l *refusalLedger) hasCounts() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending != nil
}

func (l *refusalLedger) stats() RefusalStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := RefusalStats{Totals: map[string]int64{}, HourStart: time.Unix(l.hour*hourSecs, 0).UTC(), Sampled: l.sampled}
	for k, v := range l.totals {
		out.Totals[k] = v
	}
	for _, s := range l.bySource {
		c := *s
		c.Reasons = map[string]int64{}
		for k, v := range s.Reasons {
			c.Reasons[k] = v
		}
		out.TopSources = append(out.TopSources, c)
	}
	slices.SortFunc(out.TopSources, func(a, b SourceRefusals) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return strings.Compare(a.Source, b.Source)
	})
	if len(out.TopSources) > refusalTop {
		out.TopSources = out.TopSources[:refusalTop]
	}
	return out
}

// Refusals returns the refusal counts.
func (w *Writer) Refusals() RefusalStats { return w.refusals.stats() }

// RefusalTotal is the number of refusals for reason since start.
func (w *Writer) RefusalTotal(reason string) int64 {
	w.refusals.mu.Lock()
	defer w.refusals.mu.Unlock()
	return w.refusals.totals[reason]
}
