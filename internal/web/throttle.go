package web

import (
	"sync"
	"time"
)

// Login throttling. AUTH_TOKEN is long and random when generated, but admins also pick their own; the
// reference let anyone try tokens as fast as the server answered.
const (
	freeFailures   = 5                // per client and window before delays start
	failureWindow  = time.Minute      // how far back failures count
	firstDelay     = 5 * time.Second  // the first block; each further failure doubles it
	maxDelay       = 15 * time.Minute // longest block of one client
	globalFailures = 60               // failures per window from all clients together before guessing slows for all
	pressureSlot   = time.Second      // under that pressure: one attempt per slot from addresses that failed
	forgetAfter    = time.Hour        // a client without failures for this long starts afresh
	maxClients     = 10000            // tracked clients; past it the quietest are forgotten
)

type clientFailures struct {
	recent  []time.Time // failures within failureWindow
	strikes int         // failures past the free ones; sets the length of the block
	until   time.Time   // blocked until
	last    time.Time
}

// throttle slows down token guessing per client address and across all clients. A flood of wrong
// tokens from many addresses slows every address that has failed to one attempt per pressureSlot
// between them, but never an address that has not failed: an admin who types the right token from a
// fresh address is not locked out by someone else's guessing.
type throttle struct {
	mu       sync.Mutex
	now      func() time.Time
	clients  map[string]*clientFailures
	global   []time.Time
	nextSlot time.Time
}

func newThrottle() *throttle {
	return &throttle{now: time.Now, clients: map[string]*clientFailures{}}
}

// wait tells how long ip must wait before its next attempt; 0 means it may try now (and, under
// pressure, that it took the shared slot).
func (t *throttle) wait(ip string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	c := t.clients[ip]
	if c != nil && now.Before(c.until) {
		return c.until.Sub(now)
	}
	t.global = pruneBefore(t.global, now.Add(-failureWindow))
	if len(t.global) < globalFailures || c == nil || len(pruneBefore(c.recent, now.Add(-failureWindow))) == 0 {
		return 0
	}
	if now.Before(t.nextSlot) {
		return t.nextSlot.Sub(now)
	}
	t.nextSlot = now.Add(pressureSlot)
	return 0
}

// fail records a wrong token from ip.
func (t *throttle) fail(ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	c := t.clients[ip]
	if c == nil || now.Sub(c.last) > forgetAfter {
		t.makeRoom(now)
		c = &clientFailures{}
		t.clients[ip] = c
	}
	c.last = now
	c.recent = append(pruneBefore(c.recent, now.Add(-failureWindow)), now)
	// Once blocked, every further failure doubles the block until the client has been quiet for
	// forgetAfter: waiting out a block does not buy a new set of free guesses.
	if len(c.recent) >= freeFailures || c.strikes > 0 {
		c.strikes++
		c.until = now.Add(blockFor(c.strikes))
	}
	t.global = append(t.global, now)
}

// ok forgets ip's failures after a successful login.
func (t *throttle) ok(ip string) {
	t.mu.Lock()
	delete(t.clients, ip)
	t.mu.Unlock()
}

func blockFor(strikes int) time.Duration {
	d := firstDelay
	for i := 1; i < strikes && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// makeRoom drops clients that have been quiet long enough, and when that is not enough, all of them:
// an attacker cycling through addresses must not exhaust memory. The global limit still holds.
func (t *throttle) makeRoom(now time.Time) {
	if len(t.clients) < maxClients {
		return
	}
	for ip, c := range t.clients {
		if now.Sub(c.last) > forgetAfter || now.After(c.until) {
			delete(t.clients, ip)
		}
	}
	if len(t.clients) >= maxClients {
		t.clients = map[string]*clientFailures{}
	}
}

func pruneBefore(ts []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(cutoff) {
		i++
	}
	return ts[i:]
}
