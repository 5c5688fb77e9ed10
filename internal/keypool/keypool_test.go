package keypool

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
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
				k, err := p.Pick(nil)
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
		k, err := p.Pick(nil)
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
	if k, err := p.Pick([]*Key{b}); err != ErrNoKey {
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
		k, err := p.Pick(tried)
		if err != nil {
			t.Fatal(err)
		}
		if contains(tried, k) {
			t.Fatal("picked a tried key")
		}
		tried = append(tried, k)
	}
	if _, err := p.Pick(tried); err != ErrNoKey {
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
		k, _ := p.Pick(nil)
		p.Success(k)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perKey := float64(after.HeapAlloc-before.HeapAlloc) / 100_000
	// A key's own bytes (40) plus its struct and index entry: a few hundred bytes at most, and picking
	// a million times must not grow it.
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
					k, _ := p.Pick(nil)
					p.Success(k)
				}
			})
		})
	}
}
