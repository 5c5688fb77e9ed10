package fakeupstream

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	typeErrorInfo    = "type.googleapis.com/google.rpc.ErrorInfo"
	typeLocalized    = "type.googleapis.com/google.rpc.LocalizedMessage"
	typeQuotaFailure = "type.googleapis.com/google.rpc.QuotaFailure"
	typeHelp         = "type.googleapis.com/google.rpc.Help"
	typeRetryInfo    = "type.googleapis.com/google.rpc.RetryInfo"
	typeBadRequest   = "type.googleapis.com/google.rpc.BadRequest"

	serviceName = "generativelanguage.googleapis.com"
	contentJSON = "application/json; charset=UTF-8"

	msgInvalidKey   = "API key not valid. Please pass a valid API key."
	msgUnregistered = "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."
	msgOAuth        = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
	msgOverloaded   = "The model is overloaded. Please try again later."
	msgInternal     = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
	msgNotFound     = "Requested entity was not found."
	msgNoPermission = "The caller does not have permission"
	msgLocation     = "User location is not supported for the API use."
	msgBadJSON      = "Invalid JSON payload received. Unexpected token."
	msgQuotaPrefix  = "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: https://ai.dev/rate-limit. "
	rateLimitsDocs  = "https://ai.google.dev/gemini-api/docs/rate-limits"
)

// apiError is google.rpc.Status. details holds the detail structs below; each starts with "@type"
// so the JSON reads like Google's.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []any  `json:"details,omitempty"`
}

