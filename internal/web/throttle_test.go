package web

import (
	"strconv"
	"testing"
	"time"
)

func TestThrottlePerClient(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	th := newThrottle()
	th.now = c.now
	const ip = "203.0.113.7"
	for i := range freeFailures - 1 {
		th.fail(ip)
		if w := th.wait(ip); w != 0 {
			t.Fatalf("blocked after %d failures for %s", i+1, w)
		}
	}
	th.fail(ip)
	if w := th.wait(ip); w != firstDelay {
		t.Fatalf("after %d failures wait %s, want %s", freeFailures, w, firstDelay)
	}
	if w := th.wait("198.51.100.1"); w != 0 {
		t.Fatalf("another client waits %s", w)
	}
	// Each further failure doubles the block, up to maxDelay.
	want := firstDelay
	for range 12 {
		c.advance(th.wait(ip))
		th.fail(ip)
		want = min(want*2, maxDelay)
		if w := th.wait(ip); w != want {
			t.Fatalf("wait %s, want %s", w, want)
		}
	}
	th.ok(ip)
	if w := th.wait(ip); w != 0 {
		t.Fatalf("a successful login did not clear the block: %s", w)
	}
	// An hour of quiet starts afresh.
	for range freeFailures {
		th.fail(ip)
	}
	c.advance(forgetAfter + time.Minute)
	th.fail(ip)
	if w := th.wait(ip); w != 0 {
		t.Fatalf("old failures still count: %s", w)
	}
}

// Guessing from many addresses slows every address that failed to one attempt a second between them,
// but an address that has not failed (an admin with the right token) goes straight through.
func TestThrottleGlobal(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	th := newThrottle()
	th.now = c.now
	for i := range globalFailures {
		th.fail("192.0.2." + strconv.Itoa(i%250))
	}
	if w := th.wait("198.51.100.99"); w != 0 {
		t.Fatalf("a fresh address waits %s because of others' failures", w)
	}
	if w := th.wait("192.0.2.1"); w != 0 {
		t.Fatalf("the first slot: %s", w)
	}
	if w := th.wait("192.0.2.2"); w <= 0 || w > pressureSlot {
		t.Fatalf("a second failing address in the same second waits %s", w)
	}
	c.advance(pressureSlot)
	if w := th.wait("192.0.2.2"); w != 0 {
		t.Fatalf("the next slot: %s", w)
	}
	c.advance(failureWindow + time.Second)
	if w := th.wait("192.0.2.3"); w != 0 {
		t.Fatalf("the pressure outlived its window: %s", w)
	}
}
