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
)

var behaviorNames = [...]string{
	OK:              "OK",
	Invalid:         "Invalid",
	Suspended:       "Suspended",
	ServiceDisabled: "ServiceDisabled",
	RateLimitMinute: "RateLimitMinute",
	RateLimitDay:    "RateLimitDay",
	NoFreeTier:      "NoFreeTier",
	Overloaded:      "Overloaded",
	Internal:        "Internal",
	Empty:           "Empty",
	StreamCut:       "StreamCut",
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
