package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/models"
	"github.com/gemgate/gemgate/internal/translate"
)

// translation is a Messages request turned into a Gemini one.
type translation struct {
	body *gemini.GenerateContentRequest
	// media are URLs still to download into parts already placed in body.
	media []*translate.MediaJob
	// thinking is whether the client turned thinking on, and so wants thinking blocks back.
	thinking bool
}

// translator carries what translating one request needs; it is used once.
type translator struct {
	snap *config.Snapshot
	req  *messagesRequest
	conv translate.Conversation
}

// translateRequest maps req onto generateContent for the resolved model.
func translateRequest(snap *config.Snapshot, model models.Resolved, req *messagesRequest) (translation, error) {
	t := &translator{snap: snap, req: req, conv: translate.Conversation{Model: model}}
	if err := t.system(); err != nil {
		return translation{}, err
	}
	for i := range req.Messages {
		if err := t.message(&req.Messages[i], messageParam(i)); err != nil {
			return translation{}, err
		}
	}
	body := t.conv.Request()
	decls, search, err := t.tools()
	if err != nil {
		return translation{}, err
	}
	if len(decls) > 0 {
		body.Tools = []gemini.Tool{{FunctionDeclarations: decls}}
		if body.ToolConfig, err = t.toolChoice(decls); err != nil {
			return translation{}, err
		}
	}
	body.Tools = append(body.Tools, translate.BuiltinTools(snap, model, translate.Builtins{
		Functions: len(decls) > 0, HasMedia: t.conv.HasMedia, WantSearch: search,
	})...)
	body.SafetySettings = translate.SafetySettings(snap, model)
	gc, thinkingOn, err := t.generationConfig()
	if err != nil {
		return translation{}, err
	}
	body.GenerationConfig = gc
	return translation{body: body, media: t.conv.Media, thinking: thinkingOn}, nil
}

// system reads the system prompt: a string or a list of text blocks.
func (t *translator) system() error {
	list, err := blocks(t.req.System, "system")
	if err != nil {
		return err
	}
	return t.addSystem(list, "system")
}

// addSystem folds text blocks into Gemini's system instruction. Messages with role "system" anywhere
// in the list (Claude Code's mid-conversation system turns) come here too: Gemini has a single system
// instruction and no system role in contents, so they join it in order.
func (t *translator) addSystem(list []block, param string) error {
	for i, b := range list {
		if b.Type != "text" {
			return invalid("%s.%d.type: only text blocks may form the system prompt, not %q", param, i, b.Type)
		}
		if b.Text != "" {
			t.conv.AddSystem(gemini.Part{Text: b.Text})
		}
	}
	return nil
}

// messageParams are the parameter paths of the first messages, named in errors only: built for each
// message (with fmt), they cost an allocation and a formatting per message of every request.
var messageParams = func() (out [32]string) {
	for i := range out {
		out[i] = fmt.Sprintf("messages.%d", i)
	}
	return out
}()

func messageParam(i int) string {
	if i < len(messageParams) {
		return messageParams[i]
	}
	return fmt.Sprintf("messages.%d", i)
}

func (t *translator) message(m *message, param string) error {
	if m.Role == "user" {
		if s, ok := stringContent(m.Content); ok {
			if s != "" {
				t.conv.Add("user", t.conv.OnePart(gemini.Part{Text: s}))
			}
			return nil
		}
	}
	list, err := blocks(m.Content, param+".content")
	if err != nil {
		return err
	}
	switch m.Role {
	case "user":
		parts, err := t.userParts(list, param+".content")
		if err != nil {
			return err
		}
		t.conv.Add("user", parts)
	case "assistant":
		parts, err := t.assistantParts(list, param+".content")
		if err != nil {
			return err
		}
		t.conv.Add("model", parts)
	case "system":
		return t.addSystem(list, param+".content")
	default:
		return invalid("%s.role: expected user, assistant or system, got %q", param, m.Role)
	}
	return nil
}

// stringContent is content given as a plain string (most user turns), which blocks would make into one
// text block first.
func stringContent(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	s, err := gemini.UnquoteString(raw)
	return s, err == nil
}

func (t *translator) userParts(list []block, param string) ([]gemini.Part, error) {
	var parts []gemini.Part
	for i := range list {
		b := &list[i]
		if b.Type == "text" { // contentPart's first case, without the block's parameter path
			if b.Text != "" {
				parts = append(parts, gemini.Part{Text: b.Text})
			}
			continue
		}
		p := fmt.Sprintf("%s.%d", param, i)
		switch b.Type {
		case "tool_result":
			res, err := t.toolResult(b, p)
			if err != nil {
				return nil, err
			}
			parts = append(parts, res...)
		default:
			part, ok, err := t.contentPart(b, p)
			if err != nil {
				return nil, err
			}
			if ok {
				parts = append(parts, part)
			}
		}
	}
	return parts, nil
}

