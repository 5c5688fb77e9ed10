package keypool

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/secret"
)

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("AIzaSyTestKey%026d", i)
	}
	return out
}

func TestRoundRobinIsEvenUnderConcurrency(t *testing.T) {
	p := New(keys(7), 3)
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for range 7 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[string]int{}
			for range 1000 {
				k, err := p.Pick("", nil)
				if err != nil {
					t.Error(err)
					return
				}
				local[k.Value()]++
			}
			mu.Lock()
			for k, v := range local {
				counts[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	for k, c := range counts {
		if c != 1000 {
			t.Errorf("key %s picked %d times, want exactly 1000", k, c)
		}
	}
}

func TestFailuresDisableAndSuccessResets(t *testing.T) {
	p := New(keys(2), 3)
	a, _ := p.Lookup(keys(2)[0])
	p.Failure(a, 429, "quota", false)
	p.Failure(a, 429, "quota", false)
	p.Success(a)
	if a.Failures() != 0 {
		t.Fatalf("success did not reset the streak: %d", a.Failures())
	}
	for range 2 {
		if p.Failure(a, 500, "x", false) {
			t.Fatal("disabled before the threshold")
		}
	}
	if !p.Failure(a, 500, "x", false) || !a.Disabled() {
		t.Fatal("not disabled at the threshold")
	}
	for range 10 {
		k, err := p.Pick("", nil)
		if err != nil || k == a {
			t.Fatalf("picked %v, %v", k, err)
		}
	}
	if total, usable := p.Counts(); total != 2 || usable != 1 {
		t.Fatalf("counts %d/%d", total, usable)
	}
	p.Enable(a)
	if a.Disabled() || a.Failures() != 0 {
		t.Fatal("enable did not restore the key")
	}
}

func TestImmediateDisableAndExhaustion(t *testing.T) {
	p := New(keys(2), 10)
	a, _ := p.Lookup(keys(2)[0])
	b, _ := p.Lookup(keys(2)[1])
	p.Failure(a, 400, "API_KEY_INVALID", true)
	if k, err := p.Pick("", []*Key{b}); err != ErrNoKey {
		t.Fatalf("want ErrNoKey, got %v %v", k, err)
	}
	if st := StateOf(a); !st.Disabled || st.DisabledReason != "API_KEY_INVALID" || st.LastErrorCode != 400 {
		t.Fatalf("state %+v", st)
	}
}

func TestPickExcludesTried(t *testing.T) {
	p := New(keys(5), 3)
	var tried []*Key
	for range 5 {
		k, err := p.Pick("", tried)
		if err != nil {
			t.Fatal(err)
		}
		if contains(tried, k) {
			t.Fatal("picked a tried key")
		}
		tried = append(tried, k)
	}
	if _, err := p.Pick("", tried); err != ErrNoKey {
		t.Fatalf("want ErrNoKey, got %v", err)
	}
}

func TestSetKeysKeepsStateAndDrain(t *testing.T) {
	ks := keys(3)
	p := New(ks, 1)
	a, _ := p.Lookup(ks[0])
	p.Failure(a, 403, "suspended", true)
	p.SetKeys(append(ks[:1:1], "AIzaSyNewKey000000000000000000000000000"))
	a2, ok := p.Lookup(ks[0])
	if !ok || a2 != a || !a2.Disabled() {
		t.Fatal("state lost across SetKeys")
	}
	if _, ok := p.Lookup(ks[1]); ok {
		t.Fatal("removed key still present")
	}
	drained := p.Drain()
	if len(drained) != 1 || drained[0].Key != ks[0] {
		t.Fatalf("drain %+v", drained)
	}
	if len(p.Drain()) != 0 {
		t.Fatal("second drain not empty")
	}
	q := New(ks, 3)
	q.Restore(drained)
	r, _ := q.Lookup(ks[0])
	if !r.Disabled() || r.Failures() != 1 {
		t.Fatal("restore lost state")
	}
	if _, usable := q.Counts(); usable != 2 {
		t.Fatalf("usable %d", usable)
	}
}

func TestMemoryFlatWith100kKeys(t *testing.T) {
	ks := keys(100_000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := New(ks, 3)
	for range 1_000_000 {
		k, _ := p.Pick("", nil)
		p.Success(k)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perKey := float64(after.HeapAlloc-before.HeapAlloc) / 100_000
	// A key's own bytes (40) plus its struct and index entry: a few hundred bytes at most, and picking
	// a million times must not grow it.
	t.Logf("%.0f bytes per key", perKey)
	if perKey > 400 {
		t.Fatalf("%.0f bytes per key", perKey)
	}
	runtime.KeepAlive(p)
}

func BenchmarkPick(b *testing.B) {
	for _, n := range []int{10, 1000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p := New(keys(n), 3)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k, _ := p.Pick("", nil)
					p.Success(k)
				}
			})
		})
	}
}

