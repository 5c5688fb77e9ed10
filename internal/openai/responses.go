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
	p, err := parseResponses(small)
	if err != nil {
		writeChatError(w, err)
		return
	}
	chat, req := &p.chat, &p.req
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
	ra := p.answer.init(req, model.Search && config.ShowSearchLink.Get(snap), config.ShowThinkingProcess.Get(snap))
	if !req.Stream {
		h.completeResponse(w, r, call, ra)
		return
	}
	translate.Stream(r.Context(), h.Exec, call, translate.StreamSettingsOf(snap), newResponseSink(w, ra))
}

// completeResponse serves a non-streamed request.
func (h *Handler) completeResponse(w http.ResponseWriter, r *http.Request, call upstream.Call, ra *responseAnswer) {
	resp, err := translate.Complete(r.Context(), h.Exec, call)
	if err != nil {
		writeCallFailure(w, err)
		return
	}
	ra.blocks.Whole(resp)
	status := ra.finalStatus()
	translate.WriteAppended(w, func(b []byte) []byte { return ra.appendObject(b, status, nil) })
}

// responseAnswer is one request's Response object as it is assembled. It is written with appends
// (responses_json.go), its ids held as bytes: the structs and maps encoding/json wrote before made the
// Responses route the costliest translated one.
type responseAnswer struct {
	req     *responsesRequest
	created int64
	blocks  translate.Blocks
	// namespaced maps the Gemini names of namespaced tools back to namespace and name.
	namespaced map[string][2]string
	id         [len(responseIDPrefix) + responseIDLength]byte
	// firstIDs are the random parts of the first output items' ids (by block index), read with id's in
	// one call; more holds those of later items, read when they start.
	firstIDs [3][itemIDLength]byte
	more     [][itemIDLength]byte
	// tools is the request's tools as the Response echoes them, encoded at the first object shown.
	tools []byte
}

const (
	responseIDPrefix = "resp_"
	responseIDLength = 32
	// itemIDLength is the random part of an output item's id; ownItem recognises ids of this shape.
	itemIDLength = 24
)

// init prepares ra to answer req.
func (ra *responseAnswer) init(req *responsesRequest, searchLinks, showThinking bool) *responseAnswer {
	*ra = responseAnswer{
		req: req, created: time.Now().Unix(), namespaced: namespacedNames(req.Tools),
		blocks: translate.Blocks{
			ShowThoughts:    showThinking || (req.Reasoning != nil && req.Reasoning.Summary != ""),
			CarrySignatures: slices.Contains(req.Include, "reasoning.encrypted_content"),
			SearchLinks:     searchLinks, NewCallID: newToolCallID,
		},
	}
	var rnd [responseIDLength + len(ra.firstIDs)*itemIDLength]byte
	translate.RandomChars(rnd[:])
	copy(ra.id[copy(ra.id[:], responseIDPrefix):], rnd[:responseIDLength])
	for k := range ra.firstIDs {
		copy(ra.firstIDs[k][:], rnd[responseIDLength+k*itemIDLength:])
	}
	return ra
}

// appendItemID appends the id of the output item block b (at index) became: its kind's prefix and
// random characters fixed when it started.
func (ra *responseAnswer) appendItemID(dst []byte, index int, b *translate.Block) []byte {
	switch b.Kind {
	case translate.ThinkingBlock:
		dst = append(dst, "rs_"...)
	case translate.CallBlock:
		dst = append(dst, "fc_"...)
	default:
		dst = append(dst, "msg_"...)
	}
	if index < len(ra.firstIDs) {
		return append(dst, ra.firstIDs[index][:]...)
	}
	for len(ra.more) <= index-len(ra.firstIDs) {
		var rnd [itemIDLength]byte
		translate.RandomChars(rnd[:])
		ra.more = append(ra.more, rnd)
	}
	return append(dst, ra.more[index-len(ra.firstIDs)][:]...)
}

// callName is the namespace and name a function call is reported under: the client's own, for a
// member of a namespace it sent.
func (ra *responseAnswer) callName(gemini string) (namespace, name string) {
	if n, ok := ra.namespaced[gemini]; ok {
		return n[0], n[1]
	}
	return "", gemini
}

// finalStatus is completed, or incomplete when the answer was cut by the token limit or a filter.
func (ra *responseAnswer) finalStatus() string {
	switch ra.blocks.End() {
	case translate.EndMaxTokens, translate.EndFiltered:
		return "incomplete"
	}
	return "completed"
}

