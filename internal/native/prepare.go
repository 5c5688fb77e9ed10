package native

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/memo"
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
	var members [16]gemini.Member
	top, err := topLevel(trimmed, members[:0])
	if err != nil {
		return nil, err
	}
	if action == "batchEmbedContents" && res.Real != res.Requested {
		return renameBatchModel(trimmed, top, res)
	}
	if action != "generateContent" && action != "streamGenerateContent" {
		return body, nil
	}
	var fields [3]field
	add := fields[:0]
	if safety := config.SafetySettings.Get(snap); len(safety) > 0 && !isTTS(res.Real) &&
		!top.Has("safetySettings", "safety_settings") {
		enc, err := safetyJSON(safety)
		if err != nil {
			return nil, err
		}
		add = append(add, field{"safetySettings", enc})
	}
	replace := map[string]json.RawMessage{}
	cfg, err := variantConfig(snap, res, top, replace)
	if err != nil {
		return nil, err
	}
	tools, err := autoTools(snap, res, top, replace)
	if err != nil {
		return nil, err
	}
	for _, f := range [...]field{cfg, tools} {
		if f.name != "" {
			add = append(add, f)
		}
	}
	if len(top) > 0 && (len(add) > 0 || len(replace) > 0) {
		return spliceReplacing(trimmed, top, add, replace), nil
	}
	out, err := replaceValues(trimmed, replace)
	if err != nil {
		return nil, err
	}
	return splice(out, len(top) == 0, add)
}

// spliceReplacing is splice(replaceValues(obj, repl), false, add) for a valid object with members
// (top, scanned from obj), in one copy of the body instead of two (a thinking model's call, by
// default, has safety settings added and its generationConfig replaced) and without validating the
// body a second time.
func spliceReplacing(obj []byte, top gemini.Object, add []field, repl map[string]json.RawMessage) []byte {
	var buf [4]span
	spans := spansOf(obj, top, repl, buf[:0]) // top was scanned from obj: no second validation
	size := len(obj)
	for _, f := range add {
		size += len(f.name) + len(f.value) + 4 // quotes, colon, comma
	}
	for _, sp := range spans {
		size += len(repl[sp.name]) - (sp.end - sp.start)
	}
	out := append(make([]byte, 0, size), '{')
	for _, f := range add {
		out = append(appendName(out, f.name), ':')
		out = append(append(out, f.value...), ',')
	}
	last := 1 // past the object's '{'
	for _, sp := range spans {
		out = append(append(out, obj[last:sp.start]...), repl[sp.name]...)
		last = sp.end
	}
	return append(out, obj[last:]...)
}

type field struct {
	name  string
	value json.RawMessage // compact, valid JSON
}

// topLevel reads the top level of the body. A valid object is scanned in place, with no decoding;
// anything else goes through encoding/json, whose verdict and message clients have always had.
func topLevel(body []byte, buf []gemini.Member) (gemini.Object, error) {
	if gemini.IsObject(body) {
		return gemini.Members(body, buf), nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, errors.New("Invalid JSON payload received: " + jsonProblem(err))
	}
	return nil, nil // only JSON null decodes into a map without being an object: no members
}

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

// variantConfig adds to generationConfig what -image (text and image output), -non-thinking or
// THINKING_BUDGET_MAP (a thinking budget) and SHOW_THINKING_PROCESS (includeThoughts) ask for, unless
// the client already chose those itself: a client's thinkingConfig is kept, only a missing
// includeThoughts is added to it.
func variantConfig(snap *config.Snapshot, res models.Resolved, top gemini.Object, replace map[string]json.RawMessage) (field, error) {
	budget, think := models.ThinkingBudget(snap, res)
	thoughts := config.ShowThinkingProcess.Get(snap) && !res.Image && models.ThinkingCapable(snap, res.Real)
	if !res.Image && !think && !thoughts {
		return field{}, nil // nothing to add: the client's generationConfig need not be decoded
	}
	name := "generationConfig"
	if !top.Has(name) && top.Has("generation_config") {
		name = "generation_config"
	}
	raw, sent := top.Get(name)
	// The rewrite depends on the variant and the client's generationConfig alone, which a client sends
	// the same with every call: it is remembered (decoding and encoding it was an eighth of the native
	// path's allocations).
	var kb [256]byte
	key := append(kb[:0], flag(res.Image), flag(think), flag(thoughts), flag(sent))
	key = append(strconv.AppendInt(key, int64(budget), 10), ' ')
	key = append(append(append(key, name...), ' '), raw...)
	v, ok := variantConfigs.Get(key)
	if !ok {
		var err error
		if v, err = variantConfigOf(res.Image, think, thoughts, budget, raw, sent); err != nil {
			return field{}, err
		}
		variantConfigs.Put(key, v, len(key)+len(v.enc))
	}
	switch {
	case v.enc == nil:
	case !sent:
		return field{name, v.enc}, nil
	default:
		replace[name] = v.enc
	}
	return field{}, nil
}