// contentPart reads a text, image or document block; ok is false for a block with nothing to send.
func (t *translator) contentPart(b *block, param string) (gemini.Part, bool, error) {
	switch b.Type {
	case "text":
		return gemini.Part{Text: b.Text}, b.Text != "", nil
	case "image", "document":
		return t.mediaPart(b, param)
	case "thinking", "redacted_thinking":
		return gemini.Part{}, false, nil
	}
	return gemini.Part{}, false, invalid("%s.type: unsupported content block type %q", param, b.Type)
}

// mediaPart reads an image or a document from base64 data, a URL, or (documents) plain text.
func (t *translator) mediaPart(b *block, param string) (gemini.Part, bool, error) {
	src := b.Source
	if src == nil {
		return gemini.Part{}, false, invalid("%s.source: Field required", param)
	}
	switch src.Type {
	case "base64":
		if src.Data == "" || src.MediaType == "" {
			return gemini.Part{}, false, invalid("%s.source: base64 sources need media_type and data", param)
		}
		return t.conv.Inline(src.MediaType, src.Data), true, nil
	case "url":
		if !translate.IsHTTPURL(src.URL) {
			return gemini.Part{}, false, invalid("%s.source.url: expected an http(s) URL", param)
		}
		return t.conv.Fetch(src.URL, param+".source.url"), true, nil
	case "text":
		if b.Type == "document" {
			return gemini.Part{Text: src.Data}, src.Data != "", nil
		}
	case "content":
		if b.Type == "document" {
			return t.documentContent(src, param)
		}
	case "file":
		return gemini.Part{}, false, invalid("%s.source: Files API sources are not supported by gemgate; send the data as base64", param)
	}
	return gemini.Part{}, false, invalid("%s.source.type: unsupported source type %q for a %s block", param, src.Type, b.Type)
}

// documentContent reads a document given as content blocks: their text, joined.
func (t *translator) documentContent(src *source, param string) (gemini.Part, bool, error) {
	list, err := blocks(src.Content, param+".source.content")
	if err != nil {
		return gemini.Part{}, false, err
	}
	var text []string
	for _, b := range list {
		if b.Type == "text" && b.Text != "" {
			text = append(text, b.Text)
		}
	}
	joined := strings.Join(text, "\n")
	return gemini.Part{Text: joined}, joined != "", nil
}

// toolResult turns a tool_result into a functionResponse named after the call it answers (Gemini
// matches results to calls by name), followed by any images the tool returned: a function response
// holds text only.
func (t *translator) toolResult(b *block, param string) ([]gemini.Part, error) {
	name, ok := t.conv.CallName(b.ToolUseID)
	if !ok {
		return nil, invalid("%s.tool_use_id: %q does not match a tool_use block of an earlier assistant message", param, b.ToolUseID)
	}
	list, err := blocks(b.Content, param+".content")
	if err != nil {
		return nil, err
	}
	var text []string
	var media []gemini.Part
	for i := range list {
		item := &list[i]
		if item.Type == "text" {
			text = append(text, item.Text)
			continue
		}
		part, ok, err := t.contentPart(item, fmt.Sprintf("%s.content.%d", param, i))
		if err != nil {
			return nil, err
		}
		if ok {
			media = append(media, part)
		}
	}
	response := translate.FunctionResponse(strings.Join(text, "\n"))
	if b.IsError {
		response = translate.ErrorResponse(strings.Join(text, "\n"))
	}
	parts := []gemini.Part{{FunctionResponse: &gemini.FunctionResponse{Name: name, Response: response}}}
	return append(parts, media...), nil
}

// assistantParts reads the model's earlier turn. Thoughts are not sent back (Gemini does not take
// them as input), but a thinking block's signature is: it belongs to the turn's first function call,
// where Gemini put it.
func (t *translator) assistantParts(list []block, param string) ([]gemini.Part, error) {
	var parts []gemini.Part
	signature := ""
	for i := range list {
		b := &list[i]
		p := fmt.Sprintf("%s.%d", param, i)
		switch b.Type {
		case "thinking":
			if signature == "" {
				signature = b.Signature
			}
		case "redacted_thinking":
		case "tool_use":
			part, err := t.toolUse(b, p)
			if err != nil {
				return nil, err
			}
			part.ThoughtSignature, signature = signature, ""
			parts = append(parts, part)
		default:
			part, ok, err := t.contentPart(b, p)
			if err != nil {
				return nil, err
			}
			if ok {
				parts = append(parts, part)
			}
		}
	}
	return parts, nil
}

func (t *translator) toolUse(b *block, param string) (gemini.Part, error) {
	if b.Name == "" {
		return gemini.Part{}, invalid("%s.name: Field required", param)
	}
	args, err := translate.CallArguments(b.Input)
	if err != nil {
		return gemini.Part{}, invalid("%s.input: must be a JSON object", param)
	}
	t.conv.NoteCall(b.ID, b.Name)
	return gemini.Part{FunctionCall: &gemini.FunctionCall{Name: b.Name, Args: args}}, nil
}

