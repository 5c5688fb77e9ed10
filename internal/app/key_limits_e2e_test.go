package app_test

import (
	"encoding/json"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/testutil"
)

// Daily caps are used here rather than per-minute ones: a test must not depend on which minute of the
// wall clock it runs in (the per-minute window is covered with a fake clock in package keypool).

// TestKeyCapsSkipKeysBeforeGoogleSays429: with a cap of one request per key and day for a model, two
// keys serve two requests; the third is refused by gemgate itself, with Retry-After, without a call to
// Google, while other models go on. The panel's key list shows the counts.
func TestKeyCapsSkipKeysBeforeGoogleSays429(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"KEY_MODEL_LIMITS": `{"gemini-2.5-flash": "0/1"}`})
	for i := range 2 {
		if r := h.generate("gemini-2.5-flash", "hi"); r.status != 200 {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
	}
	calls := h.fake.TotalCalls()
	r := h.generate("gemini-2.5-flash", "hi")
	if st := r.googleError(t, 429); st != "RESOURCE_EXHAUSTED" || r.header.Get("Retry-After") == "" {
		t.Fatalf("at the cap: %s, Retry-After %q", st, r.header.Get("Retry-After"))
	}
	if h.fake.TotalCalls() != calls {
		t.Fatal("a key at its cap was sent to Google")
	}
	if r := h.generate("gemini-2.5-pro", "hi"); r.status != 200 {
		t.Fatalf("another model: %d %s", r.status, r.body)
	}
	var status struct {
		Keys []struct {
			ID    string
			Usage []struct {
				Model string
				Day   int
				RPD   int  `json:"rpd_limit"`
				AtCap bool `json:"at_cap"`
			}
		}
	}
	if err := json.Unmarshal(h.do("GET", "/api/keys/status", nil, adminHeader).body, &status); err != nil || len(status.Keys) != 2 {
		t.Fatalf("key status: %v", err)
	}
	for _, k := range status.Keys {
		if len(k.Usage) != 1 || k.Usage[0].Model != "gemini-2.5-flash" || k.Usage[0].Day != 1 || k.Usage[0].RPD != 1 || !k.Usage[0].AtCap {
			t.Fatalf("usage of %s: %+v", k.ID, k.Usage)
		}
	}
}

// TestKeyCapsSharedThroughRedis: requests one instance made count against the caps on the other.
func TestKeyCapsSharedThroughRedis(t *testing.T) {
	t.Parallel()
	a := newHarness(t, fakeupstream.Config{}, withRedis(t, map[string]string{"KEY_MODEL_LIMITS": `{"gemini-2.5-flash": "0/1"}`}))
	bh := a.second()
	other := bh.app

	for range 2 {
		if r := a.generate("gemini-2.5-flash", "hi"); r.status != 200 {
			t.Fatalf("A: %d %s", r.status, r.body)
		}
	}
	testutil.Eventually(t, "B to learn A's counts", func() bool {
		for _, k := range other.Pool.Keys() {
			if u := other.Pool.UsageOf(k); len(u) != 1 || u[0].Day != 1 {
				return false
			}
		}
		return true
	})
	calls := a.fake.TotalCalls()
	bh.generate("gemini-2.5-flash", "hi").googleError(t, 429)
	if a.fake.TotalCalls() != calls {
		t.Fatal("B sent a key at its cap to Google")
	}
}