// variantConfigs holds the rewritten generationConfig of recent variants and client configs.
var variantConfigs = memo.New[rewrittenConfig](1 << 20)

// rewrittenConfig is a variant's generationConfig, nil when the client's is kept as it is.
type rewrittenConfig struct{ enc json.RawMessage }

func flag(b bool) byte {
	if b {
		return '1'
	}
	return '0'
}

func variantConfigOf(image, think, thoughts bool, budget int, raw json.RawMessage, sent bool) (rewrittenConfig, error) {
	var cfg map[string]json.RawMessage
	if sent && json.Unmarshal(raw, &cfg) != nil {
		return rewrittenConfig{}, nil // not an object: Google's own error will say so better
	}
	changed := false
	if image && !has(cfg, "responseModalities", "response_modalities") {
		cfg = setRaw(cfg, "responseModalities", json.RawMessage(`["TEXT","IMAGE"]`))
		changed = true
	}
	tcName := "thinkingConfig"
	if !has(cfg, tcName) && has(cfg, "thinking_config") {
		tcName = "thinking_config"
	}
	var tc map[string]json.RawMessage
	if raw, ok := cfg[tcName]; ok && json.Unmarshal(raw, &tc) != nil {
		return rewrittenConfig{}, nil
	}
	clientTC := tc != nil
	tcChanged := false
	if think && !clientTC {
		tc = setRaw(tc, "thinkingBudget", jsonInt(budget))
		tcChanged = true
	}
	if thoughts && tc != nil || thoughts && !clientTC {
		if !has(tc, "includeThoughts", "include_thoughts") && !thinkingOff(tc) {
			tc = setRaw(tc, "includeThoughts", json.RawMessage("true"))
			tcChanged = true
		}
	}
	if tcChanged {
		enc, err := json.Marshal(tc)
		if err != nil {
			return rewrittenConfig{}, err
		}
		cfg = setRaw(cfg, tcName, enc)
		changed = true
	}
	if !changed {
		return rewrittenConfig{}, nil
	}
	enc, err := json.Marshal(cfg)
	return rewrittenConfig{enc}, err
}

// thinkingOff reports a thinking budget of 0: Google refuses includeThoughts with thinking turned off.
func thinkingOff(tc map[string]json.RawMessage) bool {
	for _, n := range [...]string{"thinkingBudget", "thinking_budget"} {
		if v, ok := tc[n]; ok && string(bytes.TrimSpace(v)) == "0" {
			return true
		}
	}
	return false
}

func jsonInt(n int) json.RawMessage {
	b, _ := json.Marshal(n)
	return b
}

func setRaw(m map[string]json.RawMessage, k string, v json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	m[k] = v
	return m
}

// autoTools adds the built-in tools that -search, TOOLS_CODE_EXECUTION_ENABLED and URL_CONTEXT_ENABLED
// ask for, after the client's own tools, which are kept exactly as sent. A client that declares
// functions (or replays function calls) gets nothing added: Google refuses built-in tools next to
// them, and the client's explicit tools win over the settings. A tool the client already listed is not
// added twice.
func autoTools(snap *config.Snapshot, res models.Resolved, top gemini.Object, replace map[string]json.RawMessage) (field, error) {
	if !res.Search && !config.ToolsCodeExecutionEnabled.Get(snap) && !config.URLContextEnabled.Get(snap) {
		return field{}, nil // nothing could be added: the body need not be decoded
	}
	raw, sent := top.Get("tools")
	null := sent && bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
	var tools []map[string]json.RawMessage
	if sent && !null && json.Unmarshal(raw, &tools) != nil {
		return field{}, nil // not a list of objects: Google's own error will say so better
	}
	if top.Has("cachedContent", "cached_content") {
		return field{}, nil // Google refuses tools next to a cached context, which holds the tools itself
	}
	b := builtins(top)
	for _, t := range tools {
		if has(t, "functionDeclarations", "function_declarations") {
			b.Functions = true
		}
	}
	want := models.BuiltinTools(snap, res, b)
	var extra []json.RawMessage
	for _, t := range [...]struct {
		on    bool
		names [2]string
	}{
		{want.Search, [2]string{"googleSearch", "google_search"}},
		{want.CodeExecution, [2]string{"codeExecution", "code_execution"}},
		{want.URLContext, [2]string{"urlContext", "url_context"}},
	} {
		if t.on && !listed(tools, t.names[:]...) {
			extra = append(extra, json.RawMessage(`{"`+t.names[0]+`":{}}`))
		}
	}
	if len(extra) == 0 {
		return field{}, nil
	}
	if !sent {
		enc, err := json.Marshal(extra)
		return field{"tools", enc}, err
	}
	var list []json.RawMessage
	if !null {
		if err := json.Unmarshal(raw, &list); err != nil {
			return field{}, nil
		}
	}
	enc, err := json.Marshal(append(list, extra...))
	replace["tools"] = enc
	return field{}, err
}

