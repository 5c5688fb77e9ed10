package upstream

import (
	"net/http"
	"strings"

	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// Class is what an upstream answer proves, and so what it does to the key and to the retry loop. A
// gateway is shared by clients who may be hostile: only an answer that proves something about the key
// may cost the key anything, and an answer the request itself caused is the client's, whatever key
// carried it. The whole table is blameRules below; docs/security.md shows it to users.
type Class int

const (
	// OK is a 2xx answer.
	OK Class = iota
	// ClientError is an answer about the request (a bad argument, a resource it cannot use, a missing
	// model): returned to the client in its route's shape, never retried, never charged to a key.
	ClientError
	// KeyInvalid is a key proven dead by Google's own reason (API_KEY_INVALID, CONSUMER_SUSPENDED,
	// SERVICE_DISABLED, API_KEY_SERVICE_BLOCKED): disabled, and the call moves to another key.
	KeyInvalid
	// KeyFailure is an ambiguous refusal (401/403 without a reason naming the key) that a key check
	// with no client data then confirmed: counted toward MAX_FAILURES, retried elsewhere.
	KeyFailure
	// Transient is a 500, 504 or network failure: Google's or the network's trouble, retried on another
	// key; the key is only avoided for a few seconds (routed around, never disabled).
	Transient
	// RateLimited is a 429 about the key's quota: the key cools down for that model for as long as the
	// quota says, and the call moves to another key at once. It never counts toward MAX_FAILURES.
	RateLimited
	// KeySuspect is an ambiguous 401/403 before its key check; the check turns it into KeyFailure,
	// ClientError (the key is fine: the answer was about the request) or Unconfirmed.
	KeySuspect
	// Unconfirmed is a suspect answer whose key check could not decide (Google unreachable, checks
	// saturated): nobody is charged and the call may try another key.
	Unconfirmed
	// Overloaded is a 503 UNAVAILABLE: usually the model, sometimes one project; the key is routed
	// around for a few seconds and the model's failure rate is watched for a model-wide pause.
	Overloaded
	// RequestQuota is a 429 on a per-minute input-token quota whose limit is below the request's own
	// size: it would fail on every key, so it is the client's answer and cools no key.
	RequestQuota
	// Egress is Google refusing gemgate's own egress (unsupported user location): no key is at fault
	// and every key would get the same answer, so it is returned at once and charged to nobody.
	Egress
	// HedgeLost is the half of a hedged call that lost the race: cancelled once the other half
	// answered, charged to no key and counted as no failure.
	HedgeLost
)

var classNames = [...]string{
	OK: "ok", ClientError: "client_error", KeyInvalid: "key_invalid", KeyFailure: "key_failure",
	Transient: "transient", RateLimited: "rate_limited", KeySuspect: "key_suspect", Unconfirmed: "unconfirmed",
	Overloaded: "overloaded", RequestQuota: "request_quota", Egress: "egress", HedgeLost: reqlog.ClassHedgeLost,
}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Retryable reports whether another key may succeed where this attempt failed.
func (c Class) Retryable() bool {
	switch c {
	case OK, ClientError, RequestQuota, Egress:
		return false
	}
	return true
}

// clientAnswer reports whether the answer belongs to the client as it is (Google's status and message).
func (c Class) clientAnswer() bool { return c == ClientError || c == RequestQuota || c == Egress }

// blameRule is one line of the blame table: an answer it matches, and what that answer proves.
type blameRule struct {
	status  int      // HTTP status; 0 matches any
	reasons []string // ErrorInfo reasons, any of which matches; nil matches any
	grpc    string   // google.rpc status name; "" matches any
	message []string // lower-case fragments of the message, any of which matches; nil matches any
	class   Class
}

// deadKeyReasons are ErrorInfo reasons that mean the key cannot work until a person acts.
var deadKeyReasons = []string{"API_KEY_INVALID", "CONSUMER_SUSPENDED", "SERVICE_DISABLED", "API_KEY_SERVICE_BLOCKED"}

// resourceRefusals are the words of Google's refusals of a resource the request names (a file,
// context cache, tuned model or batch of another project, or one that does not exist): 403s that say
// nothing about the key.
var resourceRefusals = []string{
	"permission to access the file", "or it may not exist", "cachedcontent not found", "permission denied on resource",
	"batch not found", "operation not found",
}

// blameRules is the blame table, first match wins. 2xx, 429 and 5xx are decided before it (their
// details are read elsewhere: quota windows, request-sized quotas).
var blameRules = []blameRule{
	{reasons: deadKeyReasons, class: KeyInvalid},
	{status: http.StatusBadRequest, message: []string{"api key not valid", "api key not found", "api key expired"}, class: KeyInvalid},
	{status: http.StatusForbidden, message: []string{"has been suspended", "has not been used in project", "disabled in this account"}, class: KeyInvalid},
	{status: http.StatusBadRequest, message: []string{"user location is not supported"}, class: Egress},
	{status: http.StatusBadRequest, grpc: "FAILED_PRECONDITION", message: []string{"location", "region", "country"}, class: Egress},
	{status: http.StatusForbidden, message: resourceRefusals, class: ClientError},
	{status: http.StatusUnauthorized, class: KeySuspect},
	{status: http.StatusForbidden, class: KeySuspect},
	{status: http.StatusRequestTimeout, class: Transient},
}

// Classify reads an upstream status and body. Google answers an invalid key with 400, like a bad
// request, so the ErrorInfo reason decides; the message is checked too because some paths lose details.
func Classify(status int, p rpcstatus.Parsed) Class {
	switch {
	case status >= 200 && status < 300:
		return OK
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status == http.StatusServiceUnavailable:
		return Overloaded
	case status >= 500:
		return Transient
	}
	msg := strings.ToLower(p.Message)
	for _, r := range blameRules {
		if r.matches(status, p, msg) {
			return r.class
		}
	}
	return ClientError
}

func (r *blameRule) matches(status int, p rpcstatus.Parsed, msg string) bool {
	if r.status != 0 && r.status != status {
		return false
	}
	if r.grpc != "" && r.grpc != p.Status.Status {
		return false
	}
	if r.reasons != nil && !hasAnyReason(p, r.reasons) {
		return false
	}
	return r.message == nil || containsAny(msg, r.message)
}

func hasAnyReason(p rpcstatus.Parsed, reasons []string) bool {
	for _, r := range reasons {
		if p.HasReason(r) {
			return true
		}
	}
	return false
}

func containsAny(s string, fragments []string) bool {
	for _, f := range fragments {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}
