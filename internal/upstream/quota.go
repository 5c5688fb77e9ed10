package upstream

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// Cooling floors and caps. Google's RetryInfo can say "0s" or a few seconds; retrying a key that soon
// mostly burns another attempt, so per-minute cooldowns last at least minuteFloor.
const (
	minuteFloor     = 5 * time.Second
	bareFirst       = 5 * time.Second
	bareCap         = 5 * time.Minute
	windowMinute    = "minute"
	windowDay       = "day"
	windowNoQuota   = "no-free-tier"
	windowUnknown   = "unknown"
	jitterFraction  = 0.2
	noQuotaCooldown = 24 * time.Hour
)

// NextPacificMidnight is when a daily quota exhausted at now comes back; the key pool's daily caps
// (KEY_MODEL_LIMITS) turn at the same moment.
func NextPacificMidnight(now time.Time) time.Time { return keypool.NextPacificMidnight(now) }

// Quota describes a 429: which window ran out and for which model.
type Quota struct {
	Window string // minute, day, no-free-tier or unknown
	Model  string // from quotaDimensions, when Google said
	Retry  time.Duration
	// InputLimit is set when every violation is a per-minute input-token quota: its smallest limit. A
	// request at least that large fails on every key however rested (the request's fault, not the key's).
	InputLimit int
}

// ReadQuota reads a 429 body. One error can list several violations; the longest window wins.
func ReadQuota(p rpcstatus.Parsed) Quota {
	q := Quota{Window: windowUnknown, Retry: p.RetryDelay}
	rank := map[string]int{windowUnknown: 0, windowMinute: 1, windowDay: 2, windowNoQuota: 3}
	consider := func(window, model string) {
		if rank[window] > rank[q.Window] {
			q.Window = window
		}
		if model != "" && q.Model == "" {
			q.Model = model
		}
	}
	for _, v := range p.Violations {
		switch {
		case v.QuotaValue == "0":
			consider(windowNoQuota, v.QuotaDimensions["model"])
		default:
			consider(windowOf(v.QuotaID+" "+v.QuotaMetric), v.QuotaDimensions["model"])
		}
	}
	q.InputLimit = inputTokenLimit(p.Violations)
	msg := p.Message
	if strings.Contains(msg, "limit: 0,") || strings.Contains(msg, "limit: 0\n") || strings.HasSuffix(msg, "limit: 0") {
		consider(windowNoQuota, "")
	}
	if q.Window == windowUnknown {
		// The 2024 shape names the limit in ErrorInfo metadata; the bare message names it too.
		consider(windowOf(msg), "")
	}
	return q
}

// inputTokenLimit is the smallest limit of violations that are all per-minute input-token quotas, or 0.
func inputTokenLimit(vs []rpcstatus.Violation) int {
	limit := 0
	for _, v := range vs {
		what := strings.ToLower(v.QuotaMetric + " " + v.QuotaID)
		if !strings.Contains(what, "input_token") && !strings.Contains(what, "inputtoken") {
			return 0
		}
		if windowOf(v.QuotaID+" "+v.QuotaMetric) != windowMinute {
			return 0
		}
		n, err := strconv.Atoi(v.QuotaValue)
		if err != nil || n <= 0 {
			return 0
		}
		if limit == 0 || n < limit {
			limit = n
		}
	}
	return limit
}

func windowOf(s string) string {
	switch {
	case strings.Contains(s, "PerDay"), strings.Contains(s, "per day"), strings.Contains(s, "PerProjectPerDay"):
		return windowDay
	case strings.Contains(s, "PerMinute"), strings.Contains(s, "per minute"), strings.Contains(s, "per_minute"):
		return windowMinute
	}
	return windowUnknown
}

// CooldownFor says how long a key stays out for the model after a 429. streak counts the key's
// consecutive bare 429s, which back off exponentially since they say nothing about the window.
func CooldownFor(q Quota, now time.Time, streak int) (time.Time, string) {
	switch q.Window {
	case windowDay:
		return NextPacificMidnight(now), "daily quota exhausted; resets at midnight Pacific time"
	case windowNoQuota:
		return now.Add(noQuotaCooldown), "no quota for this model on this key (limit 0); re-checked in 24 h"
	case windowMinute:
		d := max(q.Retry, minuteFloor)
		return now.Add(jitter(d)), "per-minute quota exhausted"
	}
	d := bareFirst << min(streak, 6)
	d = min(d, bareCap)
	if q.Retry > d {
		d = q.Retry
	}
	return now.Add(jitter(d)), "rate limited (429 without quota details)"
}

// jitter spreads recoveries so keys cooled together do not all come back in the same instant.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Float64()*jitterFraction*float64(d))
}
