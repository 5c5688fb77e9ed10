package keypool

import (
	"errors"
	"testing"
	"time"
)

// TestLimitsSkipKeysAtTheirCap: a key that has made its requests for a model this minute (or today) is
// skipped for that model, not for others; when every key is at its cap the pick says when one is back.
func TestLimitsSkipKeysAtTheirCap(t *testing.T) {
	p := New([]string{"k1", "k2"}, 3)
	now := time.Date(2026, 3, 10, 12, 0, 30, 0, time.UTC)
	p.SetClock(func() time.Time { return now })
	p.SetLimits(map[string]Limit{"gemini-2.5-pro": {RPM: 2, RPD: 3}, "*flash*": {RPM: 1}})

	picks := map[string]int{}
	for range 4 {
		k, err := p.Pick("gemini-2.5-pro", nil)
		if err != nil {
			t.Fatal(err)
		}
		picks[k.Value()]++
	}
	if picks["k1"] != 2 || picks["k2"] != 2 {
		t.Fatalf("picks %v, want two each", picks)
	}
	_, err := p.Pick("gemini-2.5-pro", nil)
	var ce *CoolingError
	if !errors.As(err, &ce) || !ce.Until.Equal(time.Date(2026, 3, 10, 12, 1, 0, 0, time.UTC)) {
		t.Fatalf("all at the minute cap: %v", err)
	}
	// Another model is not affected; a model without a cap never is.
	if _, err := p.Pick("gemini-2.5-flash", nil); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := p.Pick("gemma-3", nil); err != nil {
			t.Fatal(err)
		}
	}
	// The next minute the keys are back, until the daily cap (3) ends them for the day.
	now = now.Add(time.Minute)
	p.exhausted.Store(&exhaustion{})
	for range 2 {
		if _, err := p.Pick("gemini-2.5-pro", nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = p.Pick("gemini-2.5-pro", nil)
	if !errors.As(err, &ce) || !ce.Until.Equal(NextPacificMidnight(now)) {
		t.Fatalf("all at the daily cap: %v", err)
	}
	for _, k := range p.Keys() {
		var pro *Usage
		for _, u := range p.UsageOf(k) {
			if u.Model == "gemini-2.5-pro" {
				pro = &u
			}
		}
		if pro == nil || pro.Day != 3 || !pro.AtCapNow || pro.RPD != 3 || pro.RPM != 2 {
			t.Fatalf("usage of %s: %+v", k.Value(), p.UsageOf(k))
		}
	}
}

// TestLimitsCountOtherInstances: counts another instance made (through the cluster) fill the same caps,
// and counts of a past minute are dropped.
func TestLimitsCountOtherInstances(t *testing.T) {
	a, b := New([]string{"k1"}, 3), New([]string{"k1"}, 3)
	now := time.Date(2026, 3, 10, 12, 0, 30, 0, time.UTC)
	for _, p := range []*Pool{a, b} {
		p.SetClock(func() time.Time { return now })
		p.SetLimits(map[string]Limit{"m": {RPM: 2}})
	}
	a.ShareUsage(true)
	if _, err := a.Pick("m", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Pick("m", nil); err != nil {
		t.Fatal(err)
	}
	d := a.TakeUsage()
	if len(d) != 1 || d[0].N != 2 || len(a.TakeUsage()) != 0 {
		t.Fatalf("deltas %+v", d)
	}
	b.AddUsage(d)
	if _, err := b.Pick("m", nil); err == nil {
		t.Fatal("B picked a key A had used up this minute")
	}
	now = now.Add(time.Minute)
	b.exhausted.Store(&exhaustion{})
	b.AddUsage(d) // late news of the last minute
	if _, err := b.Pick("m", nil); err != nil {
		t.Fatalf("a new minute: %v", err)
	}
}
