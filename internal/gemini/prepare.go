package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/models"
)

// prepare returns the body to send upstream. The client's bytes are kept as they are: a field a setting
// or a model variant adds is spliced in at the top level, and when a variant must add to a field the
// client sent (generationConfig, tools), only that field's value is re-encoded in place, so nothing
// else the client wrote is reordered, dropped or re-encoded.
func prepare(snap *config.Snapshot, res models.Resolved, action string, body []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errors.New("The request body is empty; expected a JSON object.")
	}
	top, err := topLevel(trimmed)
	if err != nil {
		return nil, err
	}
	if action == "batchEmbedContents" && res.Real != res.Requested {
		return renameBatchModel(trimmed, top, res)
	}
	if action != "generateContent" && action != "streamGenerateContent" {
		return body, nil
	}
	var add []field
	if safety := config.SafetySettings.Get(snap); len(safety) > 0 && !isTTS(res.Real) &&
		!top.has("safetySettings", "safety_settings") {
		enc, err := safetyJSON(safety)
		if err != nil {
			return nil, err
		}
		add = append(add, field{"safetySettings", enc})
	}
	replace := map[string]json.RawMessage{}
	if err := variantConfig(snap, res, top, &add, replace); err != nil {
		return nil, err
	}
	if err := searchTool(res, top, &add, replace); err != nil {
		return nil, err
	}
	out, err := replaceValues(trimmed, replace)
	if err != nil {
		return nil, err
	}
	return splice(out, len(top) == 0, add)
}

type field struct {
	name  string
	value any // json.RawMessage is written as it is
}

// object is the top level of a request body: its members in order, values pointing into the body.
type object []member

// topLevel reads the top level of the body. A valid object is scanned in place, with no decoding;
// anything else goes through encoding/json, whose verdict and message clients have always had.
func topLevel(body []byte) (object, error) {
	if isObject(body) {
		return members(body, make([]member, 0, 8)), nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, errors.New("Invalid JSON payload received: " + jsonProblem(err))
	}
	return nil, nil // only JSON null decodes into a map without being an object: no members
}

func (o object) has(names ...string) bool {
	for _, n := range names {
		if _, ok := lookup(o, n); ok {
			return true
		}
	}
	return false
}

func (o object) get(name string) (json.RawMessage, bool) { return lookup(o, name) }

// safetyEncoding caches SAFETY_SETTINGS as JSON: they are spliced into almost every request, and a
// snapshot's value never changes, so its encoding is made once per snapshot rather than per request.
type safetyEncoding struct {
	of   *map[string]string // the first element of the encoded slice: same slice, same settings
	n    int
	json json.RawMessage
}

var lastSafety atomic.Pointer[safetyEncoding]

func safetyJSON(safety []map[string]string) (json.RawMessage, error) {
	if c := lastSafety.Load(); c != nil && c.of == &safety[0] && c.n == len(safety) {
		return c.json, nil
	}
	enc, err := json.Marshal(safety)
	if err != nil {
		return nil, err
	}
	lastSafety.Store(&safetyEncoding{of: &safety[0], n: len(safety), json: enc})
	return enc, nil
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

// variantConfig adds what -image (text and image output) and -non-thinking or THINKING_BUDGET_MAP (a
// thinking budget) ask for to generationConfig, unless the client already chose those itself.
func variantConfig(snap *config.Snapshot, res models.Resolved, top object, add *[]field, replace map[string]json.RawMessage) error {
	budget, think := models.ThinkingBudget(snap, res)
	if !res.Image && !think {
		return nil // nothing to add: the client's generationConfig need not be decoded
	}
	name := "generationConfig"
	if !top.has(name) && top.has("generation_config") {
		name = "generation_config"
	}
	var cfg map[string]json.RawMessage
	if raw, ok := top.get(name); ok && json.Unmarshal(raw, &cfg) != nil {
		return nil // not an object: Google's own error will say so better
	}
	changed := false
	if res.Image && !has(cfg, "responseModalities", "response_modalities") {
		cfg = setRaw(cfg, "responseModalities", json.RawMessage(`["TEXT","IMAGE"]`))
		changed = true
	}
	if think && !has(cfg, "thinkingConfig", "thinking_config") {
		tc, _ := json.Marshal(map[string]int{"thinkingBudget": budget})
		cfg = setRaw(cfg, "thinkingConfig", tc)
		changed = true
	}
	if !changed {
		return nil
	}
	if !top.has(name) {
		*add = append(*add, field{name, cfg})
		return nil
	}
	enc, err := json.Marshal(cfg)
	replace[name] = enc
	return err
}

func setRaw(m map[string]json.RawMessage, k string, v json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	m[k] = v
	return m
}

// searchTool adds Google Search for -search models. A client that declares functions keeps its tools
// exactly as sent: the two could conflict, and the client's explicit tools win over the model name.
func searchTool(res models.Resolved, top object, add *[]field, replace map[string]json.RawMessage) error {
	if !res.Search {
		return nil
	}
	search := json.RawMessage(`{"googleSearch":{}}`)
	raw, sent := top.get("tools")
	if !sent || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if sent {
			replace["tools"] = json.RawMessage(`[` + string(search) + `]`)
		} else {
			*add = append(*add, field{"tools", []json.RawMessage{search}})
		}
		return nil
	}
	var tools []map[string]json.RawMessage
	if json.Unmarshal(raw, &tools) != nil {
		return nil
	}
	for _, t := range tools {
		if has(t, "functionDeclarations", "function_declarations", "googleSearch", "google_search") {
			return nil
		}
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil
	}
	enc, err := json.Marshal(append(list, search))
	replace["tools"] = enc
	return err
}

