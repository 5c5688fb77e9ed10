package upstream

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// MaxClientWait is the longest wait gemgate asks a client to sleep through before retrying. The
// OpenAI and Anthropic SDKs sleep for whatever Retry-After says, without a cap, so a daily quota's
// "come back in 11 hours" would hang them silently; past this, the answer tells clients to give up.
const MaxClientWait = 5 * time.Second

// SetRetryHeaders is the one place every API's error answer gets its retry advice. A wait up to
// MaxClientWait goes out as Retry-After, which clients honour. A longer one, or final (no key can
// serve, which waiting does not change), adds "x-should-retry: false", the header the OpenAI and
// Anthropic SDKs and Claude Code obey, so they fail at once with the message; Retry-After is capped so
// that a client which ignores it still does not sleep for hours.
func SetRetryHeaders(h http.Header, after time.Duration, final bool) {
	if after > 0 {
		h.Set("Retry-After", seconds(min(after, MaxClientWait)))
	}
	if GiveUp(after, final) {
		h.Set("x-should-retry", "false")
	}
}

// GiveUp reports an error answer clients should not retry: final, or a wait past MaxClientWait. APIs
// whose clients read a code rather than headers say it in their body too (OpenAI's insufficient_quota,
// which Codex stops on).
func GiveUp(after time.Duration, final bool) bool {
	return final || after > MaxClientWait
}

// Refused marks an answer to a request gemgate refuses outright (a wrong or missing token): retrying
// it cannot succeed. Claude Code otherwise retries a 401 ten times with backoff.
func Refused(h http.Header) { SetRetryHeaders(h, 0, true) }

// seconds is a Retry-After value: whole seconds, rounded up, at least one.
func seconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

// retryInfo is Google's RetryInfo detail for a wait, as gemini-cli reads it: a delay past five minutes
// makes it stop at once (a terminal quota error) instead of retrying until killed.
func retryInfo(d time.Duration) json.RawMessage {
	b, _ := json.Marshal(map[string]string{
		"@type":      "type.googleapis.com/google.rpc.RetryInfo",
		"retryDelay": seconds(d) + "s",
	})
	return b
}

// quotaDetails keeps what Google said about the exhausted quota (QuotaFailure, ErrorInfo, Help) in
// gemgate's own 429, with a RetryInfo for the real wait in place of Google's.
func quotaDetails(google []json.RawMessage, wait time.Duration) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(google)+1)
	for _, d := range google {
		if !strings.Contains(string(d), "google.rpc.RetryInfo") {
			out = append(out, d)
		}
	}
	return append(out, retryInfo(wait))
}

// WriteError answers a call that got no usable answer in Google's envelope, for the native routes:
// upstream's own (with its details) when there was one, or gemgate's; nothing when the client left.
func WriteError(w http.ResponseWriter, err error) {
	var ue *Error
	if !errors.As(err, &ue) {
		rpcstatus.Write(w, http.StatusBadGateway, err.Error())
		return
	}
	if ue.Canceled {
		return
	}
	SetRetryHeaders(w.Header(), ue.RetryAfter, ue.Final)
	st := ue.Status
	if ue.Final {
		// No key can serve at all. Google answers such account-side conditions ("User location is not
		// supported") with 400 FAILED_PRECONDITION, which gemini-cli does not retry; on a 503 it would
		// retry for minutes.
		st.Code, st.Status = http.StatusBadRequest, "FAILED_PRECONDITION"
	}
	rpcstatus.WriteStatus(w, st)
}