func listed(tools []map[string]json.RawMessage, names ...string) bool {
	for _, t := range tools {
		if has(t, names...) {
			return true
		}
	}
	return false
}

// builtins reads what rules out built-in tools from the rest of the request: JSON output
// (responseMimeType application/json or a response schema), media in the contents (no code execution
// there), and function calls in the history.
func builtins(top gemini.Object) models.Builtins {
	var b models.Builtins
	for _, n := range [...]string{"generationConfig", "generation_config"} {
		raw, ok := top.Get(n)
		if !ok {
			continue
		}
		var cfg map[string]json.RawMessage
		if json.Unmarshal(raw, &cfg) != nil {
			continue
		}
		if has(cfg, "responseSchema", "response_schema", "responseJsonSchema", "response_json_schema") {
			b.Structured = true
		}
		for _, m := range [...]string{"responseMimeType", "response_mime_type"} {
			var mime string
			if json.Unmarshal(cfg[m], &mime) == nil && strings.EqualFold(mime, "application/json") {
				b.Structured = true
			}
		}
	}
	raw, ok := top.Get("contents")
	if !ok {
		return b
	}
	var contents []struct {
		Parts []map[string]json.RawMessage `json:"parts"`
	}
	if json.Unmarshal(raw, &contents) != nil {
		return b
	}
	for _, c := range contents {
		for _, p := range c.Parts {
			if has(p, "functionCall", "function_call", "functionResponse", "function_response") {
				b.Functions = true
			}
			if has(p, "inlineData", "inline_data", "fileData", "file_data") {
				b.HasMedia = true
			}
		}
	}
	return b
}

// renameBatchModel points the per-request model of a batch at the real model when the client used a
// variant or alias name: Google requires it to equal the model in the path.
func renameBatchModel(obj []byte, top gemini.Object, res models.Resolved) ([]byte, error) {
	var reqs []map[string]json.RawMessage
	requests, _ := top.Get("requests")
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
	size := len(obj)
	for _, f := range add {
		size += len(f.name) + len(f.value) + 4 // quotes, colon, comma
	}
	out := append(make([]byte, 0, size), '{')
	for i, f := range add {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(appendName(out, f.name), ':')
		out = append(out, f.value...)
	}
	if !empty {
		out = append(out, ',')
	}
	return append(out, obj[1:]...), nil
}

// appendName appends name as a JSON string: the names spliced in are gemgate's own and plain, so
// they are written as they are; anything else is encoded.
func appendName(b []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			enc, _ := json.Marshal(name)
			return append(b, enc...)
		}
	}
	return append(append(append(b, '"'), name...), '"')
}

// replaceValues swaps the values of the named top-level members of obj, leaving every other byte of
// obj where it was.
func replaceValues(obj []byte, repl map[string]json.RawMessage) ([]byte, error) {
	if len(repl) == 0 {
		return obj, nil
	}
	var buf [4]span
	spans, err := topLevelValues(obj, repl, buf[:0])
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

// topLevelValues finds where the values of obj's top-level members named in repl lie, in order. A
// valid object is scanned in place (a json.Decoder cost a tenth of the native path's allocations);
// anything else goes through the decoder, for its verdict.
func topLevelValues(obj []byte, repl map[string]json.RawMessage, spans []span) ([]span, error) {
	if !gemini.IsObject(obj) {
		return decodedValues(obj)
	}
	var buf [16]gemini.Member
	return spansOf(obj, gemini.Members(obj, buf[:0]), repl, spans), nil
}

// spansOf finds the values of the members named in repl among obj's top-level members, in order.
func spansOf(obj []byte, members gemini.Object, repl map[string]json.RawMessage, spans []span) []span {
	for _, m := range members {
		for name := range repl {
			if m.Named(name) {
				start, end := m.Span(obj)
				spans = append(spans, span{name, start, end})
				break
			}
		}
	}
	return spans
}

func decodedValues(obj []byte) ([]span, error) {
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
		start := gemini.SkipSpace(obj, afterKey+colon+1)
		end := start + len(raw)
		if end > len(obj) || !bytes.Equal(obj[start:end], raw) {
			return nil, errors.New("could not locate " + name + " in the request body")
		}
		spans = append(spans, span{name, start, end})
	}
	return spans, nil
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
