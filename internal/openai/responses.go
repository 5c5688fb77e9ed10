package openai

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/translate"
	"github.com/gemgate/gemgate/internal/upstream"
)

// responses serves POST /v1/responses (the API Codex and newer OpenAI SDK code speak): the request is
// mapped onto a chat request and translated to Gemini like one, and Gemini's answer is assembled into
// output items.
func (h *Handler) responses(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings()
	body, err := readChatBody(w, r, snap)
	if err != nil {
		writeChatError(w, err)
		return
	}
	small, blobs := translate.Detach(body)
	chat, req, err := parseResponsesRequest(small)
	if err != nil {
		writeChatError(w, err)
		return
	}
	model, err := resolveChatModel(snap, chat.Model)
	if err != nil {
		writeChatError(w, err)
		return
	}
	tr, err := translateRequest(snap, model, chat)
	if err == nil {
		err = fetchFailure(fetcher.FetchAll(r.Context(), tr.media))
	}
	if err != nil {
		writeChatError(w, err)
		return
	}
	payload, err := json.Marshal(tr.body)
	if err != nil {
		writeChatError(w, err)
		return
	}
	payload = blobs.Splice(payload)
	call := upstream.Call{Path: translate.GenerateContentPath(model.Real), Body: payload, Stream: req.Stream, Model: model.Requested}
	ra := newResponseAnswer(req, model.Search && config.ShowSearchLink.Get(snap), config.ShowThinkingProcess.Get(snap))
	if !req.Stream {
		h.completeResponse(w, r, call, ra)
		return
	}
	translate.Stream(r.Context(), h.Exec, call, translate.StreamSettingsOf(snap), &responseSink{ra: ra, out: translate.NewSSEWriter(w), w: w})
}

// completeResponse serves a non-streamed request.
func (h *Handler) completeResponse(w http.ResponseWriter, r *http.Request, call upstream.Call, ra *responseAnswer) {
	resp, err := translate.Complete(r.Context(), h.Exec, call)
	if err != nil {
		writeCallFailure(w, err)
		return
	}
	ra.blocks.Whole(resp)
	writeChatJSON(w, ra.object(ra.finalStatus()))
}

// responseAnswer is one request's Response object as it is assembled.
type responseAnswer struct {
	req      *responsesRequest
	id       string
	created  int64
	blocks   translate.Blocks
	itemIDs  []string // by block index, made when the block starts
	firstIDs [2]string
	// namespaced maps the Gemini names of namespaced tools back to namespace and name.
	namespaced map[string][2]string
}

func newResponseAnswer(req *responsesRequest, searchLinks, showThinking bool) *responseAnswer {
	return &responseAnswer{
		req: req, id: translate.RandomID("resp_", 32), created: time.Now().Unix(),
		namespaced: namespacedNames(req.Tools),
		blocks: translate.Blocks{
			ShowThoughts:    showThinking || (req.Reasoning != nil && req.Reasoning.Summary != ""),
			CarrySignatures: slices.Contains(req.Include, "reasoning.encrypted_content"),
			SearchLinks:     searchLinks, NewCallID: newToolCallID,
		},
	}
}

