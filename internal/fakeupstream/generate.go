package fakeupstream

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Request types read only what the simulation answers from. Google accepts proto field names in
// snake_case as well as camelCase, so the fields gateways commonly rewrite accept both.

type genRequest struct {
	Contents               []content  `json:"contents"`
	SystemInstruction      *content   `json:"systemInstruction"`
	SystemInstructionSnake *content   `json:"system_instruction"`
	Tools                  []tool     `json:"tools"`
	GenerationConfig       *genConfig `json:"generationConfig"`
	GenerationConfigSnake  *genConfig `json:"generation_config"`
}

type content struct {
	Role  string `json:"role"`
	Parts []part `json:"parts"`
}

type part struct {
	Text string `json:"text"`
}

type tool struct {
	FunctionDeclarations      []functionDeclaration `json:"functionDeclarations"`
	FunctionDeclarationsSnake []functionDeclaration `json:"function_declarations"`
	GoogleSearch              *struct{}             `json:"googleSearch"`
	GoogleSearchSnake         *struct{}             `json:"google_search"`
}

// searches reports a request with the Google Search tool: its answer is grounded, with sources.
func (g *genRequest) searches() bool {
	for _, t := range g.Tools {
		if t.GoogleSearch != nil || t.GoogleSearchSnake != nil {
			return true
		}
	}
	return false
}

type functionDeclaration struct {
	Name                 string  `json:"name"`
	Parameters           *schema `json:"parameters"`
	ParametersJSONSchema *schema `json:"parametersJsonSchema"`
}

type schema struct {
	Type       string             `json:"type"`
	Properties map[string]*schema `json:"properties"`
	Required   []string           `json:"required"`
}

type genConfig struct {
	CandidateCount          int             `json:"candidateCount"`
	CandidateCountSnake     int             `json:"candidate_count"`
	MaxOutputTokens         int             `json:"maxOutputTokens"`
	MaxOutputTokensSnake    int             `json:"max_output_tokens"`
	ResponseModalities      []string        `json:"responseModalities"`
	ResponseModalitiesSnake []string        `json:"response_modalities"`
	ThinkingConfig          *thinkingConfig `json:"thinkingConfig"`
	ThinkingConfigSnake     *thinkingConfig `json:"thinking_config"`
	ResponseMimeType        string          `json:"responseMimeType"`
	ResponseSchema          *outSchema      `json:"responseSchema"`
	ResponseJSONSchema      *outSchema      `json:"responseJsonSchema"`
}

// outSchema is the part of a response schema the structured answer is built from.
type outSchema struct {
	Type       any                   `json:"type"` // "object", "OBJECT", or ["string","null"]
	Properties map[string]*outSchema `json:"properties"`
	Items      *outSchema            `json:"items"`
}

// structured is the answer to a request for JSON output: a value of the schema's shape, its strings
// echoing the prompt, so a client can parse it as it would Gemini's.
func (cfg genConfig) structured(user string) (string, bool) {
	if !strings.EqualFold(cfg.ResponseMimeType, "application/json") {
		return "", false
	}
	sc := cfg.ResponseSchema
	if sc == nil {
		sc = cfg.ResponseJSONSchema
	}
	b, err := json.Marshal(sc.sample("echo: " + user))
	if err != nil {
		return "", false
	}
	return string(b), true
}

func (s *outSchema) sample(text string) any {
	if s == nil {
		return map[string]any{"text": text}
	}
	typ, _ := s.Type.(string)
	if list, ok := s.Type.([]any); ok && len(list) > 0 {
		typ, _ = list[0].(string)
	}
	switch strings.ToLower(typ) {
	case "array":
		return []any{s.Items.sample(text)}
	case "string":
		return text
	case "number", "integer":
		return 1
	case "boolean":
		return true
	}
	out := map[string]any{}
	for name, p := range s.Properties {
		out[name] = p.sample(text)
	}
	return out
}

type thinkingConfig struct {
	IncludeThoughts      bool `json:"includeThoughts"`
	IncludeThoughtsSnake bool `json:"include_thoughts"`
}

// unmarshalBody treats an empty body as {}, as Google does, so it fails validation rather than parsing.
func unmarshalBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return json.Unmarshal(body, v)
}

