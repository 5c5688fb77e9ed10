package openai

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/models"
)

// requestTranslation is an OpenAI chat request turned into a Gemini one.
type requestTranslation struct {
	body *gemini.GenerateContentRequest
	// media are http(s) URLs still to download into parts already placed in body.
	media      []*mediaJob
	candidates int // n: the choices every answer has
}

// requestTranslator carries what translating one request needs; it is used once.
type requestTranslator struct {
	snap  *config.Snapshot
	model models.Resolved
	req   *chatRequest

	contents   []gemini.Content
	system     []gemini.Part
	media      []*mediaJob
	toolNames  map[string]string // tool_call id → function name, from earlier assistant messages
	hasMedia   bool
	structured bool
}

// skipSignature is the value Google documents for a function call whose thought signature was lost
// (history from another model, or a client that drops unknown fields); Gemini 3 refuses a replayed
// function call without one.
const skipSignature = "skip_thought_signature_validator"

// translateRequest maps req onto generateContent for the resolved model.
func translateRequest(snap *config.Snapshot, model models.Resolved, req *chatRequest) (*requestTranslation, error) {
	t := &requestTranslator{snap: snap, model: model, req: req}
	if err := t.messages(); err != nil {
		return nil, err
	}
	body := &gemini.GenerateContentRequest{Contents: t.contents}
	t.placeSystem(body)
	cfg, err := t.generationConfig()
	if err != nil {
		return nil, err
	}
	body.GenerationConfig = cfg
	if err := t.tools(body); err != nil {
		return nil, err
	}
	body.SafetySettings = t.safetySettings()
	if eb := req.ExtraBody; eb != nil && eb.Google != nil {
		body.CachedContent = eb.Google.CachedContent
	}
	n := 1
	if req.N != nil && *req.N > 1 {
		n = min(*req.N, maxChoices)
	}
	return &requestTranslation{body: body, media: t.media, candidates: n}, nil
}

// maxChoices bounds n as gemgate reads it; Google allows 8 candidates.
const maxChoices = 8

func (t *requestTranslator) messages() error {
	for i := range t.req.Messages {
		m := &t.req.Messages[i]
		param := "messages[" + strconv.Itoa(i) + "]"
		if err := t.message(m, param); err != nil {
			return err
		}
	}
	t.signFunctionCalls()
	return nil
}

func (t *requestTranslator) message(m *chatMessage, param string) error {
	var parts []gemini.Part
	var err error
	role := "user"
	switch strings.ToLower(m.Role) {
	case "system", "developer":
		parts, err = t.textParts(m.Content, param)
		t.system = append(t.system, parts...)
		return err
	case "user":
		parts, err = t.contentParts(m.Content, param)
	case "assistant":
		role = "model"
		parts, err = t.assistantParts(m, param)
	case "tool":
		parts, err = t.toolResult(m, param)
	case "function":
		parts, err = t.functionResult(m, param)
	case "":
		return invalidParam(param+".role", "Missing required parameter: '%s.role'.", param)
	default:
		return invalidParam(param+".role", "Invalid value for '%s.role': %q is not one of system, developer, user, assistant, tool.", param, m.Role)
	}
	if err != nil {
		return err
	}
	t.add(role, parts)
	return nil
}

// add appends parts as a turn, merging them into the previous turn when it has the same role: Gemini
// wants user and model turns to alternate, and several tool results answer one model turn.
func (t *requestTranslator) add(role string, parts []gemini.Part) {
	if len(parts) == 0 {
		return
	}
	if n := len(t.contents); n > 0 && t.contents[n-1].Role == role {
		t.contents[n-1].Parts = append(t.contents[n-1].Parts, parts...)
		return
	}
	t.contents = append(t.contents, gemini.Content{Role: role, Parts: parts})
}

// textParts reads the text of a system, developer or tool message: Gemini's system instruction and
// function responses hold text only.
func (t *requestTranslator) textParts(raw json.RawMessage, param string) ([]gemini.Part, error) {
	items, err := decodeContent(raw, param+".content")
	if err != nil {
		return nil, err
	}
	var parts []gemini.Part
	for j, it := range items {
		switch it.Type {
		case "text", "input_text":
			if it.Text != "" {
				parts = append(parts, gemini.Part{Text: it.Text})
			}
		default:
			return nil, invalidParam(contentParam(param, j)+".type", "'%s' may contain only text parts, not %q.", param, it.Type)
		}
	}
	return parts, nil
}

