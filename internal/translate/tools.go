package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/memo"
	"github.com/gemgate/gemgate/internal/models"
)

// SkipSignature is the value Google documents for a function call whose thought signature was lost
// (history from another model, or a client that drops unknown fields); Gemini 3 refuses a replayed
// function call without one.
const SkipSignature = "skip_thought_signature_validator"

// Declaration builds a function declaration from a client's JSON Schema parameters. A schema Gemini's
// OpenAPI subset cannot express (free-form objects) is sent as parametersJsonSchema instead; a schema
// errors only when it is not a JSON object.
func Declaration(name, description string, params json.RawMessage) (gemini.FunctionDeclaration, error) {
	decl := gemini.FunctionDeclaration{Name: name, Description: description}
	if IsAbsent(params) {
		return decl, nil
	}
	p, err := rememberedParams(params)
	if err != nil {
		return decl, err
	}
	decl.Parameters, decl.ParametersJSONSchema = p.params, p.jsonSchema
	return decl, nil
}

// declParams is what a client's parameters schema becomes in a declaration; both empty for a function
// without parameters.
type declParams struct{ params, jsonSchema json.RawMessage }

func declarationParams(params json.RawMessage) (declParams, error) {
	cleaned, err := CleanSchema(params)
	if err != nil {
		return declParams{}, err
	}
	// A function without parameters must not say so with an empty object: Gemini refuses an OBJECT
	// without properties.
	if cleaned["properties"] == nil && cleaned["anyOf"] == nil {
		return declParams{}, nil
	}
	if HasFreeForm(cleaned, false) {
		raw, err := RawJSONSchema(params)
		return declParams{jsonSchema: raw}, err
	}
	enc, err := EncodeSchema(cleaned)
	return declParams{params: enc}, err
}

// declarations remembers the declared parameters of recent schemas. Agents send the same tools with
// every turn, and cleaning their schemas (decode, rewrite, encode) was more than half of the
// allocations of translating a 20-message request (docs/benchmarks.md). The result depends on the
// schema's bytes alone; callers only encode it, so one copy is shared.
var declarations = memo.New[declParams](4 << 20)

func rememberedParams(params json.RawMessage) (declParams, error) {
	if p, ok := declarations.Get(params); ok {
		return p, nil
	}
	p, err := declarationParams(params)
	if err != nil {
		return p, err // not remembered: a bad schema is the client's to fix, and rare
	}
	declarations.Put(params, p, len(params)+len(p.params)+len(p.jsonSchema))
	return p, nil
}