func (c *call) decode() {
	var v any
	switch c.rt.kind {
	case kindGenerate, kindStream:
		v = new(genRequest)
	case kindCount:
		v = new(countRequest)
	case kindEmbed:
		v = new(embedRequest)
	case kindBatchEmbed:
		v = new(batchEmbedRequest)
	case kindOAIChat:
		v = new(chatRequest)
	case kindOAIEmbed:
		v = new(openAIEmbedRequest)
	default:
		return
	}
	c.reqErr = unmarshalBody(c.body, v)
	c.req = v
	if m, ok := v.(interface{ modelName() string }); ok && c.rt.openai {
		c.model = strings.TrimPrefix(m.modelName(), "models/")
	}
}

func (g *genRequest) config() genConfig {
	cfg := g.GenerationConfig
	if cfg == nil {
		cfg = g.GenerationConfigSnake
	}
	if cfg == nil {
		return genConfig{}
	}
	out := *cfg
	out.CandidateCount = max(out.CandidateCount, out.CandidateCountSnake)
	out.MaxOutputTokens = max(out.MaxOutputTokens, out.MaxOutputTokensSnake)
	if len(out.ResponseModalities) == 0 {
		out.ResponseModalities = out.ResponseModalitiesSnake
	}
	return out
}

func (cfg genConfig) includeThoughts() bool {
	for _, t := range [...]*thinkingConfig{cfg.ThinkingConfig, cfg.ThinkingConfigSnake} {
		if t != nil && (t.IncludeThoughts || t.IncludeThoughtsSnake) {
			return true
		}
	}
	return false
}

func (cfg genConfig) wants(modality string) bool {
	for _, m := range cfg.ResponseModalities {
		if strings.EqualFold(m, modality) {
			return true
		}
	}
	return false
}

func (g *genRequest) declarations() []functionDeclaration {
	var out []functionDeclaration
	for _, t := range g.Tools {
		out = append(out, t.FunctionDeclarations...)
		out = append(out, t.FunctionDeclarationsSnake...)
	}
	return out
}

// lastUserText is what the answer echoes, so tests can see what actually reached upstream.
func lastUserText(cs []content) string {
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].Role == "" || cs[i].Role == "user" {
			return joinText(cs[i].Parts)
		}
	}
	return ""
}