// responseError is the error a failed Response carries.
type responseError struct {
	Code    string
	Message string
}

// responseSink writes the Responses event stream: response.created and response.in_progress, then per
// output item its added / delta / done events, and response.completed (or response.incomplete) with the
// whole Response. Every event carries its sequence number. Each event's members are in the order of
// their names, as they were when events were maps (responses_json.go).
type responseSink struct {
	ra  *responseAnswer
	out *translate.SSEWriter
	w   http.ResponseWriter
	seq int
	buf []byte // the event being written
	// summary marks the reasoning items (by index) whose summary part was announced.
	summary []bool
}

func newResponseSink(w http.ResponseWriter, ra *responseAnswer) *responseSink {
	return &responseSink{ra: ra, out: translate.NewSSEWriter(w), w: w, buf: make([]byte, 0, 1024)}
}

func (s *responseSink) begin() bool {
	if s.out.Started() {
		return true
	}
	return s.sendResponse("response.created", "in_progress", nil) && s.sendResponse("response.in_progress", "in_progress", nil)
}

// Open sends nothing: a stream that brings no answer is still answered with an HTTP error.
func (s *responseSink) Open() bool { return true }

func (s *responseSink) Answer(it translate.Item) bool {
	return s.begin() && translate.SendAll(s.ra.blocks.Response(it.Resp), s.event)
}

func (s *responseSink) Beat() bool { return s.begin() && s.out.Comment("keep-alive") }

func (s *responseSink) event(ev translate.BlockEvent) bool {
	b, i := ev.Block, ev.Index
	switch ev.Kind {
	case translate.BlockStart:
		return s.started(i, b)
	case translate.BlockDelta:
		if b.Kind == translate.ThinkingBlock {
			return s.summaryPart(i, b) && s.sendText("response.reasoning_summary_text.delta", i, b, ev.Delta)
		}
		return s.sendText("response.output_text.delta", i, b, ev.Delta)
	case translate.BlockSignature:
		return true
	}
	return s.done(i, b)
}

func (s *responseSink) started(i int, b *translate.Block) bool {
	if !s.sendItem("response.output_item.added", i, b, false) {
		return false
	}
	switch b.Kind {
	case translate.TextBlock:
		return s.sendPart("response.content_part.added", i, b, "")
	case translate.CallBlock:
		return s.sendText("response.function_call_arguments.delta", i, b, b.Args)
	}
	return true
}

// summaryPart announces a reasoning item's summary when its first text arrives; an item that only
// carries a signature has none.
func (s *responseSink) summaryPart(i int, b *translate.Block) bool {
	if i < len(s.summary) && s.summary[i] {
		return true
	}
	for len(s.summary) <= i {
		s.summary = append(s.summary, false)
	}
	s.summary[i] = true
	return s.sendPart("response.reasoning_summary_part.added", i, b, "")
}

func (s *responseSink) done(i int, b *translate.Block) bool {
	var ok bool
	switch b.Kind {
	case translate.TextBlock:
		ok = s.sendText("response.output_text.done", i, b, b.Text) && s.sendPart("response.content_part.done", i, b, b.Text)
	case translate.CallBlock:
		ok = s.sendText("response.function_call_arguments.done", i, b, b.Args)
	default:
		ok = i >= len(s.summary) || !s.summary[i] ||
			s.sendText("response.reasoning_summary_text.done", i, b, b.Text) &&
				s.sendPart("response.reasoning_summary_part.done", i, b, b.Text)
	}
	return ok && s.sendItem("response.output_item.done", i, b, true)
}

func (s *responseSink) End() {
	if !s.begin() || !translate.SendAll(s.ra.blocks.Close(), s.event) {
		return
	}
	if status := s.ra.finalStatus(); status == "incomplete" {
		s.sendResponse("response.incomplete", status, nil)
	} else {
		s.sendResponse("response.completed", status, nil)
	}
}

// Fail ends a broken answer: with its HTTP status while nothing is sent, else with response.failed
// carrying the error inside the Response (a top-level "error" would make SDKs drop the event).
func (s *responseSink) Fail(err error) {
	f := translate.Describe(err)
	if !s.out.Started() {
		writeCallFailure(s.w, err)
		return
	}
	code := f.Code
	if code == "" {
		code = "server_error"
	}
	s.sendResponse("response.failed", "failed", &responseError{Code: code, Message: f.Message})
}