// IsAbsent reports a raw JSON value that is missing or null.
func IsAbsent(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// RawJSONSchema is a client's JSON Schema for Gemini's JSON-Schema fields, which take it as it is
// except for the $schema dialect marker.
func RawJSONSchema(raw json.RawMessage) (json.RawMessage, error) {
	s, err := DecodeSchema(raw)
	if err != nil {
		return nil, err
	}
	delete(s, "$schema")
	return EncodeSchema(s)
}

// ResponseSchema sets structured output from a client's JSON Schema. responseJsonSchema takes JSON
// Schema as it is ($ref, additionalProperties, type lists...); models older than 2.5 only know the
// OpenAPI-subset responseSchema, so they get the cleaned form when it can express the schema.
func ResponseSchema(gc *gemini.GenerationConfig, real string, raw json.RawMessage) error {
	gc.ResponseMimeType = "application/json"
	if IsAbsent(raw) {
		return nil
	}
	cleaned, err := CleanSchema(raw)
	if err != nil {
		return err
	}
	if LegacyModel(real) && !HasFreeForm(cleaned, true) {
		gc.ResponseSchema, err = EncodeSchema(cleaned)
		return err
	}
	gc.ResponseJSONSchema, err = RawJSONSchema(raw)
	return err
}

// ToolConfig is a function calling mode (AUTO, ANY, NONE), restricted to names when any are given.
func ToolConfig(mode string, names ...string) *gemini.ToolConfig {
	cfg := &gemini.FunctionCallingConfig{Mode: mode}
	if len(names) > 0 {
		cfg.AllowedFunctionNames = names
	}
	return &gemini.ToolConfig{FunctionCallingConfig: cfg}
}

// Builtins says what a request already holds that rules out Gemini's built-in tools.
type Builtins = models.Builtins

// BuiltinTools adds search, code execution and URL context where they can work.
func BuiltinTools(snap *config.Snapshot, model models.Resolved, b Builtins) []gemini.Tool {
	want := models.BuiltinTools(snap, model, b)
	var tools []gemini.Tool
	if want.Search {
		tools = append(tools, gemini.Tool{GoogleSearch: &gemini.Empty{}})
	}
	if want.CodeExecution {
		tools = append(tools, gemini.Tool{CodeExecution: &gemini.Empty{}})
	}
	if want.URLContext {
		tools = append(tools, gemini.Tool{URLContext: &gemini.Empty{}})
	}
	return tools
}

// SafetySettings are SAFETY_SETTINGS (the translated APIs have no field for them); speech models
// refuse them.
func SafetySettings(snap *config.Snapshot, model models.Resolved) []gemini.SafetySetting {
	if IsTTS(model.Real) {
		return nil
	}
	if c := lastSafety.Load(); c != nil && c.snap == snap {
		return c.list
	}
	out := safetySettings(snap)
	lastSafety.Store(&safetyCache{snap: snap, list: out})
	return out
}

// safetySettings builds SafetySettings' list, kept for the snapshot it was read from: the requests'
// bodies share it, and only encode it.
func safetySettings(snap *config.Snapshot) []gemini.SafetySetting {
	list := config.SafetySettings.Get(snap)
	out := make([]gemini.SafetySetting, 0, len(list))
	for _, m := range list {
		if m["category"] == "" || m["threshold"] == "" {
			continue
		}
		out = append(out, gemini.SafetySetting{Category: m["category"], Threshold: m["threshold"], Method: m["method"]})
	}
	return out
}

var emptyObject = json.RawMessage(`{}`)

// ErrNotObject is a tool call's arguments that are not a JSON object.
var ErrNotObject = errors.New("not a JSON object")

// CallArguments reads a tool call's arguments: a JSON string holding an object (OpenAI's form), or the
// object itself.
func CallArguments(raw json.RawMessage) (json.RawMessage, error) {
	var text []byte
	trimmed := bytes.TrimSpace(raw)
	switch {
	case IsAbsent(trimmed):
		return emptyObject, nil
	case trimmed[0] == '"':
		var s string
		if err := json.Unmarshal(trimmed, &s); err != nil {
			return nil, err
		}
		text = []byte(s)
	default:
		text = trimmed
	}
	text = bytes.TrimSpace(text)
	if len(text) == 0 {
		return emptyObject, nil
	}
	if text[0] != '{' {
		return nil, ErrNotObject
	}
	// Compact validates as it goes: checking with json.Valid first read the text twice.
	var out bytes.Buffer
	if err := json.Compact(&out, text); err != nil {
		return nil, ErrNotObject
	}
	return out.Bytes(), nil
}

// FunctionResponse wraps a tool's output as {"content": ...}: Gemini wants an object, and a result
// that is a JSON object is passed as structure rather than as a string of JSON.
func FunctionResponse(text string) json.RawMessage { return wrapResult("content", text) }

// ErrorResponse wraps a failed tool's output as {"error": ...}, the key Google's function calling
// guide uses for a call that went wrong, so the model reads it as a failure and not as a result.
func ErrorResponse(text string) json.RawMessage { return wrapResult("error", text) }

func wrapResult(key, text string) json.RawMessage {
	trimmed := strings.TrimSpace(text)
	var value []byte
	if strings.HasPrefix(trimmed, "{") {
		var buf bytes.Buffer // Compact fails on anything that is not valid JSON
		if json.Compact(&buf, []byte(trimmed)) == nil {
			value = buf.Bytes()
		}
	}
	if value == nil {
		value, _ = json.Marshal(text)
	}
	out := make([]byte, 0, len(value)+len(key)+5)
	out = append(out, `{"`...)
	out = append(out, key...)
	out = append(out, `":`...)
	out = append(out, value...)
	return append(out, '}')
}
