package upstream

import (
	"net/http"
	"strings"

	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// Class is what an upstream answer means for the key and for the retry loop.
type Class int

const (
	// OK is a 2xx answer.
	OK Class = iota
	// ClientError is the client's own request being wrong: returned as is, never retried, never blamed
	// on the key.
	ClientError
	// KeyInvalid is a dead key (API_KEY_INVALID, suspended, API disabled): disabled at once, retried
	// on another key.
	KeyInvalid
	// KeyFailure is a hard failure charged to the key (authentication, permission): retried elsewhere
	// and counted toward MAX_FAILURES.
	KeyFailure
	// Transient is Google's or the network's trouble (5xx, timeouts, resets): retried elsewhere after a
	// short pause, not the key's fault.
	Transient
	// RateLimited is a 429: the key cools down for that model (for as long as the quota says) and the
	// call moves to another key at once; it does not count toward MAX_FAILURES.
	RateLimited
)

func (c Class) String() string {
	return [...]string{"ok", "client_error", "key_invalid", "key_failure", "transient", "rate_limited"}[c]
}

// Retryable reports whether another key may succeed where this attempt failed.
func (c Class) Retryable() bool { return c != OK && c != ClientError }

// deadKeyReasons are ErrorInfo reasons that mean the key cannot work until a person acts.
var deadKeyReasons = []string{"API_KEY_INVALID", "CONSUMER_SUSPENDED", "SERVICE_DISABLED", "API_KEY_SERVICE_BLOCKED"}

// Classify reads an upstream status and body. Google answers an invalid key with 400, like a bad
// request, so the ErrorInfo reason decides; the message is checked too because some paths lose details.
func Classify(status int, p rpcstatus.Parsed) Class {
	switch {
	case status >= 200 && status < 300:
		return OK
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status >= 500:
		return Transient
	}
	for _, r := range deadKeyReasons {
		if p.HasReason(r) {
			return KeyInvalid
		}
	}
	msg := strings.ToLower(p.Message)
	switch status {
	case http.StatusBadRequest:
		if strings.Contains(msg, "api key not valid") || strings.Contains(msg, "api key not found") || strings.Contains(msg, "api key expired") {
			return KeyInvalid
		}
		return ClientError
	case http.StatusUnauthorized:
		return KeyFailure
	case http.StatusForbidden:
		if strings.Contains(msg, "has been suspended") || strings.Contains(msg, "has not been used in project") {
			return KeyInvalid
		}
		return KeyFailure
	case http.StatusRequestTimeout:
		return Transient
	}
	return ClientError
}