func contentParam(param string, j int) string {
	return param + ".content[" + strconv.Itoa(j) + "]"
}

// contentParts reads user (or assistant) content: text, images, audio, video and files.
func (t *requestTranslator) contentParts(raw json.RawMessage, param string) ([]gemini.Part, error) {
	items, err := decodeContent(raw, param+".content")
	if err != nil {
		return nil, err
	}
	parts := make([]gemini.Part, 0, len(items))
	for j := range items {
		it := &items[j]
		switch it.Type {
		case "text", "input_text", "output_text", "refusal":
			parts = t.appendText(parts, it.Text+it.Refusal)
			continue
		}
		part, err := t.mediaPart(it, contentParam(param, j))
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	return parts, nil
}

func (t *requestTranslator) mediaPart(it *contentPart, param string) (gemini.Part, error) {
	switch it.Type {
	case "image_url":
		return t.imagePart(it.ImageURL, param+".image_url")
	case "input_audio":
		return t.encodedMedia(it.InputAudio, audioTypes, param+".input_audio")
	case "input_video":
		return t.encodedMedia(it.InputVideo, videoTypes, param+".input_video")
	case "file":
		return t.filePart(it.File, param+".file")
	}
	return gemini.Part{}, invalidParam(param+".type", "Unsupported content part type %q in '%s'.", it.Type, param)
}

// appendText adds a text part. For image-output models, Markdown images with data: URLs (what gemgate
// itself returned in an earlier answer) go back as images, so the model can edit the picture it made
// instead of reading a megabyte of base64.
func (t *requestTranslator) appendText(parts []gemini.Part, text string) []gemini.Part {
	if text == "" {
		return parts
	}
	if t.model.Image && strings.Contains(text, "](data:") {
		split := splitMarkdownImages(text)
		for _, p := range split {
			if p.InlineData != nil {
				t.hasMedia = true
			}
		}
		return append(parts, split...)
	}
	return append(parts, gemini.Part{Text: text})
}

// splitMarkdownImages cuts text around ![alt](data:...) images.
func splitMarkdownImages(text string) []gemini.Part {
	var parts []gemini.Part
	for {
		open := strings.Index(text, "](data:")
		start := strings.LastIndex(text[:max(open, 0)], "![")
		end := -1
		if open >= 0 {
			end = strings.IndexByte(text[open:], ')')
		}
		if open < 0 || start < 0 || end < 0 {
			break
		}
		end += open
		mt, data, err := parseDataURL(text[open+2 : end])
		if err != nil {
			parts = append(parts, gemini.Part{Text: text[:end+1]})
			text = text[end+1:]
			continue
		}
		if before := strings.TrimSpace(text[:start]); before != "" {
			parts = append(parts, gemini.Part{Text: before})
		}
		parts = append(parts, gemini.Part{InlineData: &gemini.Blob{MimeType: mt, Data: data}})
		text = text[end+1:]
	}
	if rest := strings.TrimSpace(text); rest != "" {
		parts = append(parts, gemini.Part{Text: rest})
	}
	return parts
}

// imagePart turns an image_url into inline data: data: URLs at once, http(s) URLs later (fetchAll).
func (t *requestTranslator) imagePart(raw json.RawMessage, param string) (gemini.Part, error) {
	// detail has no Gemini counterpart on the stable API (per-part media resolution is v1alpha only).
	u, _, err := imageURL(raw, param)
	if err != nil {
		return gemini.Part{}, err
	}
	t.hasMedia = true
	part := gemini.Part{}
	if _, ok := cutPrefixFold(u, "data:"); ok {
		mt, data, err := parseDataURL(u)
		if err != nil {
			return part, invalidParam(param+".url", "Invalid image data URL in '%s.url': %v.", param, err)
		}
		part.InlineData = &gemini.Blob{MimeType: mt, Data: data}
		return part, nil
	}
	if !strings.HasPrefix(strings.ToLower(u), "http://") && !strings.HasPrefix(strings.ToLower(u), "https://") {
		return part, invalidParam(param+".url", "'%s.url' must be a data: URL or an http(s) URL.", param)
	}
	part.InlineData = &gemini.Blob{}
	t.media = append(t.media, &mediaJob{url: u, param: param + ".url", blob: part.InlineData})
	return part, nil
}

// Media formats OpenAI clients name, with the MIME types Gemini documents.
var (
	audioTypes = map[string]string{
		"wav": "audio/wav", "mp3": "audio/mp3", "mpeg": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg",
		"opus": "audio/ogg", "aac": "audio/aac", "aiff": "audio/aiff", "m4a": "audio/mp4", "webm": "audio/webm",
		"pcm16": "audio/l16",
	}
	videoTypes = map[string]string{
		"mp4": "video/mp4", "mov": "video/quicktime", "avi": "video/x-msvideo", "webm": "video/webm",
		"mpeg": "video/mpeg", "mpg": "video/mpg", "wmv": "video/wmv", "flv": "video/x-flv", "3gp": "video/3gpp",
	}
)

// encodedMedia reads input_audio / input_video: base64 data plus a format name.
func (t *requestTranslator) encodedMedia(in *mediaInput, types map[string]string, param string) (gemini.Part, error) {
	if in == nil || in.Data == "" {
		return gemini.Part{}, invalidParam(param+".data", "Missing required parameter: '%s.data'.", param)
	}
	mt, ok := types[strings.ToLower(strings.TrimPrefix(in.Format, "."))]
	if !ok {
		return gemini.Part{}, invalidParam(param+".format", "Unsupported format %q in '%s.format'.", in.Format, param)
	}
	data := in.Data
	if dmt, d, err := parseDataURL(data); err == nil {
		data = d
		if dmt != "" && dmt != "application/octet-stream" {
			mt = dmt
		}
	}
	t.hasMedia = true
	return gemini.Part{InlineData: &gemini.Blob{MimeType: mt, Data: data}}, nil
}

// filePart reads a file part: inline data (a data: URL or bare base64) or an uploaded file's id.
func (t *requestTranslator) filePart(in *fileInput, param string) (gemini.Part, error) {
	if in == nil || (in.FileData == "" && in.FileID == "") {
		return gemini.Part{}, invalidParam(param, "'%s' needs file_data or file_id.", param)
	}
	t.hasMedia = true
	if in.FileData != "" {
		if mt, data, err := parseDataURL(in.FileData); err == nil {
			return gemini.Part{InlineData: &gemini.Blob{MimeType: mt, Data: data}}, nil
		}
		mt := typeByName(in.Filename)
		if mt == "" {
			mt = sniffBase64(in.FileData)
		}
		return gemini.Part{InlineData: &gemini.Blob{MimeType: mt, Data: in.FileData}}, nil
	}
	return gemini.Part{FileData: &gemini.FileData{FileURI: fileURI(in.FileID), MimeType: typeByName(in.Filename)}}, nil
}

// fileURI accepts a full Files API URI, "files/<id>", or a bare id.
func fileURI(id string) string {
	switch {
	case strings.HasPrefix(id, "https://") || strings.HasPrefix(id, "http://") || strings.HasPrefix(id, "gs://"):
		return id
	case strings.HasPrefix(id, "files/"):
		return filesBase + id
	}
	return filesBase + "files/" + id
}

// filesBase is where Google's file URIs live, whatever BASE_URL a relay uses: Google resolves them itself.
const filesBase = "https://generativelanguage.googleapis.com/v1beta/"

var extTypes = map[string]string{
	".pdf": "application/pdf", ".txt": "text/plain", ".md": "text/md", ".html": "text/html", ".csv": "text/csv",
	".xml": "text/xml", ".rtf": "text/rtf", ".js": "text/javascript", ".py": "text/x-python", ".json": "application/json",
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif",
	".heic": "image/heic", ".heif": "image/heif", ".wav": "audio/wav", ".mp3": "audio/mp3", ".flac": "audio/flac",
	".ogg": "audio/ogg", ".aac": "audio/aac", ".mp4": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm",
}

func typeByName(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return extTypes[strings.ToLower(name[i:])]
	}
	return ""
}

