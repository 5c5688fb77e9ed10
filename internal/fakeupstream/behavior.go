package fakeupstream

import (
	"strconv"
	"strings"
)

// Behavior is how the fake upstream treats every request made with one API key.
type Behavior int

// The behaviours mirror the failures a key balancer meets on the real API (peers-and-demand.md §3).
const (
	OK              Behavior = iota // normal answers
	Invalid                         // 400 INVALID_ARGUMENT, ErrorInfo API_KEY_INVALID
	Suspended                       // 403 PERMISSION_DENIED, ErrorInfo CONSUMER_SUSPENDED (message leaks the key)
	ServiceDisabled                 // 403 PERMISSION_DENIED, ErrorInfo SERVICE_DISABLED with activationUrl
	RateLimitMinute                 // 429 RESOURCE_EXHAUSTED, per-minute free-tier quota
	RateLimitDay                    // 429 RESOURCE_EXHAUSTED, per-day free-tier quota
	NoFreeTier                      // 429 RESOURCE_EXHAUSTED with quotaValue "0"
	Overloaded                      // 503 UNAVAILABLE "The model is overloaded. Please try again later."
	Internal                        // 500 INTERNAL
	Empty                           // 200 with finishReason STOP and no parts
	StreamCut                       // streams send one event then drop the connection
	// Flaky answers every other generate call with 503 UNAVAILABLE (a key behind a failing proxy, a
	// project in trouble): it works often enough that it must be routed around, not disabled.
	Flaky
	// Denied is 403 PERMISSION_DENIED "The caller does not have permission" on every route, with no
	// ErrorInfo reason: the ambiguous answer a broken key gives, and a key check confirms it.
	Denied
	// LocationBlocked is 400 FAILED_PRECONDITION "User location is not supported for the API use." on
	// generate calls: Google refusing the gateway's egress address, which no key can change.
	LocationBlocked
	// HandshakeRefused refuses the Live API's WebSocket handshake with 503 UNAVAILABLE (a project
	// without Live access, a front end turning connections away); other routes answer normally.
	HandshakeRefused
)

var behaviorNames = [...]string{
	OK:               "OK",
	Invalid:          "Invalid",
	Suspended:        "Suspended",
	ServiceDisabled:  "ServiceDisabled",
	RateLimitMinute:  "RateLimitMinute",
	RateLimitDay:     "RateLimitDay",
	NoFreeTier:       "NoFreeTier",
	Overloaded:       "Overloaded",
	Internal:         "Internal",
	Empty:            "Empty",
	StreamCut:        "StreamCut",
	Flaky:            "Flaky",
	Denied:           "Denied",
	LocationBlocked:  "LocationBlocked",
	HandshakeRefused: "HandshakeRefused",
}

func (b Behavior) String() string {
	if b >= 0 && int(b) < len(behaviorNames) {
		return behaviorNames[b]
	}
	return "Behavior(" + strconv.Itoa(int(b)) + ")"
}

var keySuffixes = [...]struct {
	suffix string
	b      Behavior
}{
	{"-invalid", Invalid},
	{"-suspended", Suspended},
	{"-disabled", ServiceDisabled},
	{"-ratelimit", RateLimitMinute},
	{"-quotaday", RateLimitDay},
	{"-nofreetier", NoFreeTier},
	{"-overloaded", Overloaded},
	{"-internal", Internal},
	{"-empty", Empty},
	{"-streamcut", StreamCut},
	{"-flaky", Flaky},
	{"-denied", Denied},
	{"-location", LocationBlocked},
	{"-nohandshake", HandshakeRefused},
}

// BehaviorFromKeyName maps demo key names to behaviours by suffix ("demo-3-ratelimit" → RateLimitMinute),
// ignoring case so hand-typed demo keys still work; anything else is OK.
func BehaviorFromKeyName(key string) Behavior {
	for _, ks := range keySuffixes {
		if len(key) >= len(ks.suffix) && strings.EqualFold(key[len(key)-len(ks.suffix):], ks.suffix) {
			return ks.b
		}
	}
	return OK
}
