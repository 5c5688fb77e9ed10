package web

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestThrottlePerClient(t *testing.T) {
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

// Guessing from many addresses is slowed down for everyone.
func TestThrottleGlobal(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	th := newThrottle()
	th.now = c.now
	for i := range globalFailures {
		th.fail("192.0.2." + strconv.Itoa(i%250))
	}
	if w := th.wait("198.51.100.99"); w <= 0 || w > failureWindow {
		t.Fatalf("a new client waits %s after %d failures everywhere", w, globalFailures)
	}
	c.advance(failureWindow + time.Second)
	if w := th.wait("198.51.100.99"); w != 0 {
		t.Fatalf("the global block outlived its window: %s", w)
	}
}

func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		remote, xff, want string
	}{
		{"203.0.113.7:5000", "", "203.0.113.7"},
		{"203.0.113.7:5000", "1.2.3.4", "203.0.113.7"}, // a client on the internet cannot choose its address
		{"127.0.0.1:5000", "1.2.3.4, 198.51.100.2", "198.51.100.2"},
		{"10.0.0.3:5000", "198.51.100.2", "198.51.100.2"},
		{"10.0.0.3:5000", "garbage", "10.0.0.3"},
	} {
		r := httptest.NewRequest("POST", "/auth", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := clientIP(r); got != tc.want {
			t.Errorf("clientIP(%s, XFF %q) = %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}
