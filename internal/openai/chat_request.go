package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gemgate/gemgate/internal/gemini"
)

// chatRequest is the part of OpenAI's chat completion request that has a Gemini meaning. Fields that
// take several shapes stay raw and are decoded where they are used, so a wrong shape can be reported
// with its exact parameter path. Unknown fields (user, metadata, store, service_tier...) are ignored.
type chatRequest struct {
	Model               string           `json:"model"`
	Messages            []chatMessage    `json:"messages"`
	Stream              bool             `json:"stream"`
	StreamOptions       *streamOptions   `json:"stream_options"`
	Temperature         *float64         `json:"temperature"`
	TopP                *float64         `json:"top_p"`
	TopK                *int             `json:"top_k"` // not OpenAI's, but several clients send it
	MaxTokens           *int             `json:"max_tokens"`
	MaxCompletionTokens *int             `json:"max_completion_tokens"`
	Stop                json.RawMessage  `json:"stop"`
	N                   *int             `json:"n"`
	Seed                *int64           `json:"seed"`
	PresencePenalty     *float64         `json:"presence_penalty"`
	FrequencyPenalty    *float64         `json:"frequency_penalty"`
	Logprobs            *bool            `json:"logprobs"`
	TopLogprobs         *int             `json:"top_logprobs"`
	Tools               []chatTool       `json:"tools"`
	Functions           []functionDef    `json:"functions"` // the deprecated form of tools
	ToolChoice          json.RawMessage  `json:"tool_choice"`
	ParallelToolCalls   *bool            `json:"parallel_tool_calls"`
	ResponseFormat      *responseFormat  `json:"response_format"`
	ReasoningEffort     string           `json:"reasoning_effort"`
	ExtraBody           *extraBodyGoogle `json:"extra_body"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// extraBodyGoogle is Google's own OpenAI-compatibility extension ({"extra_body":{"google":{...}}}),
// honoured for clients written against Google's endpoint.
type extraBodyGoogle struct {
	Google *struct {
		ThinkingConfig *googleThinking `json:"thinking_config"`
		CachedContent  string          `json:"cached_content"`
	} `json:"google"`
}

type googleThinking struct {
	ThinkingBudget  *int   `json:"thinking_budget"`
	ThinkingLevel   string `json:"thinking_level"`
	IncludeThoughts *bool  `json:"include_thoughts"`
}

type chatMessage struct {
	Role         string          `json:"role"`
	Content      json.RawMessage `json:"content"`
	Name         string          `json:"name"`
	ToolCalls    []toolCallIn    `json:"tool_calls"`
	ToolCallID   string          `json:"tool_call_id"`
	FunctionCall *functionCallIn `json:"function_call"` // the deprecated form of tool_calls
}

type toolCallIn struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	Function     functionCallIn `json:"function"`
	ExtraContent *extraContent  `json:"extra_content"`
}

type functionCallIn struct {
	Name string `json:"name"`
	// Arguments is a JSON string in OpenAI's API; some clients send the object itself.
	Arguments json.RawMessage `json:"arguments"`
}

// extraContent is where Google's OpenAI-compatible endpoint puts a tool call's thought signature;
// gemgate uses the same place, so clients that keep unknown fields round-trip it.
type extraContent struct {
	Google *googleExtra `json:"google,omitempty"`
}

type googleExtra struct {
	ThoughtSignature string `json:"thought_signature,omitempty"`
}

type contentPart struct {
	Type       string          `json:"type"`
	Text       string          `json:"text"`
	Refusal    string          `json:"refusal"`
	ImageURL   json.RawMessage `json:"image_url"`
	InputAudio *mediaInput     `json:"input_audio"`
	InputVideo *mediaInput     `json:"input_video"` // not OpenAI's; the reference accepted it
	File       *fileInput      `json:"file"`
}

type mediaInput struct {
	Data   string `json:"data"`
	Format string `json:"format"`
}

type fileInput struct {
	FileData string `json:"file_data"`
	FileID   string `json:"file_id"`
	Filename string `json:"filename"`
}

type chatTool struct {
	Type     string       `json:"type"`
	Function *functionDef `json:"function"`
}

type functionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
}

type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema"`
		Strict *bool           `json:"strict"`
	} `json:"json_schema"`
}

// requestError is a mistake in the client's request, answered in OpenAI's error shape.
type requestError struct {
	status int
	msg    string
	param  string
	code   string
}

