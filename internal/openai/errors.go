package openai

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/upstream"
)

// OpenAI's error types.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeServer         = "server_error"
	TypeUpstream       = "upstream_error"
)

// ErrorBody is OpenAI's error object.
type ErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// WriteError sends OpenAI's error object.
func WriteError(w http.ResponseWriter, status int, message, typ, code, param string) {
	e := ErrorBody{Message: message, Type: typ}
	if code != "" {
		e.Code = &code
	}
	if param != "" {
		e.Param = &param
	}
	body, _ := json.Marshal(struct {
		Error ErrorBody `json:"error"`
	}{e})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// typeFor picks OpenAI's error type for a status.
func typeFor(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return TypeAuthentication
	case status == http.StatusForbidden:
		return TypePermission
	case status == http.StatusNotFound:
		return TypeNotFound
	case status == http.StatusTooManyRequests:
		return TypeRateLimit
	case status >= 500:
		return TypeServer
	}
	return TypeInvalidRequest
}

// WriteUpstreamError turns a failed or refused upstream call into OpenAI's error object with the right
// status: Google's client errors keep their status and message, key trouble that survived every retry
// becomes 429/502, and gemgate's own conditions keep theirs.
func WriteUpstreamError(w http.ResponseWriter, err error) {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		WriteError(w, http.StatusBadGateway, err.Error(), TypeUpstream, "upstream_error", "")
		return
	}
	if ue.Canceled {
		return
	}
	upstream.SetRetryHeaders(w.Header(), ue.RetryAfter, ue.Final)
	status := ue.StatusCode
	// Keys refused by Google are gemgate's problem, not the client's credentials: never pass a 401/403
	// on as if the client's token were wrong.
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		status = http.StatusBadGateway
	}
	typ, code := typeFor(status), codeFor(ue.Status)
	if status == http.StatusTooManyRequests && upstream.GiveUp(ue.RetryAfter, ue.Final) {
		typ, code = quotaType, quotaType
	}
	WriteError(w, status, ue.Status.Message, typ, code, "")
}

// quotaType is OpenAI's error type and code for an exhausted quota (where rate_limit_exceeded is a
// short-term limit): clients such as Codex stop on it instead of retrying.
const quotaType = "insufficient_quota"

func codeFor(s rpcstatus.Status) string {
	if s.Status != "" {
		return s.Status
	}
	return ""
}

// WriteClientError relays a Google client error (a *upstream.Response with a 4xx status) as OpenAI's
// error object, keeping the status and Google's message.
func WriteClientError(w http.ResponseWriter, resp *upstream.Response) {
	p := rpcstatus.Parse(resp.Body)
	msg := p.Message
	if !p.OK {
		msg = string(resp.Body)
	}
	WriteError(w, resp.StatusCode, msg, typeFor(resp.StatusCode), codeFor(p.Status), "")
}
