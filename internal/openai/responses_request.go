package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/translate"
)

// responsesRequest is the part of OpenAI's Responses request that has a Gemini meaning. It is mapped
// onto a chat request, so both APIs share one translation to Gemini. Unknown fields (user, metadata,
// truncation, service_tier, prompt_cache_key...) are ignored.
type responsesRequest struct {
	Model              string           `json:"model"`
	Input              json.RawMessage  `json:"input"`
	Instructions       string           `json:"instructions"`
	Stream             bool             `json:"stream"`
	Tools              []responsesTool  `json:"tools"`
	ToolChoice         json.RawMessage  `json:"tool_choice"`
	Text               *responsesText   `json:"text"`
	Reasoning          *reasoningOption `json:"reasoning"`
	MaxOutputTokens    *int             `json:"max_output_tokens"`
	Temperature        *float64         `json:"temperature"`
	TopP               *float64         `json:"top_p"`
	Store              *bool            `json:"store"`
	PreviousResponseID string           `json:"previous_response_id"`
	Conversation       json.RawMessage  `json:"conversation"`
	Include            []string         `json:"include"`
}

type responsesTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
	// Tools are a namespace's members (Codex groups its sub-agent tools so).
	Tools []responsesTool `json:"tools,omitempty"`
}

// namespaceSep joins a namespace and a member's name into the one function name Gemini sees; Gemini
// has no tool containers, and function names may not contain "/".
const namespaceSep = "__"

// qualifiedName is the function name Gemini knows a namespaced tool by.
func qualifiedName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + namespaceSep + name
}

// namespacedNames maps the qualified names of the request's namespaced tools back to their namespace
// and own name, for the function calls Gemini answers with.
func namespacedNames(tools []responsesTool) map[string][2]string {
	var out map[string][2]string
	for _, t := range tools {
		if t.Type != "namespace" {
			continue
		}
		for _, m := range t.Tools {
			if out == nil {
				out = map[string][2]string{}
			}
			out[qualifiedName(t.Name, m.Name)] = [2]string{t.Name, m.Name}
		}
	}
	return out
}

type responsesText struct {
	Format *struct {
		Type   string          `json:"type"`
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema"`
		Strict *bool           `json:"strict"`
	} `json:"format"`
}

type reasoningOption struct {
	Effort  string `json:"effort"`
	Summary string `json:"summary"`
}

// inputItem is any item of input; Type (or Role, for the short message form) says which fields count.
type inputItem struct {
	Type             string          `json:"type"`
	ID               string          `json:"id"`
	Role             string          `json:"role"`
	Content          json.RawMessage `json:"content"`
	CallID           string          `json:"call_id"`
	Name             string          `json:"name"`
	Namespace        string          `json:"namespace"`
	Arguments        json.RawMessage `json:"arguments"`
	Output           json.RawMessage `json:"output"`
	EncryptedContent string          `json:"encrypted_content"`
}

// inputPart is a content part of an input message or of a function's output.
type inputPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	ImageURL json.RawMessage `json:"image_url"`
	FileID   string          `json:"file_id"`
	FileData string          `json:"file_data"`
	FileURL  string          `json:"file_url"`
	Filename string          `json:"filename"`
}

// statelessMessage is the answer to a request that relies on responses stored by the server.
const statelessMessage = "gemgate does not store responses; send the full input"

// decodeResponsesRequest reads the request, the usual shape in place (scanResponsesRequest).
func decodeResponsesRequest(body []byte) (*parsedResponses, error) {
	p := &parsedResponses{}
	if scanResponsesRequest(body, &p.req, &p.scalars) {
		return p, nil
	}
	p.req = responsesRequest{}
	if err := json.Unmarshal(body, &p.req); err != nil {
		return nil, jsonError(err)
	}
	return p, nil
}

