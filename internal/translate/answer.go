package translate

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// UpstreamFailure is an error Google sent inside a stream.
type UpstreamFailure struct{ Status rpcstatus.Status }

func (u *UpstreamFailure) Error() string { return u.Status.Message }

// DecodeEvent reads one stream event. It returns nil and no error for an event to skip (not JSON: a
// garbled keep-alive must not end an answer that is otherwise fine), and an *UpstreamFailure for
// Google's error envelope.
func DecodeEvent(data []byte) (*gemini.GenerateContentResponse, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, nil
	}
	if resp, ok := scanEvent(data); ok {
		return resp, nil
	}
	var ev struct {
		gemini.GenerateContentResponse
		Error *rpcstatus.Status `json:"error"`
	}
	if json.Unmarshal(data, &ev) != nil {
		return nil, nil
	}
	if ev.Error != nil {
		return nil, &UpstreamFailure{Status: *ev.Error}
	}
	return &ev.GenerateContentResponse, nil
}

// DecodeAnswer reads a whole generateContent answer.
func DecodeAnswer(body []byte) (*gemini.GenerateContentResponse, error) {
	var resp gemini.GenerateContentResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// RecordUsage hands Gemini's token counts to the request log.
func RecordUsage(ctx context.Context, u *gemini.UsageMetadata) {
	if u == nil || reqlog.From(ctx) == nil {
		return
	}
	reqlog.SetUsage(ctx, reqlog.Usage{Prompt: u.PromptTokenCount, Output: u.CandidatesTokenCount,
		Thoughts: u.ThoughtsTokenCount, Cached: u.CachedContentTokenCount})
}

// GoogleMessage is the message of Google's error body (an object, or a list holding one), or a generic
// not-found message when the body has none.
func GoogleMessage(body []byte) string {
	var env struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var arr []json.RawMessage
		if json.Unmarshal(trimmed, &arr) == nil && len(arr) > 0 {
			trimmed = arr[0]
		}
	}
	if json.Unmarshal(trimmed, &env) == nil && env.Error.Message != "" {
		return env.Error.Message
	}
	return "The model was not found."
}

// NotAnAnswer explains a 200 answer that could not be decoded.
const NotAnAnswer = "Gemini answered with something that is not a generateContent response."

// ErrNoEvents is a stream that ended cleanly without one event: not an answer, whatever its status.
var ErrNoEvents = errors.New("Gemini's stream ended without sending any event")

// StreamBreak describes an upstream stream that failed mid-way, for the client's error event.
func StreamBreak(err error) string {
	switch {
	case errors.Is(err, ErrNoEvents):
		return ErrNoEvents.Error() + "."
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "The upstream stream ended unexpectedly."
	case errors.Is(err, ErrEventTooLarge):
		return "The upstream stream sent an event larger than 64 MiB."
	}
	return "The upstream stream broke off: " + err.Error()
}

// WriteCode shows code the model ran the way Gemini Balance showed it, so its users see what they know.
func WriteCode(b *strings.Builder, c *gemini.ExecutableCode) {
	b.WriteString("\n\n---\n\n【代码执行】\n```")
	b.WriteString(strings.ToLower(c.Language))
	b.WriteString("\n")
	b.WriteString(strings.TrimRight(c.Code, "\n"))
	b.WriteString("\n```\n")
}

// WriteCodeResult shows what running the code produced.
func WriteCodeResult(b *strings.Builder, r *gemini.CodeExecutionResult) {
	b.WriteString("\n【执行结果】\n> outcome: ")
	b.WriteString(r.Outcome)
	b.WriteString("\n\n【输出结果】\n```plaintext\n")
	b.WriteString(strings.TrimRight(r.Output, "\n"))
	b.WriteString("\n```\n\n---\n\n")
}

// SearchSources formats a grounded answer's web sources as a Markdown list of links.
var SearchSources = gemini.SearchSources

// RandomID returns prefix and n characters of [A-Za-z0-9] from crypto/rand: ids must not collide
// across instances, and tool call ids are echoed back by clients as keys.
func RandomID(prefix string, n int) string {
	var id strings.Builder // one allocation: the id itself
	id.Grow(len(prefix) + n)
	id.WriteString(prefix)
	var rnd [64]byte
	for n > 0 {
		chunk := rnd[:min(n, len(rnd))]
		RandomChars(chunk)
		id.Write(chunk)
		n -= len(chunk)
	}
	return id.String()
}

// RandomChars fills dst with characters of RandomID's alphabet, from one read of crypto/rand: an
// answer that needs several ids reads once for all of them.
func RandomChars(dst []byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	_, _ = rand.Read(dst)
	for i, b := range dst {
		dst[i] = alphabet[int(b)%len(alphabet)]
	}
}

// CompactArgs is a function call's arguments as a compact JSON object string ("{}" when absent or not
// valid JSON).
func CompactArgs(args json.RawMessage) string {
	var buf bytes.Buffer
	if len(args) > 0 && string(args) != "null" && json.Compact(&buf, args) == nil {
		return buf.String()
	}
	return "{}"
}