type errorInfo struct {
	Type     string            `json:"@type"`
	Reason   string            `json:"reason"`
	Domain   string            `json:"domain,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

type localizedMessage struct {
	Type    string `json:"@type"`
	Locale  string `json:"locale"`
	Message string `json:"message"`
}

type helpLink struct {
	Description string `json:"description"`
	URL         string `json:"url"`
}

type help struct {
	Type  string     `json:"@type"`
	Links []helpLink `json:"links"`
}

type quotaViolation struct {
	QuotaMetric     string            `json:"quotaMetric"`
	QuotaID         string            `json:"quotaId"`
	QuotaDimensions map[string]string `json:"quotaDimensions"`
	QuotaValue      string            `json:"quotaValue"`
}

type quotaFailure struct {
	Type       string           `json:"@type"`
	Violations []quotaViolation `json:"violations"`
}

type retryInfo struct {
	Type       string `json:"@type"`
	RetryDelay string `json:"retryDelay"`
}

type fieldViolation struct {
	Field       string `json:"field,omitempty"`
	Description string `json:"description"`
}

type badRequestDetail struct {
	Type            string           `json:"@type"`
	FieldViolations []fieldViolation `json:"fieldViolations"`
}

// encode renders the envelope the way Google does: indented by two spaces. Success bodies stay compact,
// so clients are exercised on both layouts.
func (e *apiError) encode() []byte {
	b, err := json.MarshalIndent(struct {
		Error *apiError `json:"error"`
	}{e}, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

func newError(code int, status, msg string, details ...any) *apiError {
	return &apiError{Code: code, Message: msg, Status: status, Details: details}
}

func badRequest(msg string) *apiError {
	return newError(http.StatusBadRequest, "INVALID_ARGUMENT", msg)
}

func badJSON() *apiError {
	return newError(http.StatusBadRequest, "INVALID_ARGUMENT", msgBadJSON,
		badRequestDetail{Type: typeBadRequest, FieldViolations: []fieldViolation{{Description: msgBadJSON}}})
}

func invalidKeyError() *apiError {
	return newError(http.StatusBadRequest, "INVALID_ARGUMENT", msgInvalidKey,
		errorInfo{Type: typeErrorInfo, Reason: "API_KEY_INVALID", Domain: "googleapis.com",
			Metadata: map[string]string{"service": serviceName}},
		localizedMessage{Type: typeLocalized, Locale: "en-US", Message: msgInvalidKey})
}

// projectNumber gives each key a stable fake project, so gateways can be tested on reading
// ErrorInfo.metadata.consumer.
func projectNumber(key string) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	return strconv.FormatUint(100000000000+h.Sum64()%900000000000, 10)
}

func suspendedError(key string) *apiError {
	return newError(http.StatusForbidden, "PERMISSION_DENIED",
		"Permission denied: Consumer 'api_key:"+key+"' has been suspended.",
		errorInfo{Type: typeErrorInfo, Reason: "CONSUMER_SUSPENDED", Domain: "googleapis.com",
			Metadata: map[string]string{"service": serviceName, "consumer": "projects/" + projectNumber(key)}})
}

func serviceDisabledError(key string) *apiError {
	project := projectNumber(key)
	activation := "https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=" + project
	msg := "Generative Language API has not been used in project " + project +
		" before or it is disabled. Enable it by visiting " + activation +
		" then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry."
	return newError(http.StatusForbidden, "PERMISSION_DENIED", msg,
		errorInfo{Type: typeErrorInfo, Reason: "SERVICE_DISABLED", Domain: "googleapis.com",
			Metadata: map[string]string{
				"service":       serviceName,
				"consumer":      "projects/" + project,
				"containerInfo": project,
				"serviceTitle":  "Generative Language API",
				"activationUrl": activation,
			}},
		localizedMessage{Type: typeLocalized, Locale: "en-US", Message: msg},
		help{Type: typeHelp, Links: []helpLink{{Description: "Google developers console API activation", URL: activation}}})
}

func oauthError(version string, k kind) *apiError {
	return newError(http.StatusUnauthorized, "UNAUTHENTICATED", msgOAuth,
		errorInfo{Type: typeErrorInfo, Reason: "ACCESS_TOKEN_TYPE_UNSUPPORTED",
			Metadata: map[string]string{
				"service": serviceName,
				"method":  "google.ai.generativelanguage." + version + "." + k.info().rpc,
			}})
}

func modelNotFound(version, model, method string) *apiError {
	return newError(http.StatusNotFound, "NOT_FOUND", "models/"+model+" is not found for API version "+version+
		", or is not supported for "+method+". Call ListModels to see the list of available models and their supported methods.")
}

const (
	metricRequests = "generativelanguage.googleapis.com/generate_content_free_tier_requests"
	metricInput    = "generativelanguage.googleapis.com/generate_content_free_tier_input_token_count"
	quotaMinute    = "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
	quotaDay       = "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
	quotaTokens    = "GenerateContentInputTokensPerModelPerMinute-FreeTier"
)

func violation(metric, id, model, value string) quotaViolation {
	return quotaViolation{QuotaMetric: metric, QuotaID: id, QuotaValue: value,
		QuotaDimensions: map[string]string{"location": "global", "model": model}}
}

// quotaError follows Google's 2025-2026 shape: Help, QuotaFailure, RetryInfo, and a message that
// repeats every violation and a precise retry time, which some proxies keep instead of the details.
func quotaError(model, retryDelay string, vs []quotaViolation) *apiError {
	var msg strings.Builder
	msg.WriteString(msgQuotaPrefix)
	for _, v := range vs {
		fmt.Fprintf(&msg, "\n* Quota exceeded for metric: %s, limit: %s, model: %s", v.QuotaMetric, v.QuotaValue, model)
	}
	msg.WriteString("\nPlease retry in " + preciseRetry(retryDelay) + ".")
	return newError(http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", msg.String(),
		help{Type: typeHelp, Links: []helpLink{{Description: "Learn more about Gemini API quotas", URL: rateLimitsDocs}}},
		quotaFailure{Type: typeQuotaFailure, Violations: vs},
		retryInfo{Type: typeRetryInfo, RetryDelay: retryDelay})
}

// preciseRetry adds the sub-second part Google shows in the message but truncates from RetryInfo.
func preciseRetry(retryDelay string) string {
	d, err := time.ParseDuration(retryDelay)
	if err != nil {
		return retryDelay
	}
	return strconv.FormatFloat((d+200*time.Millisecond).Seconds(), 'f', -1, 64) + "s"
}

const dayRetryDelay = "0s"

func behaviorError(b Behavior, key, model, retryDelay string) *apiError {
	switch b {
	case Invalid:
		return invalidKeyError()
	case Suspended:
		return suspendedError(key)
	case ServiceDisabled:
		return serviceDisabledError(key)
	case RateLimitMinute:
		return quotaError(model, retryDelay, []quotaViolation{violation(metricRequests, quotaMinute, model, "10")})
	case RateLimitDay:
		return quotaError(model, dayRetryDelay, []quotaViolation{violation(metricRequests, quotaDay, model, "250")})
	case NoFreeTier:
		return quotaError(model, retryDelay, []quotaViolation{
			violation(metricInput, quotaTokens, model, "0"),
			violation(metricRequests, quotaMinute, model, "0"),
			violation(metricRequests, quotaDay, model, "0"),
		})
	case Overloaded:
		return newError(http.StatusServiceUnavailable, "UNAVAILABLE", msgOverloaded)
	case Internal:
		return newError(http.StatusInternalServerError, "INTERNAL", msgInternal)
	case Denied:
		return newError(http.StatusForbidden, "PERMISSION_DENIED", msgNoPermission)
	case LocationBlocked:
		return newError(http.StatusBadRequest, "FAILED_PRECONDITION", msgLocation)
	}
	return nil
}

// inputTokenError is the 429 of a request whose own input is larger than the per-minute input-token
// quota: it fails on every key of the tier, however rested.
func inputTokenError(model, retryDelay string, limit int) *apiError {
	return quotaError(model, retryDelay, []quotaViolation{violation(metricInput, quotaTokens, model, strconv.Itoa(limit))})
}

// cachedContentDenied is Google's answer to a cachedContent name the key's project does not hold.
func cachedContentDenied() *apiError {
	return newError(http.StatusForbidden, "PERMISSION_DENIED", "CachedContent not found (or permission denied)")
}

// isKeyLevel tells behaviours that refuse the key on every route from those tied to model quota.
func isKeyLevel(b Behavior) bool {
	return b == Invalid || b == Suspended || b == ServiceDisabled || b == Denied
}

func isQuotaLevel(b Behavior) bool {
	return b == RateLimitMinute || b == RateLimitDay || b == NoFreeTier || b == Overloaded || b == Internal || b == LocationBlocked
}

// Bodies that never vary are encoded once: at benchmark rates, error paths are as hot as success.
var (
	bodyUnregistered = newError(http.StatusForbidden, "PERMISSION_DENIED", msgUnregistered).encode()
	bodyNotFound     = newError(http.StatusNotFound, "NOT_FOUND", msgNotFound).encode()
	bodyNotAllowed   = newError(http.StatusMethodNotAllowed, "UNIMPLEMENTED", "Method Not Allowed").encode()
	bodyInvalidKey   = invalidKeyError().encode()
	bodyOverloaded   = behaviorError(Overloaded, "", "", "").encode()
	bodyInternal     = behaviorError(Internal, "", "", "").encode()
	bodyLocation     = behaviorError(LocationBlocked, "", "", "").encode()
	bodyBadJSON      = badJSON().encode()
)

// writeErrorBody sends an encoded envelope; Google's OpenAI-compatible endpoint wraps it in an array.
func writeErrorBody(w http.ResponseWriter, code int, body []byte, openai bool) {
	h := w.Header()
	h.Set("Content-Type", contentJSON)
	h.Set("Vary", "Origin, X-Origin, Referer")
	w.WriteHeader(code)
	if !openai {
		w.Write(body)
		return
	}
	w.Write([]byte{'['})
	w.Write(body[:len(body)-1])
	w.Write([]byte("\n]\n"))
}

func (s *Server) writeError(c *call, e *apiError) {
	writeErrorBody(c.w, e.Code, e.encode(), c.rt.openai)
}
