package logs

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/jsonvalid"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
)

// Mode is what raw logging keeps (REQUEST_LOG_MODE). Statistics and token counts are kept in every mode.
type Mode string

const (
	ModeAll      Mode = "all"      // a request-log row for every request, and the error rows
	ModeFailures Mode = "failures" // rows for requests that failed or needed a retry, and the error rows
	ModeNone     Mode = "none"     // no request-log or error-log rows
)

// Column sizes, so that a long model name or message is cut rather than failing the whole batch.
const (
	maxModel      = 100
	maxRoute      = 20
	maxPath       = 255
	maxErrorLog   = 16000 // MySQL TEXT holds 65,535 bytes: 16,000 characters even at 4 bytes each
	maxErrorText  = 2000
	maxAttemptErr = 300
	// maxRequestMsg bounds a stored request body (ERROR_LOG_RECORD_REQUEST_BODY): bodies with inline
	// media run to megabytes, and the head is what tells what was asked.
	maxRequestMsg = 256 << 10
)

// requestRow is one t_request_log row.
type requestRow struct {
	Time      time.Time
	RequestID string
	KeyID     string
	KeyMasked string
	TokenID   string
	Route     string
	Method    string
	Path      string
	Model     string
	Stream    bool
	Success   bool
	Status    int
	LatencyMS int64
	Attempts  []AttemptView
	Error     string
	Usage     reqlog.Usage
}

// errorRow is one t_error_logs row.
type errorRow struct {
	Time       time.Time
	RequestID  string
	KeyID      string
	KeyMasked  string
	TokenID    string
	Route      string
	Model      string
	Type       string
	Class      string
	Log        string
	Code       int // 0 when no answer came (network failure): stored as NULL
	Attempt    int // 1-based position among the request's attempts; 0 for a refused request
	RequestMsg string
}

// AttemptView is one upstream attempt as stored in t_request_log.attempts and shown by the admin API.
type AttemptView struct {
	KeyID     string    `json:"key_id"`
	Key       string    `json:"key"` // masked
	Status    int       `json:"status"`
	Class     string    `json:"class"`
	LatencyMS int64     `json:"latency_ms"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"at"`
}

// success is the reference's rule: a 2xx final status.
func success(status int) bool { return status >= 200 && status < 300 }

// failedAttempt reports an attempt the error log records: every non-2xx answer, no answer, and a 200
// that was retried for being empty; never a hedge's cancelled half, which failed at nothing.
func failedAttempt(a reqlog.Attempt) bool {
	return !a.HedgeLost() && (a.Class != "ok" || a.Error != "")
}

// rowsOf turns a finished entry into its log rows under mode. Every text that may quote a key or a
// token passes through scrub.
func rowsOf(e *reqlog.Entry, mode Mode, scrub *secret.Scrubber) (*requestRow, []errorRow) {
	if mode == ModeNone {
		return nil, nil
	}
	model := entryModel(e)
	failed := !success(e.Status)
	for _, a := range e.Attempts {
		failed = failed || failedAttempt(a)
	}
	var req *requestRow
	if mode == ModeAll || failed {
		req = requestRowOf(e, model, scrub)
	}
	return req, errorRowsOf(e, model, scrub)
}

func requestRowOf(e *reqlog.Entry, model string, scrub *secret.Scrubber) *requestRow {
	r := &requestRow{
		Time: e.Start, RequestID: e.ID, TokenID: e.TokenID, Route: store.Clip(e.Route, maxRoute), Method: e.Method,
		Path: store.Clip(scrub.String(e.Path), maxPath), Model: model, Stream: e.Stream, Success: success(e.Status),
		Status: e.Status, LatencyMS: e.Latency.Milliseconds(), Usage: e.Usage,
	}
	for _, a := range e.Attempts {
		r.Attempts = append(r.Attempts, AttemptView{KeyID: a.KeyID, Key: a.KeyMasked, Status: a.Status, Class: a.Class,
			LatencyMS: a.Latency.Milliseconds(), Error: store.Clip(scrub.String(a.Error), maxAttemptErr), At: a.Started.UTC()})
	}
	if n := len(e.Attempts); n > 0 {
		last := e.Attempts[n-1]
		r.KeyID, r.KeyMasked = last.KeyID, last.KeyMasked
		if !r.Success {
			r.Error = store.Clip(scrub.String(last.Error), maxErrorText)
		}
	}
	if e.Rejection != "" {
		r.Error = store.Clip(scrub.String(e.Rejection), maxErrorText)
	}
	return r
}

