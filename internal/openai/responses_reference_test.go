package openai

// The Responses answer as gemgate encoded it before the append encoder (responses_json.go): Response
// objects and items as structs through encoding/json, stream events as maps (so their members sorted
// by name). Kept as the reference FuzzResponsesEncoding compares the wire bytes against.

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/gemgate/gemgate/internal/translate"
)

// refAnswer is one request's Response object as it is assembled.
type refAnswer struct {
	req      *responsesRequest
	id       string
	created  int64
	blocks   translate.Blocks
	itemIDs  []string // by block index, made when the block starts
	firstIDs [2]string
	// namespaced maps the Gemini names of namespaced tools back to namespace and name.
	namespaced map[string][2]string
}

func newRefAnswer(req *responsesRequest, searchLinks, showThinking bool) *refAnswer {
	return &refAnswer{
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
	refObject struct {
		ID                 string           `json:"id"`
		Object             string           `json:"object"`
		CreatedAt          int64            `json:"created_at"`
		Status             string           `json:"status"`
		Error              *refError        `json:"error"`
		IncompleteDetails  *refIncomplete   `json:"incomplete_details"`
		Instructions       *string          `json:"instructions"`
		MaxOutputTokens    *int             `json:"max_output_tokens"`
		Model              string           `json:"model"`
		Output             []refItem        `json:"output"`
		ParallelToolCalls  bool             `json:"parallel_tool_calls"`
		PreviousResponseID *string          `json:"previous_response_id"`
		Reasoning          *reasoningOption `json:"reasoning"`
		Store              bool             `json:"store"`
		Temperature        *float64         `json:"temperature"`
		TopP               *float64         `json:"top_p"`
		ToolChoice         json.RawMessage  `json:"tool_choice"`
		Tools              []responsesTool  `json:"tools"`
		Truncation         string           `json:"truncation"`
		Usage              *refUsage        `json:"usage"`
	}
	refError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	refIncomplete struct {
		Reason string `json:"reason"`
	}
	// refItem is any output item. Content and Summary are pointers so that a message or reasoning
	// item carries [] while still empty (clients index into them at every event) and other items none.
	refItem struct {
		Type             string            `json:"type"`
		ID               string            `json:"id"`
		Status           string            `json:"status,omitempty"`
		Role             string            `json:"role,omitempty"`
		Content          *[]refPart        `json:"content,omitempty"`
		CallID           string            `json:"call_id,omitempty"`
		Name             string            `json:"name,omitempty"`
		Namespace        string            `json:"namespace,omitempty"`
		Arguments        *string           `json:"arguments,omitempty"`
		Summary          *[]refSummaryPart `json:"summary,omitempty"`
		EncryptedContent string            `json:"encrypted_content,omitempty"`
	}
	refPart struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		Annotations []any  `json:"annotations"`
		Logprobs    []any  `json:"logprobs"`
	}
	refSummaryPart struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	refUsage struct {
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

// refItemIDLength is the random part of an output item's id; ownItem recognises ids of this shape.
const refItemIDLength = 24

// itemID is the id of the output item a block became, made when the block starts.
func (ra *refAnswer) itemID(index int, b *translate.Block) string {
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
	id := translate.RandomID(prefix, refItemIDLength)
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
func (ra *refAnswer) item(index int, b *translate.Block, done bool, store *refItemStore) refItem {
	status := "in_progress"
	if done {
		status = "completed"
	}
	it := refItem{ID: ra.itemID(index, b)}
	switch b.Kind {
	case translate.ThinkingBlock:
		var s *refItemSummary
		if store != nil {
			s = &store.summary
		} else {
			s = new(refItemSummary)
		}
		s.list = s.part[:0]
		if done && b.Text != "" {
			s.part[0] = refSummaryPart{Type: "summary_text", Text: b.Text}
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
		var c *refItemContent
		if store != nil {
			c = &store.content
		} else {
			c = new(refItemContent)
		}
		c.list = c.part[:0]
		if done {
			c.part[0] = refTextPart(b.Text)
			c.list = c.part[:]
		}
		it.Type, it.Status, it.Role, it.Content = "message", status, "assistant", &c.list
	}
	return it
}

// refItemStore is what an item's summary or content is held in.
type refItemStore struct {
	summary refItemSummary
	content refItemContent
}

// refItemSummary is a reasoning item's summary of at most one part, in one allocation instead of two.
type refItemSummary struct {
	part [1]refSummaryPart
	list []refSummaryPart
}

// refItemContent is a message item's content of at most one part, in one allocation instead of two.
type refItemContent struct {
	part [1]refPart
	list []refPart
}

// callName is the namespace and name a function call is reported under: the client's own, for a
// member of a namespace it sent.
func (ra *refAnswer) callName(gemini string) (namespace, name string) {
	if n, ok := ra.namespaced[gemini]; ok {
		return n[0], n[1]
	}
	return "", gemini
}

func refTextPart(text string) refPart {
	return refPart{Type: "output_text", Text: text, Annotations: []any{}, Logprobs: []any{}}
}

// finalStatus is completed, or incomplete when the answer was cut by the token limit or a filter.
func (ra *refAnswer) finalStatus() string {
	switch ra.blocks.End() {
	case translate.EndMaxTokens, translate.EndFiltered:
		return "incomplete"
	}
	return "completed"
}

// object is the Response object with status and the output so far.
func (ra *refAnswer) object(status string) *refObject {
	req := ra.req
	st := &refObjectStore{}
	o := &st.object
	*o = refObject{
		ID: ra.id, Object: "response", CreatedAt: ra.created, Status: status, Model: req.Model,
		MaxOutputTokens: req.MaxOutputTokens, ParallelToolCalls: true, Temperature: req.Temperature, TopP: req.TopP,
		ToolChoice: req.ToolChoice, Tools: req.Tools, Truncation: "disabled", Output: []refItem{},
	}
	if n := len(ra.blocks.List()); status != "in_progress" {
		o.Output = st.output[:0]
		if n > len(st.output) {
			o.Output = make([]refItem, 0, n)
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
		var store *refItemStore
		if i < len(st.items) {
			store = &st.items[i]
		}
		o.Output = append(o.Output, ra.item(i, b, true, store))
	}
	switch ra.blocks.End() {
	case translate.EndMaxTokens:
		o.IncompleteDetails = &refIncomplete{Reason: "max_output_tokens"}
	case translate.EndFiltered:
		o.IncompleteDetails = &refIncomplete{Reason: "content_filter"}
	}
	st.usage = refUsageOf(translate.Count(ra.blocks.Usage))
	o.Usage = &st.usage
	return o
}

// refObjectStore holds a Response object and its usage in one allocation.
type refObjectStore struct {
	object refObject
	usage  refUsage
	output [2]refItem
	items  [2]refItemStore
}

func refUsageOf(t translate.Tokens) refUsage {
	u := refUsage{InputTokens: t.Input, OutputTokens: t.Output, TotalTokens: t.Total}
	u.InputTokensDetails.CachedTokens = t.Cached
	u.OutputTokensDetails.ReasoningTokens = t.Thoughts
	return u
}

// refSink writes the Responses event stream: response.created and response.in_progress, then per
// output item its added / delta / done events, and response.completed (or response.incomplete) with the
// whole Response. Every event carries its sequence number.
type refSink struct {
	ra      *refAnswer
	out     *translate.SSEWriter
	w       http.ResponseWriter
	seq     int
	summary map[int]bool // reasoning items whose summary part was announced
}

// send writes one event: "event: <type>" then its data, the type repeated inside as clients expect.
func (s *refSink) send(typ string, fields map[string]any) bool {
	fields["type"] = typ
	fields["sequence_number"] = s.seq
	s.seq++
	return s.out.Event(typ, fields)
}

func (s *refSink) begin() bool {
	if s.out.Started() {
		return true
	}
	return s.send("response.created", map[string]any{"response": s.ra.object("in_progress")}) &&
		s.send("response.in_progress", map[string]any{"response": s.ra.object("in_progress")})
}

// Open sends nothing: a stream that brings no answer is still answered with an HTTP error.
func (s *refSink) Open() bool { return true }

func (s *refSink) Answer(it translate.Item) bool {
	return s.begin() && translate.SendAll(s.ra.blocks.Response(it.Resp), s.event)
}

func (s *refSink) Beat() bool { return s.begin() && s.out.Comment("keep-alive") }

func (s *refSink) event(ev translate.BlockEvent) bool {
	b, i := ev.Block, ev.Index
	id := s.ra.itemID(i, b)
	switch ev.Kind {
	case translate.BlockStart:
		return s.started(i, b)
	case translate.BlockDelta:
		if b.Kind == translate.ThinkingBlock {
			return s.refSummaryPart(i, id) && s.send("response.reasoning_summary_text.delta",
				map[string]any{"item_id": id, "output_index": i, "summary_index": 0, "delta": ev.Delta})
		}
		return s.send("response.output_text.delta",
			map[string]any{"item_id": id, "output_index": i, "content_index": 0, "delta": ev.Delta, "logprobs": []any{}})
	case translate.BlockSignature:
		return true
	}
	return s.done(i, b)
}

func (s *refSink) started(i int, b *translate.Block) bool {
	id := s.ra.itemID(i, b)
	if !s.send("response.output_item.added", map[string]any{"output_index": i, "item": s.ra.item(i, b, false, nil)}) {
		return false
	}
	switch b.Kind {
	case translate.TextBlock:
		return s.send("response.content_part.added",
			map[string]any{"item_id": id, "output_index": i, "content_index": 0, "part": refTextPart("")})
	case translate.CallBlock:
		return s.send("response.function_call_arguments.delta", map[string]any{"item_id": id, "output_index": i, "delta": b.Args})
	}
	return true
}

// refSummaryPart announces a reasoning item's summary when its first text arrives; an item that only
// carries a signature has none.
func (s *refSink) refSummaryPart(i int, id string) bool {
	if s.summary == nil {
		s.summary = map[int]bool{}
	}
	if s.summary[i] {
		return true
	}
	s.summary[i] = true
	return s.send("response.reasoning_summary_part.added",
		map[string]any{"item_id": id, "output_index": i, "summary_index": 0, "part": refSummaryPart{Type: "summary_text", Text: ""}})
}

func (s *refSink) done(i int, b *translate.Block) bool {
	id := s.ra.itemID(i, b)
	var ok bool
	switch b.Kind {
	case translate.TextBlock:
		ok = s.send("response.output_text.done", map[string]any{"item_id": id, "output_index": i, "content_index": 0, "text": b.Text, "logprobs": []any{}}) &&
			s.send("response.content_part.done", map[string]any{"item_id": id, "output_index": i, "content_index": 0, "part": refTextPart(b.Text)})
	case translate.CallBlock:
		_, name := s.ra.callName(b.Name)
		ok = s.send("response.function_call_arguments.done", map[string]any{"item_id": id, "output_index": i, "name": name, "arguments": b.Args})
	default:
		part := refSummaryPart{Type: "summary_text", Text: b.Text}
		ok = !s.summary[i] || s.send("response.reasoning_summary_text.done", map[string]any{"item_id": id, "output_index": i, "summary_index": 0, "text": b.Text}) &&
			s.send("response.reasoning_summary_part.done", map[string]any{"item_id": id, "output_index": i, "summary_index": 0, "part": part})
	}
	return ok && s.send("response.output_item.done", map[string]any{"output_index": i, "item": s.ra.item(i, b, true, nil)})
}

func (s *refSink) End() {
	if !s.begin() || !translate.SendAll(s.ra.blocks.Close(), s.event) {
		return
	}
	status := s.ra.finalStatus()
	s.send("response."+status, map[string]any{"response": s.ra.object(status)})
}

// Fail ends a broken answer: with its HTTP status while nothing is sent, else with response.failed
// carrying the error inside the Response (a top-level "error" would make SDKs drop the event).
func (s *refSink) Fail(err error) {
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
	o.Error = &refError{Code: code, Message: f.Message}
	s.send("response.failed", map[string]any{"response": o})
}