// Output shapes of the Responses API.
type (
	responseObject struct {
		ID                 string             `json:"id"`
		Object             string             `json:"object"`
		CreatedAt          int64              `json:"created_at"`
		Status             string             `json:"status"`
		Error              *responseError     `json:"error"`
		IncompleteDetails  *incompleteDetails `json:"incomplete_details"`
		Instructions       *string            `json:"instructions"`
		MaxOutputTokens    *int               `json:"max_output_tokens"`
		Model              string             `json:"model"`
		Output             []outputItem       `json:"output"`
		ParallelToolCalls  bool               `json:"parallel_tool_calls"`
		PreviousResponseID *string            `json:"previous_response_id"`
		Reasoning          *reasoningOption   `json:"reasoning"`
		Store              bool               `json:"store"`
		Temperature        *float64           `json:"temperature"`
		TopP               *float64           `json:"top_p"`
		ToolChoice         json.RawMessage    `json:"tool_choice"`
		Tools              []responsesTool    `json:"tools"`
		Truncation         string             `json:"truncation"`
		Usage              *responseUsage     `json:"usage"`
	}
	responseError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	incompleteDetails struct {
		Reason string `json:"reason"`
	}
	// outputItem is any output item. Content and Summary are pointers so that a message or reasoning
	// item carries [] while still empty (clients index into them at every event) and other items none.
	outputItem struct {
		Type             string         `json:"type"`
		ID               string         `json:"id"`
		Status           string         `json:"status,omitempty"`
		Role             string         `json:"role,omitempty"`
		Content          *[]outputPart  `json:"content,omitempty"`
		CallID           string         `json:"call_id,omitempty"`
		Name             string         `json:"name,omitempty"`
		Namespace        string         `json:"namespace,omitempty"`
		Arguments        *string        `json:"arguments,omitempty"`
		Summary          *[]summaryPart `json:"summary,omitempty"`
		EncryptedContent string         `json:"encrypted_content,omitempty"`
	}
	outputPart struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		Annotations []any  `json:"annotations"`
		Logprobs    []any  `json:"logprobs"`
	}
	summaryPart struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	responseUsage struct {
		InputTokens        int `json:"input_tokens"`
		InputTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"input_tokens_details"`
		OutputTokens        int `json:"output_tokens"`
		OutputTokensDetails struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
		TotalTokens int `json:"total_tokens"`
	}
)

// itemIDLength is the random part of an output item's id; ownItem recognises ids of this shape.
const itemIDLength = 24

// itemID is the id of the output item a block became, made when the block starts.
func (ra *responseAnswer) itemID(index int, b *translate.Block) string {
	if index < len(ra.itemIDs) && ra.itemIDs[index] != "" {
		return ra.itemIDs[index]
	}
	prefix := "msg_"
	switch b.Kind {
	case translate.ThinkingBlock:
		prefix = "rs_"
	case translate.CallBlock:
		prefix = "fc_"
	}
	id := translate.RandomID(prefix, itemIDLength)
	if ra.itemIDs == nil {
		ra.itemIDs = ra.firstIDs[:0]
	}
	if index >= len(ra.itemIDs) {
		ra.itemIDs = append(ra.itemIDs, make([]string, index+1-len(ra.itemIDs))...)
	}
	ra.itemIDs[index] = id
	return id
}

// item is a block as an output item: in progress (as output_item.added announces it) or done.
// store, when not nil, holds the item's summary or content.
func (ra *responseAnswer) item(index int, b *translate.Block, done bool, store *itemStore) outputItem {
	status := "in_progress"
	if done {
		status = "completed"
	}
	it := outputItem{ID: ra.itemID(index, b)}
	switch b.Kind {
	case translate.ThinkingBlock:
		var s *itemSummary
		if store != nil {
			s = &store.summary
		} else {
			s = new(itemSummary)
		}
		s.list = s.part[:0]
		if done && b.Text != "" {
			s.part[0] = summaryPart{Type: "summary_text", Text: b.Text}
			s.list = s.part[:]
		}
		it.Type, it.Summary = "reasoning", &s.list
		if done {
			it.EncryptedContent = b.Signature
		}
	case translate.CallBlock:
		args := ""
		if done {
			args = b.Args
		}
		it.Type, it.Status, it.CallID, it.Arguments = "function_call", status, b.CallID, &args
		it.Namespace, it.Name = ra.callName(b.Name)
	default:
		var c *itemContent
		if store != nil {
			c = &store.content
		} else {
			c = new(itemContent)
		}
		c.list = c.part[:0]
		if done {
			c.part[0] = textPart(b.Text)
			c.list = c.part[:]
		}
		it.Type, it.Status, it.Role, it.Content = "message", status, "assistant", &c.list
	}
	return it
}

// itemStore is what an item's summary or content is held in.
type itemStore struct {
	summary itemSummary
	content itemContent
}

// itemSummary is a reasoning item's summary of at most one part, in one allocation instead of two.
type itemSummary struct {
	part [1]summaryPart
	list []summaryPart
}

// itemContent is a message item's content of at most one part, in one allocation instead of two.
type itemContent struct {
	part [1]outputPart
	list []outputPart
}

// callName is the namespace and name a function call is reported under: the client's own, for a
// member of a namespace it sent.
func (ra *responseAnswer) callName(gemini string) (namespace, name string) {
	if n, ok := ra.namespaced[gemini]; ok {
		return n[0], n[1]
	}
	return "", gemini
}

func textPart(text string) outputPart {
	return outputPart{Type: "output_text", Text: text, Annotations: []any{}, Logprobs: []any{}}
}

// finalStatus is completed, or incomplete when the answer was cut by the token limit or a filter.
func (ra *responseAnswer) finalStatus() string {
	switch ra.blocks.End() {
	case translate.EndMaxTokens, translate.EndFiltered:
		return "incomplete"
	}
	return "completed"
}

// object is the Response object with status and the output so far.
func (ra *responseAnswer) object(status string) *responseObject {
	req := ra.req
	st := &objectStore{}
	o := &st.object
	*o = responseObject{
		ID: ra.id, Object: "response", CreatedAt: ra.created, Status: status, Model: req.Model,
		MaxOutputTokens: req.MaxOutputTokens, ParallelToolCalls: true, Temperature: req.Temperature, TopP: req.TopP,
		ToolChoice: req.ToolChoice, Tools: req.Tools, Truncation: "disabled", Output: []outputItem{},
	}
	if n := len(ra.blocks.List()); status != "in_progress" {
		o.Output = st.output[:0]
		if n > len(st.output) {
			o.Output = make([]outputItem, 0, n)
		}
	}
	if o.Tools == nil {
		o.Tools = []responsesTool{}
	}
	if len(o.ToolChoice) == 0 {
		o.ToolChoice = json.RawMessage(`"auto"`)
	}
	if req.Instructions != "" {
		o.Instructions = &req.Instructions
	}
	o.Reasoning = req.Reasoning
	if status == "in_progress" {
		return o
	}
	for i, b := range ra.blocks.List() {
		var store *itemStore
		if i < len(st.items) {
			store = &st.items[i]
		}
		o.Output = append(o.Output, ra.item(i, b, true, store))
	}
	switch ra.blocks.End() {
	case translate.EndMaxTokens:
		o.IncompleteDetails = &incompleteDetails{Reason: "max_output_tokens"}
	case translate.EndFiltered:
		o.IncompleteDetails = &incompleteDetails{Reason: "content_filter"}
	}
	st.usage = responsesUsage(translate.Count(ra.blocks.Usage))
	o.Usage = &st.usage
	return o
}

// objectStore holds a Response object and its usage in one allocation.
type objectStore struct {
	object responseObject
	usage  responseUsage
	output [2]outputItem
	items  [2]itemStore
}

func responsesUsage(t translate.Tokens) responseUsage {
	u := responseUsage{InputTokens: t.Input, OutputTokens: t.Output, TotalTokens: t.Total}
	u.InputTokensDetails.CachedTokens = t.Cached
	u.OutputTokensDetails.ReasoningTokens = t.Thoughts
	return u
}

// responseSink writes the Responses event stream: response.created and response.in_progress, then per
// output item its added / delta / done events, and response.completed (or response.incomplete) with the
// whole Response. Every event carries its sequence number.
type responseSink struct {
	ra      *responseAnswer
	out     *translate.SSEWriter
	w       http.ResponseWriter
	seq     int
	summary map[int]bool // reasoning items whose summary part was announced
}

// send writes one event: "event: <type>" then its data, the type repeated inside as clients expect.
func (s *responseSink) send(typ string, fields map[string]any) bool {
	fields["type"] = typ
	fields["sequence_number"] = s.seq
	s.seq++
	return s.out.Event(typ, fields)
}

func (s *responseSink) begin() bool {
	if s.out.Started() {
		return true
	}
	return s.send("response.created", map[string]any{"response": s.ra.object("in_progress")}) &&
		s.send("response.in_progress", map[string]any{"response": s.ra.object("in_progress")})
}

// Open sends nothing: a stream that brings no answer is still answered with an HTTP error.
func (s *responseSink) Open() bool { return true }

func (s *responseSink) Answer(it translate.Item) bool {
	return s.begin() && translate.SendAll(s.ra.blocks.Response(it.Resp), s.event)
}

func (s *responseSink) Beat() bool { return s.begin() && s.out.Comment("keep-alive") }

func (s *responseSink) event(ev translate.BlockEvent) bool {
	b, i := ev.Block, ev.Index
	id := s.ra.itemID(i, b)
	switch ev.Kind {
	case translate.BlockStart:
		return s.started(i, b)
	case translate.BlockDelta:
		if b.Kind == translate.ThinkingBlock {
			return s.summaryPart(i, id) && s.send("response.reasoning_summary_text.delta",
				map[string]any{"item_id": id, "output_index": i, "summary_index": 0, "delta": ev.Delta})
		}
		return s.send("response.output_text.delta",
			map[string]any{"item_id": id, "output_index": i, "content_index": 0, "delta": ev.Delta, "logprobs": []any{}})
	case translate.BlockSignature:
		return true
	}
	return s.done(i, b)
}

func (s *responseSink) started(i int, b *translate.Block) bool {
	id := s.ra.itemID(i, b)
	if !s.send("response.output_item.added", map[string]any{"output_index": i, "item": s.ra.item(i, b, false, nil)}) {
		return false
	}
	switch b.Kind {
	case translate.TextBlock:
		return s.send("response.content_part.added",
			map[string]any{"item_id": id, "output_index": i, "content_index": 0, "part": textPart("")})
	case translate.CallBlock:
		return s.send("response.function_call_arguments.delta", map[string]any{"item_id": id, "output_index": i, "delta": b.Args})
	}
	return true
}

// summaryPart announces a reasoning item's summary when its first text arrives; an item that only
// carries a signature has none.
func (s *responseSink) summaryPart(i int, id string) bool {
	if s.summary == nil {
		s.summary = map[int]bool{}
	}
	if s.summary[i] {
		return true
	}
	s.summary[i] = true
	return s.send("response.reasoning_summary_part.added",
		map[string]any{"item_id": id, "output_index": i, "summary_index": 0, "part": summaryPart{Type: "summary_text", Text: ""}})
}

func (s *responseSink) done(i int, b *translate.Block) bool {
	id := s.ra.itemID(i, b)
	var ok bool
	switch b.Kind {
	case translate.TextBlock:
		ok = s.send("response.output_text.done", map[string]any{"item_id": id, "output_index": i, "content_index": 0, "text": b.Text, "logprobs": []any{}}) &&
			s.send("response.content_part.done", map[string]any{"item_id": id, "output_index": i, "content_index": 0, "part": textPart(b.Text)})
	case translate.CallBlock:
		_, name := s.ra.callName(b.Name)
		ok = s.send("response.function_call_arguments.done", map[string]any{"item_id": id, "output_index": i, "name": name, "arguments": b.Args})
	default:
		part := summaryPart{Type: "summary_text", Text: b.Text}
		ok = !s.summary[i] || s.send("response.reasoning_summary_text.done", map[string]any{"item_id": id, "output_index": i, "summary_index": 0, "text": b.Text}) &&
			s.send("response.reasoning_summary_part.done", map[string]any{"item_id": id, "output_index": i, "summary_index": 0, "part": part})
	}
	return ok && s.send("response.output_item.done", map[string]any{"output_index": i, "item": s.ra.item(i, b, true, nil)})
}

func (s *responseSink) End() {
	if !s.begin() || !translate.SendAll(s.ra.blocks.Close(), s.event) {
		return
	}
	status := s.ra.finalStatus()
	s.send("response."+status, map[string]any{"response": s.ra.object(status)})
}

// Fail ends a broken answer: with its HTTP status while nothing is sent, else with response.failed
// carrying the error inside the Response (a top-level "error" would make SDKs drop the event).
func (s *responseSink) Fail(err error) {
	f := translate.Describe(err)
	if !s.out.Started() {
		writeCallFailure(s.w, err)
		return
	}
	o := s.ra.object("failed")
	o.Usage = nil
	code := f.Code
	if code == "" {
		code = "server_error"
	}
	o.Error = &responseError{Code: code, Message: f.Message}
	s.send("response.failed", map[string]any{"response": o})
}