func errorRowsOf(e *reqlog.Entry, model string, scrub *secret.Scrubber) []errorRow {
	// The type and the body are worked out at the first failed attempt: most requests have none.
	var typ, body string
	var out []errorRow
	for i, a := range e.Attempts {
		if !failedAttempt(a) {
			continue
		}
		if out == nil {
			typ = errorType(e.Route, e.Path, e.Stream)
			if len(e.RequestBody) > 0 {
				body = requestMsg(scrub.Bytes(e.RequestBody))
			}
		}
		text := a.Error
		if len(a.ErrorBody) > 0 {
			text = string(a.ErrorBody)
		}
		class := a.Class
		if class == "ok" {
			class = "empty_answer"
		}
		out = append(out, errorRow{Time: a.Started, RequestID: e.ID, KeyID: a.KeyID, KeyMasked: a.KeyMasked,
			TokenID: e.TokenID, Route: e.Route, Model: model, Type: typ, Class: class,
			Log: store.Clip(scrub.String(text), maxErrorLog), Code: a.Status, Attempt: i + 1, RequestMsg: body})
	}
	if len(e.Attempts) == 0 && (e.Rejection != "" || e.Status >= 400) {
		why := e.Rejection
		if why == "" {
			why = "refused by gemgate"
		}
		out = append(out, errorRow{Time: e.Start, RequestID: e.ID, TokenID: e.TokenID, Route: e.Route, Model: model,
			Type: refusalType(e.Status), Class: "refused", Log: store.Clip(scrub.String(why), maxErrorLog), Code: e.Status})
	}
	return out
}

// entryModel is the model a request asked for; the URL names it for native calls refused before the
// handler read their body.
func entryModel(e *reqlog.Entry) string {
	if e.Model != "" {
		return store.Clip(e.Model, maxModel)
	}
	if i := strings.Index(e.Path, "/models/"); i >= 0 {
		m := e.Path[i+len("/models/"):]
		if j := strings.IndexByte(m, ':'); j >= 0 {
			m = m[:j]
		}
		return store.Clip(m, maxModel)
	}
	return ""
}

// errorType names the kind of call with the reference's error_type values, so its UI filters and
// habits carry over.
func errorType(route, path string, stream bool) string {
	streamed := func(base string) string {
		if stream {
			return base + "-stream"
		}
		return base + "-non-stream"
	}
	switch route {
	case "gemini", "vertex":
		action := ""
		if i := strings.LastIndexByte(path, ':'); i >= 0 {
			action = path[i+1:]
		}
		switch action {
		case "generateContent", "streamGenerateContent":
			return streamed("gemini-chat")
		case "countTokens":
			return "gemini-count-tokens"
		case "embedContent":
			return "gemini-embed-single"
		case "batchEmbedContents":
			return "gemini-embed-batch"
		}
		return "gemini-request"
	case "openai":
		switch {
		case strings.HasSuffix(path, "/chat/completions"):
			return streamed("openai-chat")
		case strings.HasSuffix(path, "/embeddings"):
			return "openai-embedding"
		case strings.HasSuffix(path, "/images/generations"):
			return streamed("openai-image")
		case strings.HasSuffix(path, "/audio/speech"):
			return "tts-api-error"
		}
		return "openai-request"
	case "openai-compat":
		switch {
		case strings.HasSuffix(path, "/chat/completions"):
			return streamed("openai-compatiable") // the reference's spelling
		case strings.HasSuffix(path, "/embeddings"):
			return "openai-embedding"
		}
		return "openai-compatiable-request"
	}
	return store.Clip(route+"-request", 50)
}

// refusalType names why gemgate answered without asking Google.
func refusalType(status int) string {
	switch {
	case status == 401 || status == 403:
		return "auth-refused"
	case status >= 500:
		return "gateway-error"
	}
	return "request-refused"
}

// requestMsg makes a stored request body valid JSON, as MySQL's JSON column demands: a body too long or
// not JSON is kept as {"message": head, "truncated": true, "bytes": n}, the reference's fallback shape.
func requestMsg(body []byte) string {
	if len(body) <= maxRequestMsg && jsonvalid.Valid(body) {
		return store.Clip(string(body), maxRequestMsg)
	}
	wrapped, _ := json.Marshal(struct {
		Message   string `json:"message"`
		Truncated bool   `json:"truncated"`
		Bytes     int    `json:"bytes"`
	}{store.Clip(string(body[:min(len(body), maxRequestMsg/2)]), maxRequestMsg/2), len(body) > maxRequestMsg, len(body)})
	return string(wrapped)
}
