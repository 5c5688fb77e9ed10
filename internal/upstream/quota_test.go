package upstream

import (
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// Real 429 bodies (shapes quoted in public issue threads; see /work/shared/spec/peers-and-demand.md §3).
const (
	perDayBody    = `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 250, model: gemini-2.5-pro\nPlease retry in 36.4s.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-pro"},"quotaValue":"250"}]},{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"0s"}]}}`
	perMinuteBody = `{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"10"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"26s"}]}}`
	mixedBody     = `{"error":{"code":429,"message":"x","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateContentInputTokensPerModelPerMinute-FreeTier","quotaDimensions":{"model":"gemini-2.5-pro"},"quotaValue":"125000"},{"quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaDimensions":{"model":"gemini-2.5-pro"},"quotaValue":"100"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"47s"}]}}`
	noTierBody    = `{"error":{"code":429,"message":"You exceeded your current quota.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_input_token_count, limit: 0, model: gemini-2.5-pro","status":"RESOURCE_EXHAUSTED"}}`
	bareBody      = `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`
	oldMinuteBody = `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED","domain":"googleapis.com","metadata":{"quota_limit":"GenerateContentRequestsPerMinutePerProjectPerRegion","quota_metric":"generativelanguage.googleapis.com/generate_content_requests"}}]}}`
)

func TestReadQuota(t *testing.T) {
	cases := []struct {
		body, window, model string
		retry               time.Duration
	}{
		{perDayBody, windowDay, "gemini-2.5-pro", 36400 * time.Millisecond}, // "0s" in RetryInfo, so the message decides
		{perMinuteBody, windowMinute, "gemini-2.5-flash", 26 * time.Second},
		{mixedBody, windowDay, "gemini-2.5-pro", 47 * time.Second},
		{noTierBody, windowNoQuota, "", 0},
		{bareBody, windowUnknown, "", 0},
	}
	for _, c := range cases {
		q := ReadQuota(rpcstatus.Parse([]byte(c.body)))
		if q.Window != c.window || q.Model != c.model || q.Retry != c.retry {
			t.Errorf("%.60s…: got %+v, want %s/%s/%v", c.body, q, c.window, c.model, c.retry)
		}
	}
	if p := rpcstatus.Parse([]byte(oldMinuteBody)); Classify(429, p) != RateLimited {
		t.Fatal("old 429 shape not rate limited")
	}
}

func TestPacificMidnightAcrossDST(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Skip("no tzdata")
	}
	cases := []struct{ now, want time.Time }{
		// The day before DST starts (2026-03-08): the next midnight is still PST, UTC-8.
		{time.Date(2026, 3, 7, 15, 0, 0, 0, la), time.Date(2026, 3, 8, 8, 0, 0, 0, time.UTC)},
		// The day DST starts: a 23-hour day; the next midnight is PDT, UTC-7.
		{time.Date(2026, 3, 8, 12, 0, 0, 0, la), time.Date(2026, 3, 9, 7, 0, 0, 0, time.UTC)},
		// The day DST ends (2026-11-01): a 25-hour day; the next midnight is PST again.
		{time.Date(2026, 11, 1, 0, 30, 0, 0, la), time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)},
		// Late evening UTC is already the next Pacific day only after 08:00 UTC.
		{time.Date(2026, 11, 26, 7, 59, 0, 0, time.UTC), time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		if got := NextPacificMidnight(c.now); !got.Equal(c.want) {
			t.Errorf("NextPacificMidnight(%v) = %v, want %v", c.now, got.UTC(), c.want)
		}
	}
}

func TestCooldownFor(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	until, _ := CooldownFor(Quota{Window: windowMinute, Retry: time.Second}, now, 0)
	if d := until.Sub(now); d < minuteFloor || d > minuteFloor*12/10+time.Millisecond {
		t.Fatalf("minute floor: %v", d)
	}
	until, _ = CooldownFor(Quota{Window: windowMinute, Retry: 40 * time.Second}, now, 0)
	if d := until.Sub(now); d < 40*time.Second || d > 48*time.Second {
		t.Fatalf("retryDelay honoured with jitter: %v", d)
	}
	until, _ = CooldownFor(Quota{Window: windowDay}, now, 0)
	if !until.Equal(NextPacificMidnight(now)) {
		t.Fatalf("day: %v", until)
	}
	prev := time.Duration(0)
	for streak := range 8 {
		until, _ = CooldownFor(Quota{Window: windowUnknown}, now, streak)
		d := until.Sub(now)
		// Growth is checked up to the cap; at the cap the up-to-20% jitter may land below the last one.
		if d < min(prev*9/10, bareCap) || d > bareCap*12/10 {
			t.Fatalf("bare 429 streak %d: %v (prev %v)", streak, d, prev)
		}
		prev = d
	}
	if prev < bareCap {
		t.Fatalf("bare 429 backoff never reached its cap: %v", prev)
	}
}