func TestCooldownPerModelWithClock(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := New(keys(2), 3)
	p.SetClock(func() time.Time { return now })
	a, _ := p.Lookup(keys(2)[0])
	b, _ := p.Lookup(keys(2)[1])
	p.CoolDown(a, "pro", now.Add(time.Minute), "minute quota")
	for range 4 {
		if k, _ := p.Pick("pro", nil); k != b {
			t.Fatal("cooling key picked for its model")
		}
	}
	seen := map[*Key]bool{}
	for range 4 {
		k, _ := p.Pick("flash", nil)
		seen[k] = true
	}
	if !seen[a] || !seen[b] {
		t.Fatal("a key cooling for one model was not used for another")
	}
	p.CoolDown(b, "pro", now.Add(2*time.Minute), "minute quota")
	_, err := p.Pick("pro", nil)
	var ce *CoolingError
	if !errors.As(err, &ce) || !ce.Until.Equal(now.Add(time.Minute)) {
		t.Fatalf("want CoolingError until the soonest recovery, got %v", err)
	}
	now = now.Add(61 * time.Second)
	if k, err := p.Pick("pro", nil); err != nil || k != a {
		t.Fatalf("expired cooldown not lifted: %v %v", k, err)
	}
	// A shorter cooldown never shortens a longer one; AllModels covers every model.
	p.CoolDown(a, AllModels, now.Add(time.Hour), "x")
	p.CoolDown(a, AllModels, now.Add(time.Minute), "y")
	if cds := a.CooldownsAt(now); len(cds) != 1 || cds[0].Reason != "x" {
		t.Fatalf("cooldowns %+v", cds)
	}
	st := StateOf(a)
	st.Cooldowns = a.CooldownsAt(now)
	q := New(keys(2), 3)
	q.SetClock(func() time.Time { return now })
	q.Restore([]State{st})
	qa, _ := q.Lookup(keys(2)[0])
	if len(qa.CooldownsAt(now)) != 1 {
		t.Fatal("cooldown not restored")
	}
	p.Enable(a)
	if len(a.CooldownsAt(now)) != 0 {
		t.Fatal("enable kept cooldowns")
	}
}

