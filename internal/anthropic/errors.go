package anthropic

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gemgate/gemgate/internal/translate"
	"github.com/gemgate/gemgate/internal/upstream"
)

// Anthropic's error types.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typePermission     = "permission_error"
	typeNotFound       = "not_found_error"
	typeTooLarge       = "request_too_large"
	typeRateLimit      = "rate_limit_error"
	typeAPI            = "api_error"
	typeOverloaded     = "overloaded_error"
)

// statusOverloaded is the status Anthropic answers overloaded_error with; its SDKs and Claude Code
// retry it with backoff.
const statusOverloaded = 529

// errorBody is Anthropic's error object.
type errorBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type errorEnvelope struct {
	Type  string    `json:"type"`
	Error errorBody `json:"error"`
}

func envelope(typ, msg string) errorEnvelope {
	return errorEnvelope{Type: "error", Error: errorBody{Type: typ, Message: msg}}
}

// writeError sends Anthropic's error shape.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	body, _ := json.Marshal(envelope(typ, msg))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Refuse answers a request in Anthropic's error shape, with the type Anthropic uses for status.
func Refuse(w http.ResponseWriter, status int, msg string) {
	writeError(w, status, typeFor(status), msg)
}

// typeFor picks the error type Anthropic uses for a status.
func typeFor(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return typeInvalidRequest
	case http.StatusUnauthorized:
		return typeAuthentication
	case http.StatusForbidden:
		return typePermission
	case http.StatusNotFound:
		return typeNotFound
	case http.StatusRequestEntityTooLarge:
		return typeTooLarge
	case http.StatusTooManyRequests:
		return typeRateLimit
	case http.StatusServiceUnavailable, statusOverloaded:
		return typeOverloaded
	}
	if status >= 500 {
		return typeAPI
	}
	return typeInvalidRequest
}

// failure maps why a call failed onto Anthropic's status and type. Gemini's 503 (the model is
// overloaded) and gemgate's pause of a model failing on every key are overloaded_error with Anthropic's
// 529, which clients retry; every key cooling down is a rate_limit_error with retry advice
// (upstream.SetRetryHeaders).
func failure(err error) (int, errorBody, translate.Failure) {
	f := translate.Describe(err)
	status := f.Status
	if status == http.StatusServiceUnavailable && !f.Final {
		// No key can serve at all: a 503 with x-should-retry: false, which the SDK and Claude Code
		// decline to retry, where a 529 means "overloaded, retry".
		status = statusOverloaded
	}
	typ := typeFor(status)
	if f.Final {
		// Claude Code takes any overloaded_error for a 529 and retries it.
		typ = typeAPI
	}
	return status, errorBody{Type: typ, Message: f.Message}, f
}

// writeFailure answers a request whose call failed before anything was sent.
func writeFailure(w http.ResponseWriter, err error) {
	if translate.Describe(err).Canceled {
		return
	}
	status, body, f := failure(err)
	upstream.SetRetryHeaders(w.Header(), f.RetryAfter, f.Final)
	writeError(w, status, body.Type, body.Message)
}

// writeRequestError answers a request that could not be translated.
func writeRequestError(w http.ResponseWriter, err error) {
	var re *requestError
	var fe *translate.FetchError
	var me *translate.ModelError
	var big *translate.BodyTooLarge
	switch {
	case errors.As(err, &re):
		writeError(w, re.status, re.typ, re.msg)
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, typeInvalidRequest, fe.Param+": "+fe.Message)
	case errors.As(err, &me):
		writeError(w, http.StatusNotFound, typeNotFound, me.Message+" Map Claude model names to Gemini models with ANTHROPIC_MODEL_MAP.")
	case errors.As(err, &big):
		writeError(w, http.StatusRequestEntityTooLarge, typeTooLarge, big.Error())
	default:
		writeError(w, http.StatusBadRequest, typeInvalidRequest, err.Error())
	}
}
