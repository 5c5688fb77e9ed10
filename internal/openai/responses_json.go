package openai

import (
	"strconv"

	"github.com/gemgate/gemgate/internal/translate"
)

// The Responses answer written with appends, byte for byte what encoding/json wrote when it was
// structs (the Response object and its items: members in the order of the fields they were) and maps
// (stream events: members sorted by name). Clients (the openai SDKs, Codex) parse these bytes;
// FuzzResponsesEncoding checks them against the encoders they replace (responses_reference_test.go).

// appendObject appends the Response object with status: in progress without output, usage or
// incomplete_details; otherwise with the output items and, unless failure is set, the usage.
func (ra *responseAnswer) appendObject(b []byte, status string, failure *responseError) []byte {
	req := ra.req
	b = append(b, `{"id":"`...)
	b = append(b, ra.id[:]...)
	b = append(b, `","object":"response","created_at":`...)
	b = strconv.AppendInt(b, ra.created, 10)
	b = append(b, `,"status":`...)
	b = translate.AppendString(b, status)
	b = append(b, `,"error":`...)
	if failure != nil {
		b = append(b, `{"code":`...)
		b = translate.AppendString(b, failure.Code)
		b = append(b, `,"message":`...)
		b = translate.AppendString(b, failure.Message)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	final := status != "in_progress"
	b = append(b, `,"incomplete_details":`...)
	switch end := ra.blocks.End(); {
	case final && end == translate.EndMaxTokens:
		b = append(b, `{"reason":"max_output_tokens"}`...)
	case final && end == translate.EndFiltered:
		b = append(b, `{"reason":"content_filter"}`...)
	default:
		b = append(b, "null"...)
	}
	b = append(b, `,"instructions":`...)
	if req.Instructions != "" {
		b = translate.AppendString(b, req.Instructions)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"max_output_tokens":`...)
	if req.MaxOutputTokens != nil {
		b = strconv.AppendInt(b, int64(*req.MaxOutputTokens), 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"model":`...)
	b = translate.AppendString(b, req.Model)
	b = append(b, `,"output":[`...)
	if final {
		for i, bl := range ra.blocks.List() {
			if i > 0 {
				b = append(b, ',')
			}
			b = ra.appendItem(b, i, bl, true)
		}
	}
	b = append(b, `],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":`...)
	if r := req.Reasoning; r != nil {
		b = append(b, `{"effort":`...)
		b = translate.AppendString(b, r.Effort)
		b = append(b, `,"summary":`...)
		b = translate.AppendString(b, r.Summary)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"store":false,"temperature":`...)
	b = appendFloatOrNull(b, req.Temperature)
	b = append(b, `,"top_p":`...)
	b = appendFloatOrNull(b, req.TopP)
	b = append(b, `,"tool_choice":`...)
	if len(req.ToolChoice) == 0 {
		b = append(b, `"auto"`...)
	} else {
		b = translate.AppendCompact(b, req.ToolChoice)
	}
	b = append(b, `,"tools":`...)
	if ra.tools == nil {
		ra.tools = appendTools(make([]byte, 0, 2), req.Tools)
	}
	b = append(b, ra.tools...)
	b = append(b, `,"truncation":"disabled","usage":`...)
	if final && failure == nil {
		b = appendUsage(b, translate.Count(ra.blocks.Usage))
	} else {
		b = append(b, "null"...)
	}
	return append(b, '}')
}

func appendFloatOrNull(b []byte, f *float64) []byte {
	if f == nil {
		return append(b, "null"...)
	}
	return translate.AppendFloat(b, *f)
}

// appendTools echoes the request's tools as responsesTool encodes them.
func appendTools(b []byte, tools []responsesTool) []byte {
	b = append(b, '[')
	for i := range tools {
		t := &tools[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":`...)
		b = translate.AppendString(b, t.Type)
		b = append(b, `,"name":`...)
		b = translate.AppendString(b, t.Name)
		if t.Description != "" {
			b = append(b, `,"description":`...)
			b = translate.AppendString(b, t.Description)
		}
		if len(t.Parameters) > 0 {
			b = append(b, `,"parameters":`...)
			b = translate.AppendCompact(b, t.Parameters)
		}
		if t.Strict != nil {
			b = append(b, `,"strict":`...)
			b = strconv.AppendBool(b, *t.Strict)
		}
		if len(t.Tools) > 0 {
			b = append(b, `,"tools":`...)
			b = appendTools(b, t.Tools)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendUsage(b []byte, t translate.Tokens) []byte {
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(t.Input), 10)
	b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, int64(t.Cached), 10)
	b = append(b, `},"output_tokens":`...)
	b = strconv.AppendInt(b, int64(t.Output), 10)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, int64(t.Thoughts), 10)
	b = append(b, `},"total_tokens":`...)
	b = strconv.AppendInt(b, int64(t.Total), 10)
	return append(b, '}')
}