// parsedResponses is a request, the chat request it maps onto and the answer to it, in one allocation.
type parsedResponses struct {
	req     responsesRequest
	chat    chatRequest
	scalars translate.Scalars
	answer  responseAnswer
}

// parseResponsesRequest decodes a Responses request and maps it onto a chat request; the request itself
// is returned too, for what shapes the answer (include, reasoning, echoed parameters).
func parseResponsesRequest(body []byte) (*chatRequest, *responsesRequest, error) {
	p, err := parseResponses(body)
	if err != nil {
		return nil, nil, err
	}
	return &p.chat, &p.req, nil
}

func parseResponses(body []byte) (*parsedResponses, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalidParam("", "The request body is empty; expected a JSON object with model and input.")
	}
	p, err := decodeResponsesRequest(body)
	if err != nil {
		return nil, err
	}
	req := &p.req
	switch {
	case strings.TrimSpace(req.Model) == "":
		return nil, invalidParam("model", "Missing required parameter: 'model'.")
	case req.PreviousResponseID != "":
		return nil, invalidParam("previous_response_id", statelessMessage+" (previous_response_id is not supported).")
	case rawKind(req.Conversation) != contentNone:
		return nil, invalidParam("conversation", statelessMessage+" (conversation is not supported).")
	case req.Store != nil && *req.Store:
		return nil, invalidParam("store", statelessMessage+" (set store to false or leave it out).")
	}
	chat := &p.chat
	*chat = chatRequest{Model: req.Model, Stream: req.Stream, Temperature: req.Temperature, TopP: req.TopP,
		MaxCompletionTokens: req.MaxOutputTokens}
	if req.Reasoning != nil {
		chat.ReasoningEffort = req.Reasoning.Effort
	}
	if chat.Messages, err = inputMessages(req); err != nil {
		return nil, err
	}
	if chat.Tools, err = chatTools(req.Tools); err != nil {
		return nil, err
	}
	if chat.ToolChoice, err = chatToolChoice(req.ToolChoice); err != nil {
		return nil, err
	}
	if chat.ResponseFormat, err = chatFormat(req.Text); err != nil {
		return nil, err
	}
	return p, nil
}

