package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/gemgate/gemgate/internal/config"
)

// prepare returns the body to send upstream. The client's bytes are kept as they are; a field a setting
// adds (safety settings the client did not send) is spliced in at the top level, so nothing the client
// wrote is reordered, dropped or re-encoded.
func prepare(snap *config.Snapshot, model, action string, body []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errors.New("The request body is empty; expected a JSON object.")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &top); err != nil {
		return nil, errors.New("Invalid JSON payload received: " + jsonProblem(err))
	}
	if action != "generateContent" && action != "streamGenerateContent" {
		return body, nil
	}
	var add []field
	if safety := config.SafetySettings.Get(snap); len(safety) > 0 && !isTTS(model) &&
		!has(top, "safetySettings", "safety_settings") {
		add = append(add, field{"safetySettings", safety})
	}
	return splice(trimmed, len(top) == 0, add)
}

type field struct {
	name  string
	value any
}

func has(top map[string]json.RawMessage, names ...string) bool {
	for _, n := range names {
		if _, ok := top[n]; ok {
			return true
		}
	}
	return false
}

// isTTS reports a speech model, which rejects safety settings and tools.
func isTTS(model string) bool { return strings.Contains(strings.ToLower(model), "tts") }

// splice inserts fields right after the object's opening brace.
func splice(obj []byte, empty bool, add []field) ([]byte, error) {
	if len(add) == 0 {
		return obj, nil
	}
	var b bytes.Buffer
	b.Grow(len(obj) + 256)
	b.WriteByte('{')
	for i, f := range add {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(f.name)
		value, err := json.Marshal(f.value)
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(value)
	}
	if !empty {
		b.WriteByte(',')
	}
	b.Write(obj[1:])
	return b.Bytes(), nil
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return syn.Error()
	case errors.As(err, &typ):
		return "expected a JSON object, got " + typ.Value
	}
	return err.Error()
}