func joinText(ps []part) string {
	if len(ps) == 1 {
		return ps[0].Text
	}
	texts := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.Text != "" {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n")
}

// tokens approximates Google's tokenizer at one token per four characters, never below one.
func tokens(chars int) int { return max((chars+3)/4, 1) }

func promptChars(g *genRequest) int {
	n := contentsChars(g.Contents)
	for _, si := range [...]*content{g.SystemInstruction, g.SystemInstructionSnake} {
		if si != nil {
			n += partsChars(si.Parts)
		}
	}
	return n
}

func contentsChars(cs []content) int {
	n := 0
	for _, c := range cs {
		n += partsChars(c.Parts)
	}
	return n
}

func partsChars(ps []part) int {
	n := 0
	for _, p := range ps {
		n += utf8.RuneCountInString(p.Text)
	}
	return n
}

const (
	thoughtText    = "thinking about it"
	blockTrigger   = "block me"
	callTrigger    = "call "
	maxTokensLimit = 5
)

type functionCall struct {
	Name string         `json:"name"`
	Args map[string]any `json:"args"`
}

// answer is the model's reply before it is laid out as one response, stream events or an OpenAI body.
type answer struct {
	model         string
	responseID    string
	blocked       bool
	empty         bool
	thought       bool
	text          string
	call          *functionCall
	media         []blob
	mediaOnly     bool
	finish        string
	candidates    int
	grounding     *grounding // the sources of a search-grounded answer
	promptTokens  int
	outTokens     int // per candidate
	thoughtTokens int
}

type blob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

func newAnswer(model string, g *genRequest, b Behavior) *answer {
	cfg := g.config()
	a := &answer{
		model: model, responseID: responseID(), finish: "STOP",
		candidates: max(cfg.CandidateCount, 1), promptTokens: tokens(promptChars(g)),
	}
	user := lastUserText(g.Contents)
	switch {
	case b == Empty:
		a.empty = true
		return a
	case user == blockTrigger:
		a.blocked = true
		return a
	}
	a.thought = cfg.includeThoughts()
	if a.thought {
		a.thoughtTokens = tokens(len(thoughtText))
	}
	if a.call = functionCallFor(user, g.declarations()); a.call != nil {
		a.outTokens = tokens(len(a.call.Name) + 16)
		return a
	}
	a.fillContent(user, cfg)
	if g.searches() {
		a.grounding = &grounding{
			Chunks:  []groundingChunk{{Web: webSource{URI: "https://example.com/search?q=" + url.QueryEscape(user), Title: "Example result for " + user}}},
			Queries: []string{user},
		}
	}
	return a
}

// grounding is Google's groundingMetadata, the part gateways read: the web sources.
type grounding struct {
	Chunks  []groundingChunk `json:"groundingChunks"`
	Queries []string         `json:"webSearchQueries"`
}

type groundingChunk struct {
	Web webSource `json:"web"`
}

type webSource struct {
	URI   string `json:"uri"`
	Title string `json:"title"`
}

func (a *answer) fillContent(user string, cfg genConfig) {
	if cfg.wants("AUDIO") {
		a.media = []blob{{MimeType: "audio/L16;codec=pcm;rate=24000", Data: pcmBase64}}
		a.mediaOnly = true
		a.outTokens = tokens(len(user))
		return
	}
	a.text = "echo: " + user
	if js, ok := cfg.structured(user); ok {
		a.text = js
	}
	if cfg.MaxOutputTokens > 0 && cfg.MaxOutputTokens < maxTokensLimit {
		a.text = truncateRunes(a.text, cfg.MaxOutputTokens*4)
		a.finish = "MAX_TOKENS"
	}
	a.outTokens = tokens(utf8.RuneCountInString(a.text))
	if cfg.wants("IMAGE") {
		a.media = []blob{{MimeType: "image/png", Data: pngBase64}}
	}
}

func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// functionCallFor answers "call <name>" with a call of that declared function. The trigger may be any
// line of the user's turn: agent CLIs put reminders and context around what the user typed.
func functionCallFor(user string, decls []functionDeclaration) *functionCall {
	if len(decls) == 0 {
		return nil
	}
	for line := range strings.Lines(user) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), callTrigger)
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
		for _, d := range decls {
			if d.Name == name {
				return &functionCall{Name: name, Args: argsFor(d)}
			}
		}
	}
	return nil
}

func argsFor(d functionDeclaration) map[string]any {
	if d.Name == "get_weather" {
		return map[string]any{"location": "Paris"}
	}
	args := map[string]any{}
	for _, sc := range [...]*schema{d.Parameters, d.ParametersJSONSchema} {
		if sc == nil {
			continue
		}
		for name, prop := range sc.Properties {
			// Only required arguments when the schema lists them: an agent's optional ones ("pages",
			// "offset") have formats of their own that "test" would not meet.
			if len(sc.Required) > 0 && !slices.Contains(sc.Required, name) {
				continue
			}
			if prop != nil && strings.EqualFold(prop.Type, "string") {
				args[name] = "test"
			}
		}
	}
	return args
}

