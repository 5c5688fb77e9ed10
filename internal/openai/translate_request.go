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
	"github.com/gemgate/gemgate/internal/translate"
)

// requestTranslation is an OpenAI chat request turned into a Gemini one.
type requestTranslation struct {
	body *gemini.GenerateContentRequest
	// media are http(s) URLs still to download into parts already placed in body.
	media      []*translate.MediaJob
	candidates int // n: the choices every answer has
}

// requestTranslator carries what translating one request needs; it is used once.
type requestTranslator struct {
	snap  *config.Snapshot
	model models.Resolved
	req   *chatRequest

	conv       translate.Conversation
	structured bool
}

// translateRequest maps req onto generateContent for the resolved model.
func translateRequest(snap *config.Snapshot, model models.Resolved, req *chatRequest) (requestTranslation, error) {
	t := &requestTranslator{snap: snap, model: model, req: req, conv: translate.Conversation{Model: model}}
	if err := t.messages(); err != nil {
		return requestTranslation{}, err
	}
	body := t.conv.Request()
	cfg, err := t.generationConfig()
	if err != nil {
		return requestTranslation{}, err
	}
	body.GenerationConfig = cfg
	if err := t.tools(body); err != nil {
		return requestTranslation{}, err
	}
	body.SafetySettings = translate.SafetySettings(t.snap, t.model)
	if eb := req.ExtraBody; eb != nil && eb.Google != nil {
		body.CachedContent = eb.Google.CachedContent
	}
	n := 1
	if req.N != nil && *req.N > 1 {
		n = min(*req.N, maxChoices)
	}
	return requestTranslation{body: body, media: t.conv.Media, candidates: n}, nil
}

// maxChoices bounds n as gemgate reads it; Google allows 8 candidates.
const maxChoices = 8

func (t *requestTranslator) messages() error {
	for i := range t.req.Messages {
		m := &t.req.Messages[i]
		if err := t.message(m, messageParam(i)); err != nil {
			return err
		}
	}
	return nil
}

// paramTable holds the parameter paths of a list's first elements, named in errors only: built for
// each element, they were an allocation per element of every request.
type paramTable struct {
	name  string
	first [32]string
}

func newParamTable(name string) *paramTable {
	p := &paramTable{name: name}
	for i := range p.first {
		p.first[i] = name + "[" + strconv.Itoa(i) + "]"
	}
	return p
}

// at is the path of element i.
func (p *paramTable) at(i int) string {
	if i < len(p.first) {
		return p.first[i]
	}
	return p.name + "[" + strconv.Itoa(i) + "]"
}

var messageParams = newParamTable("messages")

func messageParam(i int) string { return messageParams.at(i) }