// appendItem appends block bl (at index i) as an output item: in progress (as output_item.added
// announces it) or done. A message or reasoning item carries [] while still empty (clients index into
// it at every event).
func (ra *responseAnswer) appendItem(b []byte, i int, bl *translate.Block, done bool) []byte {
	status := `","status":"in_progress"`
	if done {
		status = `","status":"completed"`
	}
	switch bl.Kind {
	case translate.ThinkingBlock:
		b = append(b, `{"type":"reasoning","id":"`...)
		b = ra.appendItemID(b, i, bl)
		b = append(b, `","summary":[`...)
		if done && bl.Text != "" {
			b = appendSummaryPart(b, bl.Text)
		}
		b = append(b, ']')
		if done && bl.Signature != "" {
			b = append(b, `,"encrypted_content":`...)
			b = translate.AppendString(b, bl.Signature)
		}
	case translate.CallBlock:
		b = append(b, `{"type":"function_call","id":"`...)
		b = ra.appendItemID(b, i, bl)
		b = append(b, status...)
		if bl.CallID != "" {
			b = append(b, `,"call_id":`...)
			b = translate.AppendString(b, bl.CallID)
		}
		namespace, name := ra.callName(bl.Name)
		if name != "" {
			b = append(b, `,"name":`...)
			b = translate.AppendString(b, name)
		}
		if namespace != "" {
			b = append(b, `,"namespace":`...)
			b = translate.AppendString(b, namespace)
		}
		b = append(b, `,"arguments":`...)
		if done {
			b = translate.AppendString(b, bl.Args)
		} else {
			b = append(b, `""`...)
		}
	default:
		b = append(b, `{"type":"message","id":"`...)
		b = ra.appendItemID(b, i, bl)
		b = append(b, status...)
		b = append(b, `,"role":"assistant","content":[`...)
		if done {
			b = appendTextPart(b, bl.Text)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendTextPart(b []byte, text string) []byte {
	b = append(b, `{"type":"output_text","text":`...)
	b = translate.AppendString(b, text)
	return append(b, `,"annotations":[],"logprobs":[]}`...)
}

func appendSummaryPart(b []byte, text string) []byte {
	b = append(b, `{"type":"summary_text","text":`...)
	b = translate.AppendString(b, text)
	return append(b, '}')
}

// Stream events. Members are written in the order of their names; each event ends with its sequence
// number and type (and summary_index or text, which sort between them).

// sendResponse sends an event carrying the Response object.
func (s *responseSink) sendResponse(typ, status string, failure *responseError) bool {
	b := append(s.buf[:0], `{"response":`...)
	b = s.ra.appendObject(b, status, failure)
	return s.send(typ, s.appendSeq(b))
}

// sendItem sends output_item.added or output_item.done.
func (s *responseSink) sendItem(typ string, i int, bl *translate.Block, done bool) bool {
	b := append(s.buf[:0], `{"item":`...)
	b = s.ra.appendItem(b, i, bl, done)
	b = appendIndex(b, `,"output_index":`, i)
	return s.send(typ, s.appendSeq(b))
}

// sendPart sends a message's content_part or a reasoning item's reasoning_summary_part event.
func (s *responseSink) sendPart(typ string, i int, bl *translate.Block, text string) bool {
	b := s.buf[:0]
	if bl.Kind == translate.ThinkingBlock {
		b = s.appendItemRef(append(b, '{'), i, bl)
		b = appendSummaryPart(append(b, `,"part":`...), text)
		b = append(s.appendSeq(b), `,"summary_index":0`...)
		return s.send(typ, b)
	}
	b = s.appendItemRef(append(b, `{"content_index":0,`...), i, bl)
	b = appendTextPart(append(b, `,"part":`...), text)
	return s.send(typ, s.appendSeq(b))
}

// sendText sends an event that carries text of the item: a delta, or the whole of it when done.
func (s *responseSink) sendText(typ string, i int, bl *translate.Block, text string) bool {
	b := s.buf[:0]
	switch typ {
	case "response.output_text.delta":
		b = translate.AppendString(append(b, `{"content_index":0,"delta":`...), text)
		b = s.appendItemID(append(b, ','), i, bl)
		b = appendIndex(append(b, `,"logprobs":[]`...), `,"output_index":`, i)
		b = s.appendSeq(b)
	case "response.output_text.done":
		b = s.appendItemID(append(b, `{"content_index":0,`...), i, bl)
		b = appendIndex(append(b, `,"logprobs":[]`...), `,"output_index":`, i)
		b = s.appendSeq(b)
		b = translate.AppendString(append(b, `,"text":`...), text)
	case "response.reasoning_summary_text.delta":
		b = translate.AppendString(append(b, `{"delta":`...), text)
		b = s.appendItemRef(append(b, ','), i, bl)
		b = append(s.appendSeq(b), `,"summary_index":0`...)
	case "response.reasoning_summary_text.done":
		b = s.appendItemRef(append(b, '{'), i, bl)
		b = append(s.appendSeq(b), `,"summary_index":0,"text":`...)
		b = translate.AppendString(b, text)
	case "response.function_call_arguments.delta":
		b = translate.AppendString(append(b, `{"delta":`...), text)
		b = s.appendItemRef(append(b, ','), i, bl)
		b = s.appendSeq(b)
	default: // response.function_call_arguments.done
		b = translate.AppendString(append(b, `{"arguments":`...), text)
		b = s.appendItemID(append(b, ','), i, bl)
		_, name := s.ra.callName(bl.Name)
		b = translate.AppendString(append(b, `,"name":`...), name)
		b = appendIndex(b, `,"output_index":`, i)
		b = s.appendSeq(b)
	}
	return s.send(typ, b)
}

// appendItemID appends the "item_id" member.
func (s *responseSink) appendItemID(b []byte, i int, bl *translate.Block) []byte {
	b = s.ra.appendItemID(append(b, `"item_id":"`...), i, bl)
	return append(b, '"')
}

// appendItemRef appends "item_id" and "output_index", which follow each other in most events.
func (s *responseSink) appendItemRef(b []byte, i int, bl *translate.Block) []byte {
	return appendIndex(s.appendItemID(b, i, bl), `,"output_index":`, i)
}

func appendIndex(b []byte, member string, i int) []byte {
	return strconv.AppendInt(append(b, member...), int64(i), 10)
}

// appendSeq appends the sequence number (after a member) and counts the event.
func (s *responseSink) appendSeq(b []byte) []byte {
	b = appendIndex(b, `,"sequence_number":`, s.seq)
	s.seq++
	return b
}

// send ends the event with its type and writes it.
func (s *responseSink) send(typ string, b []byte) bool {
	b = append(append(append(b, `,"type":"`...), typ...), `"}`...)
	s.buf = b
	return s.out.EventData(typ, b)
}
