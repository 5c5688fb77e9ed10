// Package testutil holds what the tests of several packages share: waiting for an effect that follows
// an event, the Redis server the multi-instance tests run against, free ports and a buffer for output
// written concurrently. Only _test.go files import it.
// Its own tests check the tree as a whole: that rule, the READMEs' package lists, and that
// internal/fakeupstream imports nothing of gemgate's.
package testutil

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// GiveUp is how long a test waits for an event (an effect, a goroutine's return, a message) before
// calling it lost. It is not a budget the event must meet: it only has to be far above anything a busy
// machine takes, so that a test never fails for being slow, and short enough that a lost event fails
// the test instead of the whole run's -timeout.
const GiveUp = time.Minute

// poll is the pause between two looks at the condition.
const poll = 5 * time.Millisecond

// Eventually waits until cond holds, for effects that follow an event asynchronously (a message from
// another instance applied, an abandoned upstream call cancelled, a background job run). It fails t,
// naming what it waited for, when cond has not held after GiveUp or the test's own deadline.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(GiveUp)
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, set := d.Deadline(); set && end.Before(deadline) {
			deadline = end.Add(-time.Second) // leave time to report
		}
	}
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(poll)
	}
}

// RedisEnv names the variable that points the multi-instance tests at a Redis server.
const RedisEnv = "GEMGATE_TEST_REDIS"

// Redis returns the URL in GEMGATE_TEST_REDIS and a key prefix no other test uses, so that tests
// sharing the server (and engineers sharing the machine) never hear each other; it skips t when the
// variable is unset.
func Redis(t testing.TB) (url, prefix string) {
	t.Helper()
	url = os.Getenv(RedisEnv)
	if url == "" {
		t.Skip(RedisEnv + " not set")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return url, "gemgate-test-" + hex.EncodeToString(b[:])
}

// ClosedAddr returns a loopback address where nothing listens, for a server that is down: connecting
// is refused at once.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// FreePort returns a loopback port nothing listens on, for a server a test starts by port number.
func FreePort(t testing.TB) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(ClosedAddr(t))
	n, err := net.LookupPort("tcp", port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Buffer collects output written from several goroutines (a child process's pipes, a logger) while the
// test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