func (t *requestTranslator) message(m *chatMessage, param string) error {
	var parts []gemini.Part
	var err error
	role := "user"
	switch strings.ToLower(m.Role) {
	case "system", "developer":
		parts, err = t.textParts(m.Content, param)
		t.conv.AddSystem(parts...)
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
	t.conv.Add(role, parts)
	return nil
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
	if rawKind(raw) == contentString {
		return t.stringContent(raw, param)
	}
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

// stringContent is contentParts of a string, the usual content, without the one text item
// decodeContent would make of it.
func (t *requestTranslator) stringContent(raw json.RawMessage, param string) ([]gemini.Part, error) {
	s, err := gemini.UnquoteString(bytes.TrimSpace(raw))
	if err != nil {
		param += ".content"
		return nil, invalidParam(param, "Invalid string in '%s': %v.", param, err)
	}
	if s != "" && !t.model.Image {
		return t.conv.OnePart(gemini.Part{Text: s}), nil // appendText's plain case
	}
	return t.appendText(nil, s), nil
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
				t.conv.HasMedia = true
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
		mt, data, err := translate.ParseDataURL(text[open+2 : end])
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
	t.conv.HasMedia = true
	part := gemini.Part{}
	if _, ok := translate.CutPrefixFold(u, "data:"); ok {
		mt, data, err := translate.ParseDataURL(u)
		if err != nil {
			return part, invalidParam(param+".url", "Invalid image data URL in '%s.url': %v.", param, err)
		}
		part.InlineData = &gemini.Blob{MimeType: mt, Data: data}
		return part, nil
	}
	if !translate.IsHTTPURL(u) {
		return part, invalidParam(param+".url", "'%s.url' must be a data: URL or an http(s) URL.", param)
	}
	return t.conv.Fetch(u, param+".url"), nil
}

// Media formats OpenAI clients name, with the MIME types Gemini documents.
var (
	audioTypes = map[string]string{
		"wav": "audio/wav", "mp3": "audio/mp3", "mpeg": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg",
		"opus": "audio/ogg", "aac": "audio/aac", "aiff": "audio/aiff", "m4a": "audio/mp4", "webm": "audio/webm",
		"pcm16": "audio/l16", "mpga": "audio/mpeg", "mp4": "audio/mp4", "oga": "audio/ogg", "aif": "audio/aiff",
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
	if dmt, d, err := translate.ParseDataURL(data); err == nil {
		data = d
		if dmt != "" && dmt != "application/octet-stream" {
			mt = dmt
		}
	}
	t.conv.HasMedia = true
	return gemini.Part{InlineData: &gemini.Blob{MimeType: mt, Data: data}}, nil
}

// filePart reads a file part: inline data (a data: URL or bare base64) or an uploaded file's id.
func (t *requestTranslator) filePart(in *fileInput, param string) (gemini.Part, error) {
	if in == nil || (in.FileData == "" && in.FileID == "") {
		return gemini.Part{}, invalidParam(param, "'%s' needs file_data or file_id.", param)
	}
	t.conv.HasMedia = true
	if in.FileData != "" {
		if mt, data, err := translate.ParseDataURL(in.FileData); err == nil {
			return gemini.Part{InlineData: &gemini.Blob{MimeType: mt, Data: data}}, nil
		}
		mt := typeByName(in.Filename)
		if mt == "" {
			mt = translate.SniffBase64(in.FileData)
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
	args, err := translate.CallArguments(tc.Function.Arguments)
	if err != nil {
		return gemini.Part{}, invalidParam(param+".function.arguments", "'%s.function.arguments' must be a JSON object: %v.", param, err)
	}
	t.conv.NoteCall(tc.ID, name)
	part := gemini.Part{FunctionCall: &gemini.FunctionCall{Name: name, Args: args}}
	if x := tc.ExtraContent; x != nil && x.Google != nil {
		part.ThoughtSignature = x.Google.ThoughtSignature
	}
	return part, nil
}

// toolResult turns a tool message into a functionResponse named after the call it answers: Gemini
// matches results to calls by name, and OpenAI's tool message only carries the call's id.
func (t *requestTranslator) toolResult(m *chatMessage, param string) ([]gemini.Part, error) {
	if m.ToolCallID == "" {
		return nil, invalidParam(param+".tool_call_id", "Missing required parameter: '%s.tool_call_id'.", param)
	}
	name, ok := t.conv.CallName(m.ToolCallID)
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
	return []gemini.Part{{FunctionResponse: &gemini.FunctionResponse{Name: name, Response: translate.FunctionResponse(text.String())}}}, nil
}

// generationConfig maps sampling options. Only what the client set is sent: the reference added
// temperature 0.7, topP 0.9 and topK 40 to every request, which changed answers behind the client's back.
func (t *requestTranslator) generationConfig() (*gemini.GenerationConfig, error) {
	req := t.req
	st := &configStore{}
	gc := &st.generation
	*gc = gemini.GenerationConfig{
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
	if gc.ThinkingConfig, err = t.thinking(st); err != nil {
		return nil, err
	}
	if reflect.ValueOf(*gc).IsZero() {
		return nil, nil
	}
	return gc, nil
}

// configStore holds a request's generation and thinking configs and its thinking budget in one
// allocation instead of three.
type configStore struct {
	generation gemini.GenerationConfig
	thinking   gemini.ThinkingConfig
	budget     int
}

// budgetOf is budget with st's storage.
func (st *configStore) budgetOf(b int, ok bool) *int {
	if !ok {
		return nil
	}
	st.budget = b
	return &st.budget
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
	t.structured = true
	var raw json.RawMessage
	if rf.JSONSchema != nil {
		raw = rf.JSONSchema.Schema
	}
	if err := translate.ResponseSchema(gc, t.model.Real, raw); err != nil {
		return invalidParam("response_format.json_schema.schema", "Invalid 'response_format.json_schema.schema': %v.", err)
	}
	return nil
}

// thinking builds thinkingConfig. Precedence: a -non-thinking model, Google's own extra_body
// thinking_config, reasoning_effort, then THINKING_BUDGET_MAP. The model name wins because choosing a
// -non-thinking model is the strongest statement a client can make; the operator's map is a default.
func (t *requestTranslator) thinking(st *configStore) (*gemini.ThinkingConfig, error) {
	real := t.model.Real
	if t.model.Image || !translate.ThinkingCapable(t.snap, real) {
		return nil, nil
	}
	cfg := &st.thinking
	var explicitInclude *bool
	switch eb := t.extraThinking(); {
	case t.model.NonThinking:
		cfg.ThinkingBudget = st.budgetOf(models.ThinkingBudget(t.snap, t.model))
	case eb != nil && (eb.ThinkingBudget != nil || eb.ThinkingLevel != "" || eb.IncludeThoughts != nil):
		cfg.ThinkingBudget, cfg.ThinkingLevel = eb.ThinkingBudget, strings.ToUpper(eb.ThinkingLevel)
		explicitInclude = eb.IncludeThoughts
	case t.req.ReasoningEffort != "":
		if err := translate.EffortConfig(cfg, real, t.req.ReasoningEffort); err != nil {
			return nil, invalidParam("reasoning_effort", "Invalid value for 'reasoning_effort': %v.", err)
		}
	default:
		cfg.ThinkingBudget = st.budgetOf(models.ThinkingBudget(t.snap, t.model))
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
	body.Tools = append(body.Tools, translate.BuiltinTools(t.snap, t.model, translate.Builtins{
		Functions: len(decls) > 0, Structured: t.structured, HasMedia: t.conv.HasMedia, WantSearch: wantSearch,
	})...)
	return nil
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
	decl, err := translate.Declaration(fd.Name, fd.Description, fd.Parameters)
	if err != nil {
		return decl, invalidParam(param+".parameters", "Invalid '%s.parameters': %v.", param, err)
	}
	return decl, nil
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
	if name != "" {
		return translate.ToolConfig(mode, name), nil
	}
	return translate.ToolConfig(mode), nil
}