func (e *requestError) Error() string { return e.msg }

func invalidParam(param, format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...), param: param}
}

func (e *requestError) write(w http.ResponseWriter) {
	typ := TypeInvalidRequest
	if e.status == http.StatusNotFound {
		typ = TypeNotFound
	}
	WriteError(w, e.status, e.msg, typ, e.code, e.param)
}

// parseChatRequest decodes a chat completion request and checks what every request needs.
func parseChatRequest(body []byte) (*chatRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalidParam("", "The request body is empty; expected a JSON object with model and messages.")
	}
	req, err := decodeChatRequest(body)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.Model) == "" {
		return nil, invalidParam("model", "You must provide a model parameter.")
	}
	if len(req.Messages) == 0 {
		return nil, invalidParam("messages", "messages must be a non-empty array.")
	}
	return req, nil
}

// decodeChatRequest reads the request, the usual shape in place (scanChatRequest).
func decodeChatRequest(body []byte) (*chatRequest, error) {
	if req, ok := scanChatRequest(body); ok {
		return req, nil
	}
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, jsonError(err)
	}
	return &req, nil
}

// jsonError explains a body that is not valid JSON or has a field of the wrong type.
func jsonError(err error) *requestError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return invalidParam("", "We could not parse the JSON body of your request: %v (at byte %d).", syn, syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return invalidParam("", "The request body must be a JSON object, not a JSON %s.", typ.Value)
		}
		return invalidParam(field, "Invalid type for '%s': expected %s, got %s.", field, jsonTypeName(typ.Type.Kind().String()), typ.Value)
	}
	return invalidParam("", "We could not parse the JSON body of your request: %v.", err)
}

func jsonTypeName(kind string) string {
	switch kind {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "ptr":
		return "a value"
	case "float64", "float32":
		return "a number"
	case "int", "int64", "int32":
		return "an integer"
	}
	return "a " + kind
}

// contentKind tells the shape of a raw content value.
type contentKind int

const (
	contentNone contentKind = iota
	contentString
	contentParts
	contentOther
)

func rawKind(raw json.RawMessage) contentKind {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return contentNone
	case raw[0] == '"':
		return contentString
	case raw[0] == '[':
		return contentParts
	}
	return contentOther
}

// decodeContent reads a message's content: a string (one text part) or a list of parts.
func decodeContent(raw json.RawMessage, param string) ([]contentPart, error) {
	switch rawKind(raw) {
	case contentNone:
		return nil, nil
	case contentString:
		s, err := gemini.UnquoteString(raw)
		if err != nil {
			return nil, invalidParam(param, "Invalid string in '%s': %v.", param, err)
		}
		return []contentPart{{Type: "text", Text: s}}, nil
	case contentParts:
		var parts []contentPart
		if err := json.Unmarshal(raw, &parts); err != nil {
			return nil, invalidParam(param, "Invalid content parts in '%s': %v.", param, jsonError(err).msg)
		}
		return parts, nil
	}
	return nil, invalidParam(param, "Invalid type for '%s': expected a string or an array of content parts.", param)
}

// decodeStop reads stop: a string or a list of strings.
func decodeStop(raw json.RawMessage) ([]string, error) {
	if rawKind(raw) == contentNone {
		return nil, nil // before out, which the decoder's pointer moves to the heap
	}
	var out []string
	switch rawKind(raw) {
	case contentString:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalidParam("stop", "Invalid 'stop': %v.", err)
		}
		out = []string{s}
	case contentParts:
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, invalidParam("stop", "Invalid 'stop': expected a string or an array of strings.")
		}
	default:
		return nil, invalidParam("stop", "Invalid 'stop': expected a string or an array of strings.")
	}
	kept := out[:0]
	for _, s := range out {
		if s != "" {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

// imageURL reads image_url: {"url": "...", "detail": "..."}, or a bare string as some clients send.
func imageURL(raw json.RawMessage, param string) (url, detail string, err error) {
	switch rawKind(raw) {
	case contentString:
		err = json.Unmarshal(raw, &url)
	case contentOther:
		var v struct {
			URL    string `json:"url"`
			Detail string `json:"detail"`
		}
		err = json.Unmarshal(raw, &v)
		url, detail = v.URL, v.Detail
	}
	if err != nil || url == "" {
		return "", "", invalidParam(param, "'%s' must be an object with a non-empty url.", param)
	}
	return url, detail, nil
}