func BenchmarkPickWhileMostKeysCool(b *testing.B) {
	ks := keys(100_000)
	p := New(ks, 3)
	until := time.Now().Add(time.Hour)
	for i, s := range ks {
		if i%100 != 0 { // 99% of keys out of quota for the model
			k, _ := p.Lookup(s)
			p.CoolDown(k, "pro", until, "day")
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Pick("pro", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestDrainEachInParts(t *testing.T) {
	ks := keys(7)
	p := New(ks, 3)
	for _, s := range ks {
		k, _ := p.Lookup(s)
		p.Success(k)
	}
	var sizes []int
	seen := map[string]bool{}
	p.DrainEach(3, true, func(part []State) {
		sizes = append(sizes, len(part))
		for _, s := range part {
			if seen[s.Key] {
				t.Fatalf("%s drained twice", s.Key)
			}
			seen[s.Key] = true
		}
	})
	if !slices.Equal(sizes, []int{3, 3, 1}) || len(seen) != len(ks) {
		t.Fatalf("parts %v, %d keys", sizes, len(seen))
	}
	p.DrainEach(3, true, func([]State) { t.Fatal("nothing changed since the last drain") })
}

// A success that changes nothing but the last use waits for a drain of uses; one that ends a failure
// streak (a stored count) goes with the next drain.
func TestUsesWaitForTheirDrain(t *testing.T) {
	ks := keys(2)
	p := New(ks, 3)
	used, failed := p.keyOf(t, ks[0]), p.keyOf(t, ks[1])
	p.Failure(failed, 500, "boom", false)
	p.Drain()
	p.Success(used)
	p.Success(failed)
	var got []string
	p.DrainEach(10, false, func(part []State) {
		for _, s := range part {
			got = append(got, s.Key)
			if s.FailureCount != 0 {
				t.Errorf("%s drained with %d failures", s.Key, s.FailureCount)
			}
		}
	})
	if !slices.Equal(got, []string{ks[1]}) {
		t.Fatalf("a drain without uses took %v, want only the key whose failures ended", got)
	}
	got = nil
	p.DrainEach(10, true, func(part []State) {
		for _, s := range part {
			got = append(got, s.Key)
			if s.LastUsedAt.IsZero() {
				t.Errorf("%s drained without its last use", s.Key)
			}
		}
	})
	if !slices.Equal(got, []string{ks[0]}) {
		t.Fatalf("a drain of uses took %v, want the key only used", got)
	}
	p.DrainEach(10, true, func([]State) { t.Fatal("nothing used since the last drain") })
}

func (p *Pool) keyOf(t *testing.T, s string) *Key {
	t.Helper()
	k, ok := p.Lookup(s)
	if !ok {
		t.Fatalf("%s not in the pool", s)
	}
	return k
}

// A key failing with 5xx is passed over while others serve, comes back after its avoidance, is still
// picked when nothing else is left, and is never disabled for it.
func TestShakyKeysAreRoutedAroundNotRefused(t *testing.T) {
	p := New(keys(3), 1)
	now := time.Unix(1_700_000_000, 0)
	p.SetClock(func() time.Time { return now })
	ks := p.Keys()
	for range 3 {
		p.Shaky(ks[0])
	}
	for range 30 {
		k, err := p.Pick("m", nil)
		if err != nil || k == ks[0] {
			t.Fatalf("picked %v (%v) while two others serve", k, err)
		}
	}
	if k, err := p.Pick("m", []*Key{ks[1], ks[2]}); err != nil || k != ks[0] {
		t.Fatalf("the avoided key must still serve when it is all that is left: %v %v", k, err)
	}
	if ks[0].Disabled() || ks[0].Failures() != 0 {
		t.Fatal("5xx charged to the key")
	}
	now = now.Add(shakyMax + shakyMax/4)
	seen := false
	for range 6 {
		if k, _ := p.Pick("m", nil); k == ks[0] {
			seen = true
		}
	}
	if !seen {
		t.Fatal("the key did not come back after its avoidance")
	}
	p.Shaky(ks[0])
	p.Success(ks[0])
	if ks[0].Avoided(now) {
		t.Fatal("a success must end the avoidance")
	}
}

// BenchmarkNew100k is the cost and the memory of building a pool of 100,000 keys.
func BenchmarkNew100k(b *testing.B) {
	ks := keys(100_000)
	b.ReportAllocs()
	for b.Loop() {
		New(ks, 3)
	}
}

// TestMemory100k reports the live heap a pool of 100,000 keys holds.
func TestMemory100k(t *testing.T) {
	ks := keys(100_000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := New(ks, 3)
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("pool of 100,000 keys: %.2f MB live heap", float64(after.HeapAlloc-before.HeapAlloc)/(1<<20))
	runtime.KeepAlive(p)
}

func TestLookupAtScale(t *testing.T) {
	ks := keys(100_000)
	p := New(append(ks, ks[:10]...), 3) // duplicates are dropped
	if total, _ := p.Counts(); total != len(ks) {
		t.Fatalf("%d keys, want %d", total, len(ks))
	}
	for i, s := range ks {
		k, ok := p.Lookup(s)
		if !ok || k.Value() != s || p.Keys()[i] != k {
			t.Fatalf("Lookup(%q) = %v, %v", s, k, ok)
		}
		if byID, ok := p.LookupID(k.ID()); !ok || byID != k {
			t.Fatalf("LookupID(%q) = %v, %v", k.ID(), byID, ok)
		}
	}
	for _, s := range []string{"", "AIzaSyTestKeyMissing", ks[0] + "x"} {
		if _, ok := p.Lookup(s); ok {
			t.Errorf("Lookup(%q) found a key", s)
		}
	}
	// Keys that stay keep their state (and their *Key) through a membership change.
	k0, _ := p.Lookup(ks[0])
	p.SetKeys(ks[:50_000])
	if k, ok := p.Lookup(ks[0]); !ok || k != k0 {
		t.Error("a kept key lost its identity")
	}
	if _, ok := p.Lookup(ks[60_000]); ok {
		t.Error("a removed key is still found")
	}
}

// A pool of 100,000 keys is most of a large instance's live heap, and the GC's goal doubles it in
// RSS: every byte a key carries counts 200 KB. Its bytes per key (the keys' text is the caller's) stay
// near what a key needs: 80 for the key itself (its ID within), 8 in the list, about 10 for the two
// indexes.
func TestPoolHeapPerKey(t *testing.T) {
	const n = 100_000
	values := make([]string, n)
	for i := range values {
		values[i] = fmt.Sprintf("AIzaSyHeap%029d", i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := New(values, 3)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perKey := float64(after.HeapAlloc-before.HeapAlloc) / n
	runtime.KeepAlive(p)
	runtime.KeepAlive(values)
	if perKey > 115 {
		t.Errorf("the pool holds %.1f bytes per key, want at most 115", perKey)
	}
	if k, _ := p.Lookup(values[7]); k == nil || k.ID() != secret.ID(values[7]) {
		t.Fatalf("key 7 lost its ID")
	}
}