// renameBatchModel points the per-request model of a batch at the real model when the client used a
// variant or alias name: Google requires it to equal the model in the path.
func renameBatchModel(obj []byte, top object, res models.Resolved) ([]byte, error) {
	var reqs []map[string]json.RawMessage
	requests, _ := top.get("requests")
	if json.Unmarshal(requests, &reqs) != nil {
		return obj, nil
	}
	asked := map[string]bool{`"models/` + res.Requested + `"`: true, `"` + res.Requested + `"`: true}
	changed := false
	for _, r := range reqs {
		if asked[string(bytes.TrimSpace(r["model"]))] {
			r["model"] = jsonString("models/" + res.Real)
			changed = true
		}
	}
	if !changed {
		return obj, nil
	}
	enc, err := json.Marshal(reqs)
	if err != nil {
		return nil, err
	}
	return replaceValues(obj, map[string]json.RawMessage{"requests": enc})
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// splice inserts fields right after the object's opening brace.
func splice(obj []byte, empty bool, add []field) ([]byte, error) {
	if len(add) == 0 {
		return obj, nil
	}
	// One buffer of the final size, made with make: the body may carry tens of MiB of media, and a
	// growing bytes.Buffer costs another copy of it (twice over under the race detector).
	head := []byte{'{'}
	for i, f := range add {
		if i > 0 {
			head = append(head, ',')
		}
		name, _ := json.Marshal(f.name)
		value, err := encodeField(f.value)
		if err != nil {
			return nil, err
		}
		head = append(append(append(head, name...), ':'), value...)
	}
	if !empty {
		head = append(head, ',')
	}
	out := make([]byte, 0, len(head)+len(obj)-1)
	return append(append(out, head...), obj[1:]...), nil
}

// encodeField encodes v; an encoding made earlier by json.Marshal (compact, valid) is used as it is.
func encodeField(v any) ([]byte, error) {
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	return json.Marshal(v)
}

// replaceValues swaps the values of the named top-level members of obj, leaving every other byte of
// obj where it was.
func replaceValues(obj []byte, repl map[string]json.RawMessage) ([]byte, error) {
	if len(repl) == 0 {
		return obj, nil
	}
	spans, err := topLevelValues(obj)
	if err != nil {
		return nil, err
	}
	size := len(obj)
	for _, s := range spans {
		if v, ok := repl[s.name]; ok {
			size += len(v) - (s.end - s.start)
		}
	}
	b := make([]byte, 0, size)
	last := 0
	for _, s := range spans {
		v, ok := repl[s.name]
		if !ok {
			continue
		}
		b = append(append(b, obj[last:s.start]...), v...)
		last = s.end
	}
	return append(b, obj[last:]...), nil
}

type span struct {
	name       string
	start, end int
}

// topLevelValues finds where each top-level member's value lies in obj, in order.
func topLevelValues(obj []byte) ([]span, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil { // the opening brace
		return nil, err
	}
	var spans []span
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		afterKey := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		colon := bytes.IndexByte(obj[afterKey:], ':')
		if colon < 0 {
			return nil, errors.New("malformed JSON object")
		}
		start := afterKey + colon + 1
		for start < len(obj) && isSpace(obj[start]) {
			start++
		}
		end := start + len(raw)
		if end > len(obj) || !bytes.Equal(obj[start:end], raw) {
			return nil, errors.New("could not locate " + name + " in the request body")
		}
		spans = append(spans, span{name, start, end})
	}
	return spans, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

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