// inputMessages maps instructions and input onto chat messages: function calls become an assistant
// message's tool calls and their outputs tool messages; a reasoning item's encrypted_content is the
// thought signature gemgate gave it, and goes back on the function call that follows it.
func inputMessages(req *responsesRequest) ([]chatMessage, error) {
	var system *chatMessage
	if req.Instructions != "" {
		system = &chatMessage{Role: "system", Content: jsonString(req.Instructions)}
	}
	switch rawKind(req.Input) {
	case contentNone:
		return nil, invalidParam("input", "Missing required parameter: 'input'.")
	case contentString:
		return append(startMessages(system, 1), chatMessage{Role: "user", Content: req.Input}), nil
	case contentOther:
		return nil, invalidParam("input", "Invalid type for 'input': expected a string or an array of input items.")
	}
	if msgs, ok := shortMessages(req.Input, system); ok {
		return msgs, nil
	}
	// The decoder fills the capacity it is given before it grows a slice: counting first saves it
	// growing the list of items a few times.
	n := 0
	for range gemini.EachElement(req.Input) {
		n++
	}
	items := make([]inputItem, 0, n)
	if err := json.Unmarshal(req.Input, &items); err != nil {
		return nil, invalidParam("input", "Invalid 'input': %v.", jsonError(err).msg)
	}
	out := startMessages(system, len(items))
	signature := ""
	var err error
	for i := range items {
		if out, err = itemMessages(out, &items[i], i, &signature); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var inputParams = newParamTable("input")

// inputItemFields are inputItem's JSON names, in the order of its fields.
var inputItemFields = []string{"type", "id", "role", "content", "call_id", "name", "namespace", "arguments", "output", "encrypted_content"}

// shortMessages reads input when it is only messages whose content is a string or nothing, in the
// short form ({"role": ..., "content": ...}, "type": "message" allowed): what most requests send, read
// in place instead of decoded into []inputItem. ok is false for anything else, which inputMessages
// decodes (FuzzShortMessages checks that both read the same). The messages follow system, if set.
func shortMessages(input []byte, system *chatMessage) ([]chatMessage, bool) {
	if len(input) == 0 || input[0] != '[' {
		return nil, false
	}
	// A first pass only looks, so that an input this does not read costs no allocation.
	n := 0
	for item := range gemini.EachElement(input) {
		if _, _, ok := shortMessage(item, false); !ok {
			return nil, false
		}
		n++
	}
	out := startMessages(system, n)
	for item := range gemini.EachElement(input) {
		role, content, _ := shortMessage(item, true)
		out = append(out, chatMessage{Role: role, Content: content})
	}
	return out, true
}

// startMessages is the list of messages with room for n more after system (if set), in one allocation.
func startMessages(system *chatMessage, n int) []chatMessage {
	if system == nil {
		return slices.Grow([]chatMessage(nil), n)
	}
	return append(make([]chatMessage, 0, n+1), *system)
}

// shortMessage reads one item of shortMessages; without decode, it only tells whether it can.
func shortMessage(item []byte, decode bool) (role string, content json.RawMessage, ok bool) {
	if item[0] != '{' {
		return "", nil, false
	}
	hasRole := false
	var buf [4]gemini.Member
	var seen uint
	typ := ""
	for _, m := range gemini.Members(item, buf[:0]) {
		i, ok := translate.FieldIndex(m, inputItemFields)
		if !ok || i >= 0 && seen&(1<<i) != 0 {
			return "", nil, false
		}
		if i < 0 {
			continue
		}
		seen |= 1 << i
		v := m.Value()
		switch inputItemFields[i] {
		case "type":
			typ, ok = messageType(v)
		case "id":
			ok = v[0] == '"'
		case "role":
			ok, hasRole = v[0] == '"', len(v) > 2
			if ok && decode {
				role, ok = translate.ScanRole(v)
			}
		case "content":
			content = json.RawMessage(v)
			ok = rawKind(v) == contentString || rawKind(v) == contentNone
		default:
			ok = false
		}
		if !ok {
			return "", nil, false
		}
	}
	if typ != "message" && (typ != "" || !hasRole) {
		return "", nil, false
	}
	return role, content, true
}

// messageType reads a type member: "message" as a constant, any other string decoded.
func messageType(v []byte) (string, bool) {
	if string(v) == `"message"` {
		return "message", true
	}
	return translate.ScanString(v)
}

// itemMessages appends the chat messages input item i maps onto.
func itemMessages(out []chatMessage, it *inputItem, i int, signature *string) ([]chatMessage, error) {
	typ := it.Type
	if typ == "" && it.Role != "" {
		typ = "message"
	}
	switch typ {
	case "message":
		content, err := messageContent(it.Content, i)
		if err != nil {
			return nil, err
		}
		return append(out, chatMessage{Role: it.Role, Content: content}), nil
	case "function_call":
		if it.CallID == "" || it.Name == "" {
			param := inputParams.at(i)
			return nil, invalidParam(param, "'%s' needs call_id and name.", param)
		}
		tc := toolCallIn{ID: it.CallID, Type: "function", Function: functionCallIn{Name: qualifiedName(it.Namespace, it.Name), Arguments: it.Arguments}}
		if *signature != "" {
			tc.ExtraContent = &extraContent{Google: &googleExtra{ThoughtSignature: *signature}}
			*signature = ""
		}
		return append(out, chatMessage{Role: "assistant", ToolCalls: []toolCallIn{tc}}), nil
	case "function_call_output":
		return outputMessages(out, it, inputParams.at(i))
	case "reasoning":
		*signature = it.EncryptedContent
		return out, nil
	case "item_reference":
		if ownItem(it.ID) {
			// A client that assumes store:true (the Vercel AI SDK's default) refers back to the reasoning and
			// message items gemgate produced instead of resending them. gemgate kept nothing, so the reference
			// is dropped: the conversation stays valid, only that item's text or thought signature is missing.
			return out, nil
		}
		return nil, invalidParam(inputParams.at(i)+".type", statelessMessage+" (item_reference is only accepted for reasoning and message items gemgate produced).")
	}
	param := inputParams.at(i)
	return nil, invalidParam(param+".type", "Unsupported input item type %q in '%s': gemgate takes messages, function_call, function_call_output and reasoning items.", it.Type, param)
}

// ownItem reports whether id has the shape of a reasoning or message item id gemgate made
// (responseAnswer.itemID).
func ownItem(id string) bool {
	rest, ok := strings.CutPrefix(id, "rs_")
	if !ok {
		rest, ok = strings.CutPrefix(id, "msg_")
	}
	if !ok || len(rest) != itemIDLength {
		return false
	}
	for _, c := range rest {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// messageContent maps the content of input item i, a message, onto chat content parts.
func messageContent(raw json.RawMessage, i int) (json.RawMessage, error) {
	kind := rawKind(raw)
	if kind == contentString || kind == contentNone {
		return raw, nil
	}
	param := inputParams.at(i) + ".content"
	switch kind {
	case contentOther:
		return nil, invalidParam(param, "Invalid type for '%s': expected a string or an array of content parts.", param)
	}
	var parts []inputPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, invalidParam(param, "Invalid content parts in '%s': %v.", param, jsonError(err).msg)
	}
	out := make([]contentPart, 0, len(parts))
	for j := range parts {
		part, err := chatPart(&parts[j], fmt.Sprintf("%s[%d]", param, j))
		if err != nil {
			return nil, err
		}
		out = append(out, part)
	}
	return json.Marshal(out)
}

func chatPart(p *inputPart, param string) (contentPart, error) {
	switch p.Type {
	case "input_text", "output_text", "text", "refusal":
		return contentPart{Type: "input_text", Text: p.Text}, nil
	case "input_image":
		if rawKind(p.ImageURL) == contentNone {
			return contentPart{}, invalidParam(param+".image_url", "'%s' needs image_url (file_id is not supported; send a data: URL).", param)
		}
		return contentPart{Type: "image_url", ImageURL: p.ImageURL}, nil
	case "input_file":
		if p.FileURL != "" {
			return contentPart{Type: "image_url", ImageURL: jsonString(p.FileURL)}, nil
		}
		return contentPart{Type: "file", File: &fileInput{FileData: p.FileData, FileID: p.FileID, Filename: p.Filename}}, nil
	}
	return contentPart{}, invalidParam(param+".type", "Unsupported content part type %q in '%s'.", p.Type, param)
}

// outputMessages maps a function's output: its text is the tool message; images it returned follow as
// a user message (a function response holds text only), which joins the same Gemini turn.
func outputMessages(out []chatMessage, it *inputItem, param string) ([]chatMessage, error) {
	if it.CallID == "" {
		return nil, invalidParam(param+".call_id", "Missing required parameter: '%s.call_id'.", param)
	}
	if rawKind(it.Output) != contentParts {
		return append(out, chatMessage{Role: "tool", ToolCallID: it.CallID, Content: it.Output}), nil
	}
	var parts []inputPart
	if err := json.Unmarshal(it.Output, &parts); err != nil {
		return nil, invalidParam(param+".output", "Invalid '%s.output': %v.", param, jsonError(err).msg)
	}
	var text []string
	var media []contentPart
	for j := range parts {
		if parts[j].Type == "input_text" || parts[j].Type == "output_text" {
			text = append(text, parts[j].Text)
			continue
		}
		part, err := chatPart(&parts[j], fmt.Sprintf("%s.output[%d]", param, j))
		if err != nil {
			return nil, err
		}
		media = append(media, part)
	}
	out = append(out, chatMessage{Role: "tool", ToolCallID: it.CallID, Content: jsonString(strings.Join(text, "\n"))})
	if len(media) > 0 {
		content, _ := json.Marshal(media)
		out = append(out, chatMessage{Role: "user", Content: content})
	}
	return out, nil
}

// chatTools maps function tools. A namespace's function members become functions of their own, under
// their qualified name (mapped back on the way out). Web search becomes Google Search (the chat
// translator's googleSearch switch); other hosted tools have no Gemini counterpart gemgate could run,
// so they are refused.
func chatTools(tools []responsesTool) ([]chatTool, error) {
	out := make([]chatTool, 0, len(tools))
	for i := range tools {
		t := &tools[i]
		switch {
		case t.Type == "function":
			out = append(out, chatTool{Type: "function", Function: &functionDef{Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict}})
		case t.Type == "namespace":
			members, err := namespaceTools(t, i)
			if err != nil {
				return nil, err
			}
			out = append(out, members...)
		case strings.HasPrefix(t.Type, "web_search"):
			out = append(out, chatTool{Type: "function", Function: &functionDef{Name: "googleSearch"}})
		default:
			return nil, invalidParam(fmt.Sprintf("tools[%d].type", i), "Unsupported tool type %q: gemgate serves function tools (and web_search as Google Search) with Gemini models.", t.Type)
		}
	}
	return out, nil
}

func namespaceTools(ns *responsesTool, i int) ([]chatTool, error) {
	if ns.Name == "" {
		return nil, invalidParam(fmt.Sprintf("tools[%d].name", i), "Missing required parameter: 'tools[%d].name'.", i)
	}
	out := make([]chatTool, 0, len(ns.Tools))
	for j := range ns.Tools {
		m := &ns.Tools[j]
		if m.Type != "function" {
			return nil, invalidParam(fmt.Sprintf("tools[%d].tools[%d].type", i, j), "Unsupported tool type %q in namespace %q: gemgate serves function tools with Gemini models.", m.Type, ns.Name)
		}
		desc := m.Description
		if ns.Description != "" {
			desc = strings.TrimSpace(ns.Description + "\n\n" + desc)
		}
		out = append(out, chatTool{Type: "function", Function: &functionDef{Name: qualifiedName(ns.Name, m.Name), Description: desc, Parameters: m.Parameters, Strict: m.Strict}})
	}
	return out, nil
}

// chatToolChoice maps tool_choice: the same strings as chat, or {"type":"function","name":...}.
func chatToolChoice(raw json.RawMessage) (json.RawMessage, error) {
	if rawKind(raw) != contentOther {
		return raw, nil
	}
	var v struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &v) != nil || v.Type != "function" || v.Name == "" {
		return nil, invalidParam("tool_choice", `Invalid 'tool_choice': expected none, auto, required or {"type":"function","name":...}.`)
	}
	return json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": v.Name}})
}

// chatFormat maps text.format onto response_format.
func chatFormat(text *responsesText) (*responseFormat, error) {
	if text == nil || text.Format == nil {
		return nil, nil
	}
	f := text.Format
	if !slices.Contains([]string{"text", "json_object", "json_schema"}, f.Type) {
		return nil, invalidParam("text.format.type", "Invalid value for 'text.format.type': %q (expected text, json_object or json_schema).", f.Type)
	}
	rf := &responseFormat{Type: f.Type}
	if f.Type == "json_schema" {
		rf.JSONSchema = &struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
			Strict *bool           `json:"strict"`
		}{Name: f.Name, Schema: f.Schema, Strict: f.Strict}
	}
	return rf, nil
}

// jsonString is s as a JSON string, for the chat translation to read back.
func jsonString(s string) json.RawMessage {
	return translate.AppendString(make([]byte, 0, len(s)+2), s)
}