// tools reads the client's tools. Custom tools become function declarations; Anthropic's web search
// server tool becomes Google Search. Other server and Anthropic-defined tools (bash, text editor,
// computer use...) have schemas only Anthropic knows, so they are refused rather than dropped.
func (t *translator) tools() ([]gemini.FunctionDeclaration, bool, error) {
	var decls []gemini.FunctionDeclaration
	search := false
	seen := map[string]bool{}
	for i := range t.req.Tools {
		tl := &t.req.Tools[i]
		param := fmt.Sprintf("tools.%d", i)
		switch {
		case strings.HasPrefix(tl.Type, "web_search"):
			search = true
			continue
		case tl.Type != "" && tl.Type != "custom":
			return nil, false, invalid("%s.type: tool type %q is not supported with Gemini models; declare it as a custom tool with an input_schema", param, tl.Type)
		case tl.Name == "":
			return nil, false, invalid("%s.name: Field required", param)
		case seen[tl.Name]:
			continue
		}
		seen[tl.Name] = true
		decl, err := translate.Declaration(tl.Name, tl.Description, tl.InputSchema)
		if err != nil {
			return nil, false, invalid("%s.input_schema: %v", param, err)
		}
		decls = append(decls, decl)
	}
	return decls, search, nil
}

// toolChoice maps tool_choice: auto → AUTO, any → ANY, tool → ANY restricted to it, none → NONE.
func (t *translator) toolChoice(decls []gemini.FunctionDeclaration) (*gemini.ToolConfig, error) {
	tc := t.req.ToolChoice
	if tc == nil {
		return nil, nil
	}
	switch tc.Type {
	case "auto":
		return translate.ToolConfig("AUTO"), nil
	case "any":
		return translate.ToolConfig("ANY"), nil
	case "none":
		return translate.ToolConfig("NONE"), nil
	case "tool":
		for _, d := range decls {
			if d.Name == tc.Name {
				return translate.ToolConfig("ANY", tc.Name), nil
			}
		}
		return nil, invalid("tool_choice.name: %q is not among the tools", tc.Name)
	}
	return nil, invalid("tool_choice.type: expected auto, any, tool or none, got %q", tc.Type)
}

// generationConfig maps sampling options; only what the client set is sent.
func (t *translator) generationConfig() (*gemini.GenerationConfig, bool, error) {
	req := t.req
	st := &configStore{}
	gc := &st.generation
	*gc = gemini.GenerationConfig{Temperature: req.Temperature, TopP: req.TopP, TopK: req.TopK, MaxOutputTokens: req.MaxTokens}
	for _, s := range req.StopSequences {
		if s != "" {
			gc.StopSequences = append(gc.StopSequences, s)
		}
	}
	if t.conv.Model.Image {
		gc.ResponseModalities = []string{"TEXT", "IMAGE"}
	}
	cfg, on, err := t.thinking(st)
	if err != nil {
		return nil, false, err
	}
	gc.ThinkingConfig = cfg
	if reflect.ValueOf(*gc).IsZero() {
		return nil, on, nil
	}
	return gc, on, nil
}

// thinking maps the thinking option. A -non-thinking model name wins, as it does for the other APIs;
// without the option the operator's THINKING_BUDGET_MAP applies and thoughts are not shown, as Claude
// shows none unless asked.
// configStore holds a request's generation and thinking configs in one allocation instead of two.
type configStore struct {
	generation gemini.GenerationConfig
	thinking   gemini.ThinkingConfig
	budget     int
}

// thinking fills cfg, which it returns unless it stays empty.
func (t *translator) thinking(st *configStore) (*gemini.ThinkingConfig, bool, error) {
	cfg := &st.thinking
	model := t.conv.Model
	if model.Image || !translate.ThinkingCapable(t.snap, model.Real) {
		return nil, false, nil
	}
	th := t.req.Thinking
	on := false
	switch {
	case model.NonThinking || th == nil:
		if b, ok := models.ThinkingBudget(t.snap, model); ok {
			st.budget = b
			cfg.ThinkingBudget = &st.budget
		}
	case th.Type == "enabled":
		translate.BudgetConfig(cfg, model.Real, th.BudgetTokens)
		on = true
	case th.Type == "adaptive":
		on = true
	case th.Type == "disabled":
		translate.OffConfig(cfg, model.Real)
	default:
		return nil, false, invalid("thinking.type: expected enabled, adaptive or disabled, got %q", th.Type)
	}
	cfg.IncludeThoughts = on
	if *cfg == (gemini.ThinkingConfig{}) {
		return nil, false, nil
	}
	return cfg, on, nil
}