// responseID looks like Google's: 23 characters of URL-safe base64.
func responseID() string {
	var b [17]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (a *answer) usage() *usageMetadata {
	out := a.outTokens * a.candidates
	u := &usageMetadata{
		PromptTokenCount:    a.promptTokens,
		TotalTokenCount:     a.promptTokens + out + a.thoughtTokens,
		PromptTokensDetails: []modalityCount{{Modality: "TEXT", TokenCount: a.promptTokens}},
		ThoughtsTokenCount:  a.thoughtTokens,
	}
	if !a.blocked && !a.empty {
		u.CandidatesTokenCount = out
	}
	return u
}

type usageMetadata struct {
	PromptTokenCount     int             `json:"promptTokenCount"`
	CandidatesTokenCount int             `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount      int             `json:"totalTokenCount"`
	PromptTokensDetails  []modalityCount `json:"promptTokensDetails"`
	ThoughtsTokenCount   int             `json:"thoughtsTokenCount,omitempty"`
}

type modalityCount struct {
	Modality   string `json:"modality"`
	TokenCount int    `json:"tokenCount"`
}

type genResponse struct {
	Candidates     []candidate     `json:"candidates,omitempty"`
	PromptFeedback *promptFeedback `json:"promptFeedback,omitempty"`
	UsageMetadata  *usageMetadata  `json:"usageMetadata,omitempty"`
	ModelVersion   string          `json:"modelVersion"`
	ResponseID     string          `json:"responseId"`
}

type promptFeedback struct {
	BlockReason string `json:"blockReason"`
}

type candidate struct {
	Content           respContent `json:"content"`
	FinishReason      string      `json:"finishReason,omitempty"`
	Index             int         `json:"index"`
	GroundingMetadata *grounding  `json:"groundingMetadata,omitempty"`
}

type respContent struct {
	Parts []any  `json:"parts,omitempty"`
	Role  string `json:"role"`
}

type textPart struct {
	Text    string `json:"text"`
	Thought bool   `json:"thought,omitempty"`
}

type inlinePart struct {
	InlineData blob `json:"inlineData"`
}

type callPart struct {
	FunctionCall *functionCall `json:"functionCall"`
}

// events lays the answer out as n stream events (one if it cannot be split); the last carries the
// finish reason and usage, as Google's does.
func (a *answer) events(n int) []genResponse {
	if a.blocked || a.empty || a.call != nil || a.mediaOnly {
		return []genResponse{a.full()}
	}
	pieces := splitRunes(a.text, n)
	out := make([]genResponse, len(pieces))
	for i, piece := range pieces {
		var parts []any
		if i == 0 && a.thought {
			parts = append(parts, textPart{Text: thoughtText, Thought: true})
		}
		parts = append(parts, textPart{Text: piece})
		last := i == len(pieces)-1
		if last {
			parts = a.appendMedia(parts)
		}
		out[i] = a.response(parts, last)
	}
	return out
}

// full is the non-streamed answer.
func (a *answer) full() genResponse {
	switch {
	case a.blocked:
		return genResponse{PromptFeedback: &promptFeedback{BlockReason: "SAFETY"}, UsageMetadata: a.usage(),
			ModelVersion: a.model, ResponseID: a.responseID}
	case a.empty:
		return a.response(nil, true)
	}
	var parts []any
	if a.thought {
		parts = append(parts, textPart{Text: thoughtText, Thought: true})
	}
	switch {
	case a.call != nil:
		parts = append(parts, callPart{FunctionCall: a.call})
	case !a.mediaOnly:
		parts = append(parts, textPart{Text: a.text})
	}
	return a.response(a.appendMedia(parts), true)
}

func (a *answer) appendMedia(parts []any) []any {
	for _, m := range a.media {
		parts = append(parts, inlinePart{InlineData: m})
	}
	return parts
}

func (a *answer) response(parts []any, last bool) genResponse {
	r := genResponse{Candidates: make([]candidate, a.candidates), ModelVersion: a.model, ResponseID: a.responseID}
	for i := range r.Candidates {
		r.Candidates[i] = candidate{Content: respContent{Parts: parts, Role: "model"}, Index: i}
		if last {
			r.Candidates[i].FinishReason = a.finish
			r.Candidates[i].GroundingMetadata = a.grounding
		}
	}
	if last {
		r.UsageMetadata = a.usage()
	}
	return r
}

// splitRunes cuts s into exactly n pieces of nearly equal rune counts; pieces may be empty when s is short,
// which keeps the event count predictable for tests that hold the stream at a given event.
func splitRunes(s string, n int) []string {
	runes := []rune(s)
	out := make([]string, n)
	for i := range n {
		out[i] = string(runes[i*len(runes)/n : (i+1)*len(runes)/n])
	}
	return out
}

func validateContents(cs []content, field string) *apiError {
	if len(cs) == 0 {
		return badRequest("* " + field + ".contents: contents is not specified\n")
	}
	return nil
}

func (s *Server) serveGenerate(c *call) {
	g := c.req.(*genRequest)
	if e := validateContents(g.Contents, "GenerateContentRequest"); e != nil {
		s.writeError(c, e)
		return
	}
	writeJSON(c.w, newAnswer(c.model, g, c.b).full())
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, b)
}

func writeRaw(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentJSON)
	h.Set("Vary", "Origin, X-Origin, Referer")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