// assistantParts keeps both the text and the tool calls of an assistant message (the reference
// dropped the calls when there was text).
func (t *requestTranslator) assistantParts(m *chatMessage, param string) ([]gemini.Part, error) {
	parts, err := t.contentParts(m.Content, param)
	if err != nil {
		return nil, err
	}
	for j, tc := range m.ToolCalls {
		part, err := t.toolCallPart(tc, param+".tool_calls["+strconv.Itoa(j)+"]")
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	if fc := m.FunctionCall; fc != nil && len(m.ToolCalls) == 0 {
		part, err := t.toolCallPart(toolCallIn{Function: *fc}, param+".function_call")
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	return parts, nil
}

func (t *requestTranslator) toolCallPart(tc toolCallIn, param string) (gemini.Part, error) {
	if tc.Type != "" && tc.Type != "function" {
		return gemini.Part{}, invalidParam(param+".type", "Unsupported tool call type %q in '%s'.", tc.Type, param)
	}
	name := tc.Function.Name
	if name == "" {
		return gemini.Part{}, invalidParam(param+".function.name", "Missing required parameter: '%s.function.name'.", param)
	}
	args, err := callArguments(tc.Function.Arguments)
	if err != nil {
		return gemini.Part{}, invalidParam(param+".function.arguments", "'%s.function.arguments' must be a JSON object: %v.", param, err)
	}
	if tc.ID != "" {
		if t.toolNames == nil {
			t.toolNames = map[string]string{}
		}
		t.toolNames[tc.ID] = name
	}
	part := gemini.Part{FunctionCall: &gemini.FunctionCall{Name: name, Args: args}}
	if x := tc.ExtraContent; x != nil && x.Google != nil {
		part.ThoughtSignature = x.Google.ThoughtSignature
	}
	return part, nil
}

var emptyObject = json.RawMessage(`{}`)

// callArguments reads a tool call's arguments: OpenAI's JSON string, or the object itself.
func callArguments(raw json.RawMessage) (json.RawMessage, error) {
	var text []byte
	switch rawKind(raw) {
	case contentNone:
		return emptyObject, nil
	case contentString:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		text = []byte(s)
	default:
		text = raw
	}
	text = bytes.TrimSpace(text)
	if len(text) == 0 {
		return emptyObject, nil
	}
	if text[0] != '{' || !json.Valid(text) {
		return nil, errNotObject
	}
	var out bytes.Buffer
	if err := json.Compact(&out, text); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

type constError string

func (e constError) Error() string { return string(e) }

const errNotObject = constError("not a JSON object")

// toolResult turns a tool message into a functionResponse named after the call it answers: Gemini
// matches results to calls by name, and OpenAI's tool message only carries the call's id.
func (t *requestTranslator) toolResult(m *chatMessage, param string) ([]gemini.Part, error) {
	if m.ToolCallID == "" {
		return nil, invalidParam(param+".tool_call_id", "Missing required parameter: '%s.tool_call_id'.", param)
	}
	name, ok := t.toolNames[m.ToolCallID]
	if !ok {
		return nil, invalidParam(param+".tool_call_id",
			"Invalid '%s.tool_call_id': %q does not match a tool call of an earlier assistant message.", param, m.ToolCallID)
	}
	return t.resultPart(m, name, param)
}

// functionResult reads the deprecated role "function", which names the function itself.
func (t *requestTranslator) functionResult(m *chatMessage, param string) ([]gemini.Part, error) {
	if m.Name == "" {
		return nil, invalidParam(param+".name", "Missing required parameter: '%s.name'.", param)
	}
	return t.resultPart(m, m.Name, param)
}

func (t *requestTranslator) resultPart(m *chatMessage, name, param string) ([]gemini.Part, error) {
	parts, err := t.textParts(m.Content, param)
	if err != nil {
		return nil, err
	}
	var text strings.Builder
	for _, p := range parts {
		text.WriteString(p.Text)
	}
	return []gemini.Part{{FunctionResponse: &gemini.FunctionResponse{Name: name, Response: functionResponse(text.String())}}}, nil
}

// functionResponse wraps a tool's output as {"content": ...}: Gemini wants an object, and a result
// that is a JSON object is passed as structure rather than as a string of JSON.
func functionResponse(text string) json.RawMessage {
	trimmed := strings.TrimSpace(text)
	var value []byte
	if strings.HasPrefix(trimmed, "{") && json.Valid([]byte(trimmed)) {
		var buf bytes.Buffer
		if json.Compact(&buf, []byte(trimmed)) == nil {
			value = buf.Bytes()
		}
	}
	if value == nil {
		value, _ = json.Marshal(text)
	}
	out := make([]byte, 0, len(value)+12)
	out = append(out, `{"content":`...)
	out = append(out, value...)
	return append(out, '}')
}

// signFunctionCalls gives every model turn that replays function calls a thought signature when the
// client did not keep Google's: Gemini 3 refuses such history otherwise. Only the first call of a turn
// carries one (that is where Gemini puts it in parallel calls).
func (t *requestTranslator) signFunctionCalls() {
	if !isGemini3(t.model.Real) {
		return
	}
	for i := range t.contents {
		c := &t.contents[i]
		if c.Role != "model" {
			continue
		}
		first, signed := -1, false
		for j := range c.Parts {
			if c.Parts[j].FunctionCall == nil {
				continue
			}
			if first < 0 {
				first = j
			}
			signed = signed || c.Parts[j].ThoughtSignature != ""
		}
		if first >= 0 && !signed {
			c.Parts[first].ThoughtSignature = skipSignature
		}
	}
}

// placeSystem sets the system instruction. Image-output models refuse one ("Developer instruction is
// not enabled"), so there it leads the first user turn instead; a conversation of system messages only
// is sent as the user turn it stands for, since Gemini needs at least one content.
func (t *requestTranslator) placeSystem(body *gemini.GenerateContentRequest) {
	if len(t.system) == 0 {
		return
	}
	switch {
	case len(body.Contents) == 0:
		body.Contents = []gemini.Content{{Role: "user", Parts: t.system}}
	case t.model.Image:
		for i := range body.Contents {
			if body.Contents[i].Role == "user" {
				body.Contents[i].Parts = append(slices.Clip(t.system), body.Contents[i].Parts...)
				return
			}
		}
		body.Contents = append([]gemini.Content{{Role: "user", Parts: t.system}}, body.Contents...)
	default:
		body.SystemInstruction = &gemini.Content{Parts: t.system}
	}
}

// generationConfig maps sampling options. Only what the client set is sent: the reference added
// temperature 0.7, topP 0.9 and topK 40 to every request, which changed answers behind the client's back.
func (t *requestTranslator) generationConfig() (*gemini.GenerationConfig, error) {
	req := t.req
	gc := &gemini.GenerationConfig{
		Temperature: req.Temperature, TopP: req.TopP, TopK: req.TopK, Seed: req.Seed,
		PresencePenalty: req.PresencePenalty, FrequencyPenalty: req.FrequencyPenalty,
	}
	gc.MaxOutputTokens = positiveOrNil(req.MaxCompletionTokens)
	if gc.MaxOutputTokens == nil {
		gc.MaxOutputTokens = positiveOrNil(req.MaxTokens)
	}
	stop, err := decodeStop(req.Stop)
	if err != nil {
		return nil, err
	}
	gc.StopSequences = stop
	if req.N != nil {
		n := *req.N
		gc.CandidateCount = &n
	}
	if req.Logprobs != nil && *req.Logprobs {
		gc.ResponseLogprobs = true
		gc.Logprobs = req.TopLogprobs
	}
	if err := t.responseFormat(gc); err != nil {
		return nil, err
	}
	if t.model.Image {
		gc.ResponseModalities = []string{"TEXT", "IMAGE"}
	}
	if gc.ThinkingConfig, err = t.thinking(); err != nil {
		return nil, err
	}
	if reflect.ValueOf(*gc).IsZero() {
		return nil, nil
	}
	return gc, nil
}

func positiveOrNil(v *int) *int {
	if v == nil || *v <= 0 {
		return nil
	}
	return v
}

// responseFormat maps JSON mode and structured output.
func (t *requestTranslator) responseFormat(gc *gemini.GenerationConfig) error {
	rf := t.req.ResponseFormat
	if rf == nil {
		return nil
	}
	switch rf.Type {
	case "", "text":
		return nil
	case "json_object":
		gc.ResponseMimeType = "application/json"
		t.structured = true
		return nil
	case "json_schema":
	default:
		return invalidParam("response_format.type", "Invalid value for 'response_format.type': %q (expected text, json_object or json_schema).", rf.Type)
	}
	gc.ResponseMimeType = "application/json"
	t.structured = true
	if rf.JSONSchema == nil || rawKind(rf.JSONSchema.Schema) == contentNone {
		return nil
	}
	raw := rf.JSONSchema.Schema
	cleaned, err := cleanSchema(raw)
	if err != nil {
		return invalidParam("response_format.json_schema.schema", "Invalid 'response_format.json_schema.schema': %v.", err)
	}
	// responseJsonSchema takes JSON Schema as it is ($ref, additionalProperties, type lists...); models
	// older than 2.5 only know the OpenAPI-subset responseSchema, so they get the cleaned form when it
	// can express the schema.
	if legacyModel(t.model.Real) && !hasFreeForm(cleaned, true) {
		gc.ResponseSchema, err = encodeSchema(cleaned)
		return err
	}
	gc.ResponseJSONSchema, err = rawJSONSchema(raw)
	return err
}

// rawJSONSchema is a client's JSON Schema for Gemini's JSON-Schema fields, which take it as it is
// except for the $schema dialect marker.
func rawJSONSchema(raw json.RawMessage) (json.RawMessage, error) {
	s, err := decodeSchema(raw)
	if err != nil {
		return nil, err
	}
	delete(s, "$schema")
	return encodeSchema(s)
}

// legacyModel reports Gemini 1.x and 2.0 models, which predate thinking and JSON-Schema fields.
func legacyModel(real string) bool {
	n := strings.ToLower(real)
	return strings.HasPrefix(n, "gemini-1") || strings.HasPrefix(n, "gemini-2.0") || n == "gemini-pro" || n == "gemini-pro-vision"
}

func isGemini3(real string) bool {
	n := strings.ToLower(real)
	return strings.HasPrefix(n, "gemini-3")
}

func isTTS(real string) bool { return strings.Contains(strings.ToLower(real), "tts") }

// thinkingCapable reports a model that accepts thinkingConfig. Older and special-purpose models refuse
// it, so the settings never add it there; THINKING_MODELS and THINKING_BUDGET_MAP vouch for any model.
func thinkingCapable(snap *config.Snapshot, real string) bool {
	if slices.Contains(config.ThinkingModels.Get(snap), real) {
		return true
	}
	if _, ok := config.ThinkingBudgetMap.Get(snap)[real]; ok {
		return true
	}
	n := strings.ToLower(real)
	for _, no := range [...]string{"tts", "image", "embedding", "gemma", "aqa", "imagen", "veo", "live"} {
		if strings.Contains(n, no) {
			return false
		}
	}
	if strings.Contains(n, "thinking") {
		return true
	}
	return strings.HasPrefix(n, "gemini-") && !legacyModel(n)
}

// Thinking budgets for reasoning_effort on budget models (Gemini 2.5), the values Google's own
// OpenAI-compatible endpoint uses for low, medium and high. minimal is the smallest budget every 2.5
// model accepts (flash-lite's floor is 512).
var effortBudgets = map[string]int{"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}

// proMinBudget is the smallest budget of pro models, which cannot turn thinking off.
const proMinBudget = 128

// thinking builds thinkingConfig. Precedence: a -non-thinking model, Google's own extra_body
// thinking_config, reasoning_effort, then THINKING_BUDGET_MAP. The model name wins because choosing a
// -non-thinking model is the strongest statement a client can make; the operator's map is a default.
func (t *requestTranslator) thinking() (*gemini.ThinkingConfig, error) {
	real := t.model.Real
	if t.model.Image || !thinkingCapable(t.snap, real) {
		return nil, nil
	}
	cfg := &gemini.ThinkingConfig{}
	var explicitInclude *bool
	switch eb := t.extraThinking(); {
	case t.model.NonThinking:
		cfg.ThinkingBudget = budget(models.ThinkingBudget(t.snap, t.model))
	case eb != nil && (eb.ThinkingBudget != nil || eb.ThinkingLevel != "" || eb.IncludeThoughts != nil):
		cfg.ThinkingBudget, cfg.ThinkingLevel = eb.ThinkingBudget, strings.ToUpper(eb.ThinkingLevel)
		explicitInclude = eb.IncludeThoughts
	case t.req.ReasoningEffort != "":
		if err := effortConfig(cfg, real, t.req.ReasoningEffort); err != nil {
			return nil, err
		}
	default:
		cfg.ThinkingBudget = budget(models.ThinkingBudget(t.snap, t.model))
	}
	off := cfg.ThinkingBudget != nil && *cfg.ThinkingBudget == 0
	cfg.IncludeThoughts = config.ShowThinkingProcess.Get(t.snap) && !off
	if explicitInclude != nil && !*explicitInclude {
		cfg.IncludeThoughts = false
	}
	if *cfg == (gemini.ThinkingConfig{}) {
		return nil, nil
	}
	return cfg, nil
}

func (t *requestTranslator) extraThinking() *googleThinking {
	if eb := t.req.ExtraBody; eb != nil && eb.Google != nil {
		return eb.Google.ThinkingConfig
	}
	return nil
}

func budget(b int, ok bool) *int {
	if !ok {
		return nil
	}
	return &b
}

// effortConfig maps reasoning_effort. Gemini 3 models take thinking levels, not budgets (Google:
// "using thinkingBudget with Gemini 3 Pro may result in suboptimal performance"); pro models offer only
// LOW and HIGH and cannot stop thinking, flash models also MINIMAL and MEDIUM.
func effortConfig(cfg *gemini.ThinkingConfig, real, effort string) error {
	effort = strings.ToLower(strings.TrimSpace(effort))
	if effort == "xhigh" {
		effort = "high"
	}
	if _, known := effortBudgets[effort]; !known && effort != "none" {
		return invalidParam("reasoning_effort", "Invalid value for 'reasoning_effort': %q (expected none, minimal, low, medium or high).", effort)
	}
	pro := strings.Contains(strings.ToLower(real), "-pro")
	if isGemini3(real) {
		cfg.ThinkingLevel = thinkingLevel(effort, pro)
		return nil
	}
	b := effortBudgets[effort]
	switch {
	case effort == "none" && pro:
		b = proMinBudget
	case effort == "none":
		b = 0
	case effort == "minimal" && pro:
		b = proMinBudget
	}
	cfg.ThinkingBudget = &b
	return nil
}

func thinkingLevel(effort string, pro bool) string {
	if pro {
		if effort == "medium" || effort == "high" {
			return "HIGH"
		}
		return "LOW"
	}
	switch effort {
	case "none", "minimal":
		return "MINIMAL"
	case "low":
		return "LOW"
	case "medium":
		return "MEDIUM"
	}
	return "HIGH"
}

// tools maps function tools and tool_choice, and adds the built-in tools the model name and settings
// ask for.
//
// parallel_tool_calls is accepted and has no effect: Gemini has no switch for it (it may return several
// function calls in one turn either way), and refusing the field would break clients that always send it.
func (t *requestTranslator) tools(body *gemini.GenerateContentRequest) error {
	decls, wantSearch, err := t.functionDeclarations()
	if err != nil {
		return err
	}
	if len(decls) > 0 {
		body.Tools = append(body.Tools, gemini.Tool{FunctionDeclarations: decls})
		cfg, err := toolChoice(t.req.ToolChoice, decls)
		if err != nil {
			return err
		}
		body.ToolConfig = cfg
	}
	body.Tools = append(body.Tools, t.builtinTools(len(decls) > 0, wantSearch)...)
	return nil
}

// builtinTools adds search, code execution and URL context where they can work. Google refuses them
// next to function declarations, and they would break structured output, so then none is added.
func (t *requestTranslator) builtinTools(functions, wantSearch bool) []gemini.Tool {
	if functions || t.structured || isTTS(t.model.Real) {
		return nil
	}
	var tools []gemini.Tool
	if t.model.Search || wantSearch {
		tools = append(tools, gemini.Tool{GoogleSearch: &gemini.Empty{}})
	}
	if config.ToolsCodeExecutionEnabled.Get(t.snap) && !t.model.Search && !t.model.Image && !t.model.NonThinking && !t.hasMedia {
		tools = append(tools, gemini.Tool{CodeExecution: &gemini.Empty{}})
	}
	if config.URLContextEnabled.Get(t.snap) && !t.model.Image && slices.Contains(config.URLContextModels.Get(t.snap), t.model.Real) {
		tools = append(tools, gemini.Tool{URLContext: &gemini.Empty{}})
	}
	return tools
}

// functionDeclarations reads tools (and the deprecated functions), first of a name winning. A
// function named googleSearch is a client's search toggle (as the reference treated it), not a function.
func (t *requestTranslator) functionDeclarations() ([]gemini.FunctionDeclaration, bool, error) {
	defs := make([]*functionDef, 0, len(t.req.Tools)+len(t.req.Functions))
	params := make([]string, 0, cap(defs))
	for i := range t.req.Tools {
		tool := &t.req.Tools[i]
		param := "tools[" + strconv.Itoa(i) + "]"
		if tool.Type != "function" && tool.Type != "" {
			return nil, false, invalidParam(param+".type", "Unsupported tool type %q in '%s': only function tools can be used with Gemini models.", tool.Type, param)
		}
		if tool.Function == nil {
			return nil, false, invalidParam(param+".function", "Missing required parameter: '%s.function'.", param)
		}
		defs, params = append(defs, tool.Function), append(params, param+".function")
	}
	for i := range t.req.Functions {
		defs, params = append(defs, &t.req.Functions[i]), append(params, "functions["+strconv.Itoa(i)+"]")
	}
	var decls []gemini.FunctionDeclaration
	search := false
	for i, fd := range defs {
		switch {
		case fd.Name == "":
			return nil, false, invalidParam(params[i]+".name", "Missing required parameter: '%s.name'.", params[i])
		case fd.Name == "googleSearch" || fd.Name == "google_search":
			search = true
			continue
		case slices.ContainsFunc(decls, func(d gemini.FunctionDeclaration) bool { return d.Name == fd.Name }):
			continue
		}
		decl, err := declaration(fd, params[i])
		if err != nil {
			return nil, false, err
		}
		decls = append(decls, decl)
	}
	return decls, search, nil
}

func declaration(fd *functionDef, param string) (gemini.FunctionDeclaration, error) {
	decl := gemini.FunctionDeclaration{Name: fd.Name, Description: fd.Description}
	if rawKind(fd.Parameters) == contentNone {
		return decl, nil
	}
	cleaned, err := cleanSchema(fd.Parameters)
	if err != nil {
		return decl, invalidParam(param+".parameters", "Invalid '%s.parameters': %v.", param, err)
	}
	// A function without parameters must not say so with an empty object: Gemini refuses an OBJECT
	// without properties.
	if cleaned["properties"] == nil && cleaned["anyOf"] == nil {
		return decl, nil
	}
	if hasFreeForm(cleaned, false) {
		decl.ParametersJSONSchema, err = rawJSONSchema(fd.Parameters)
		return decl, err
	}
	decl.Parameters, err = encodeSchema(cleaned)
	return decl, err
}

// toolChoice maps tool_choice onto function calling modes: none → NONE, auto → AUTO, required → ANY,
// a named function → ANY restricted to it.
func toolChoice(raw json.RawMessage, decls []gemini.FunctionDeclaration) (*gemini.ToolConfig, error) {
	mode, name := "", ""
	switch rawKind(raw) {
	case contentNone:
		return nil, nil
	case contentString:
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "none":
			mode = "NONE"
		case "auto":
			mode = "AUTO"
		case "required", "any":
			mode = "ANY"
		default:
			return nil, invalidParam("tool_choice", "Invalid value for 'tool_choice': %q (expected none, auto, required or a function).", s)
		}
	default:
		var v struct {
			Type     string `json:"type"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		if json.Unmarshal(raw, &v) != nil || v.Type != "function" || v.Function.Name == "" {
			return nil, invalidParam("tool_choice", `Invalid 'tool_choice': expected none, auto, required or {"type":"function","function":{"name":...}}.`)
		}
		if !slices.ContainsFunc(decls, func(d gemini.FunctionDeclaration) bool { return d.Name == v.Function.Name }) {
			return nil, invalidParam("tool_choice.function.name", "Invalid 'tool_choice': function %q is not among the tools.", v.Function.Name)
		}
		mode, name = "ANY", v.Function.Name
	}
	cfg := &gemini.FunctionCallingConfig{Mode: mode}
	if name != "" {
		cfg.AllowedFunctionNames = []string{name}
	}
	return &gemini.ToolConfig{FunctionCallingConfig: cfg}, nil
}

// safetySettings adds SAFETY_SETTINGS (the OpenAI API has no field for them); speech models refuse them.
func (t *requestTranslator) safetySettings() []gemini.SafetySetting {
	if isTTS(t.model.Real) {
		return nil
	}
	list := config.SafetySettings.Get(t.snap)
	out := make([]gemini.SafetySetting, 0, len(list))
	for _, m := range list {
		if m["category"] == "" || m["threshold"] == "" {
			continue
		}
		out = append(out, gemini.SafetySetting{Category: m["category"], Threshold: m["threshold"], Method: m["method"]})
	}
	return out
}
