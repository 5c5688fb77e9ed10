package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gemgate/gemgate/internal/gemini"
)

// messagesRequest is the part of Anthropic's Messages request that has a Gemini meaning. Content and
// system take several shapes and stay raw until they are read. Unknown fields (metadata, service_tier,
// container, mcp_servers...) are ignored, as is cache_control on any block: Gemini caches implicitly.
type messagesRequest struct {
	Model         string          `json:"model"`
	Messages      []message       `json:"messages"`
	System        json.RawMessage `json:"system"`
	MaxTokens     *int            `json:"max_tokens"`
	StopSequences []string        `json:"stop_sequences"`
	Stream        bool            `json:"stream"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	TopK          *int            `json:"top_k"`
	Tools         []tool          `json:"tools"`
	ToolChoice    *toolChoice     `json:"tool_choice"`
	Thinking      *thinking       `json:"thinking"`
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// block is any content block; Type says which fields mean something.
type block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Source    *source         `json:"source"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
	Thinking  string          `json:"thinking"`
	Signature string          `json:"signature"`
}

// source is where an image's or document's data is: base64, a URL, plain text, or content blocks.
type source struct {
	Type      string          `json:"type"`
	MediaType string          `json:"media_type"`
	Data      string          `json:"data"`
	URL       string          `json:"url"`
	Content   json.RawMessage `json:"content"`
	FileID    string          `json:"file_id"`
}

type tool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type toolChoice struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type thinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens"`
}

// requestError is a mistake in the client's request: invalid_request_error with status 400, or the
// status given.
type requestError struct {
	status int
	typ    string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func invalid(format string, args ...any) *requestError {
	return &requestError{status: 400, typ: typeInvalidRequest, msg: fmt.Sprintf(format, args...)}
}

// parseRequest decodes a Messages (or count_tokens) request and checks what every request needs.
// countOnly requests need no max_tokens.
func parseRequest(body []byte, countOnly bool) (*messagesRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("The request body is empty; expected a JSON object with model, max_tokens and messages.")
	}
	req, err := decodeRequest(body)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.TrimSpace(req.Model) == "":
		return nil, invalid("model: Field required")
	case len(req.Messages) == 0:
		return nil, invalid("messages: at least one message is required")
	case !countOnly && req.MaxTokens == nil:
		return nil, invalid("max_tokens: Field required")
	case req.MaxTokens != nil && *req.MaxTokens < 1:
		return nil, invalid("max_tokens: must be at least 1")
	}
	return req, nil
}

// decodeRequest reads the request, the usual shape in place (scanRequest).
func decodeRequest(body []byte) (*messagesRequest, error) {
	if req, ok := scanRequest(body); ok {
		return req, nil
	}
	var req messagesRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, jsonError(err)
	}
	return &req, nil
}

func jsonError(err error) *requestError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return invalid("The request body is not valid JSON: %v (at byte %d).", syn, syn.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return invalid("%s: expected %s, got %s", typ.Field, typ.Type.Kind(), typ.Value)
	case errors.As(err, &typ):
		return invalid("The request body must be a JSON object, not a JSON %s.", typ.Value)
	}
	return invalid("The request body could not be read: %v.", err)
}

// blocks reads content that is a string (one text block) or a list of blocks.
func blocks(raw json.RawMessage, param string) ([]block, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, nil
	case raw[0] == '"':
		s, err := gemini.UnquoteString(raw)
		if err != nil {
			return nil, invalid("%s: %v", param, err)
		}
		return []block{{Type: "text", Text: s}}, nil
	case raw[0] == '[':
		var list []block
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, invalid("%s: %v", param, jsonError(err).msg)
		}
		return list, nil
	}
	return nil, invalid("%s: expected a string or an array of content blocks", param)
}
