// Package rpcstatus reads and writes Google's error envelope (google.rpc.Status as JSON):
// {"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED","details":[...]}}.
package rpcstatus

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Status is the inner object of Google's error envelope.
type Status struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Status  string            `json:"status"`
	Details []json.RawMessage `json:"details,omitempty"`
}

// Detail is the union of the detail types a gateway reads (ErrorInfo, QuotaFailure, RetryInfo).
type Detail struct {
	Type       string            `json:"@type"`
	Reason     string            `json:"reason"`
	Domain     string            `json:"domain"`
	Metadata   map[string]string `json:"metadata"`
	RetryDelay string            `json:"retryDelay"`
	Violations []Violation       `json:"violations"`
}

// Violation is one QuotaFailure entry.
type Violation struct {
	QuotaMetric     string            `json:"quotaMetric"`
	QuotaID         string            `json:"quotaId"`
	QuotaDimensions map[string]string `json:"quotaDimensions"`
	QuotaValue      string            `json:"quotaValue"`
}

// Parsed is what a gateway needs to know about an upstream error body.
type Parsed struct {
	Status
	Reasons    []string // ErrorInfo reasons
	Violations []Violation
	RetryDelay time.Duration // from RetryInfo, or "Please retry in 36.4s." in the message
	OK         bool          // the body was a Google error envelope
}

// Parse reads an error body. Google's OpenAI-compatible endpoint wraps the envelope in a JSON array,
// so both shapes are accepted. Bodies that are not envelopes give OK=false.
func Parse(body []byte) Parsed {
	body = bytes.TrimSpace(body)
	var env struct {
		Error *Status `json:"error"`
	}
	if len(body) > 0 && body[0] == '[' {
		var arr []json.RawMessage
		if json.Unmarshal(body, &arr) != nil || len(arr) == 0 {
			return Parsed{}
		}
		body = arr[0]
	}
	if json.Unmarshal(body, &env) != nil || env.Error == nil {
		return Parsed{}
	}
	p := Parsed{Status: *env.Error, OK: true}
	for _, raw := range env.Error.Details {
		var d Detail
		if json.Unmarshal(raw, &d) != nil {
			continue
		}
		switch {
		case strings.HasSuffix(d.Type, "ErrorInfo") && d.Reason != "":
			p.Reasons = append(p.Reasons, d.Reason)
		case strings.HasSuffix(d.Type, "QuotaFailure"):
			p.Violations = append(p.Violations, d.Violations...)
		case strings.HasSuffix(d.Type, "RetryInfo"):
			if dur, err := time.ParseDuration(d.RetryDelay); err == nil {
				p.RetryDelay = dur
			}
		}
	}
	if p.RetryDelay == 0 {
		p.RetryDelay = retryFromMessage(p.Message)
	}
	return p
}

// HasReason reports whether an ErrorInfo detail carries reason.
func (p Parsed) HasReason(reason string) bool {
	for _, r := range p.Reasons {
		if r == reason {
			return true
		}
	}
	return false
}

// retryFromMessage reads "Please retry in 36.429760048s." which some paths keep instead of RetryInfo.
func retryFromMessage(msg string) time.Duration {
	const marker = "retry in "
	i := strings.Index(strings.ToLower(msg), marker)
	if i < 0 {
		return 0
	}
	rest := msg[i+len(marker):]
	end := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end <= 0 {
		return 0
	}
	secs, err := strconv.ParseFloat(rest[:end], 64)
	if err != nil {
		return 0
	}
	unit := rest[end:]
	switch {
	case strings.HasPrefix(unit, "ms"):
		return time.Duration(secs * float64(time.Millisecond))
	case strings.HasPrefix(unit, "s"):
		return time.Duration(secs * float64(time.Second))
	}
	return 0
}

// StatusFor maps an HTTP status to Google's canonical status name.
func StatusFor(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusMethodNotAllowed:
		return "UNIMPLEMENTED"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusRequestEntityTooLarge:
		return "INVALID_ARGUMENT"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	if code >= 500 {
		return "INTERNAL"
	}
	return "UNKNOWN"
}

// Write sends Google's error envelope with the canonical status for code.
func Write(w http.ResponseWriter, code int, message string) {
	WriteStatus(w, Status{Code: code, Message: message, Status: StatusFor(code)})
}

// WriteStatus sends an envelope as is.
func WriteStatus(w http.ResponseWriter, s Status) {
	body, _ := json.Marshal(struct {
		Error Status `json:"error"`
	}{s})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(s.Code)
	_, _ = w.Write(body)
}
