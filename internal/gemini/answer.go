package gemini

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gemgate/gemgate/internal/pace"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/upstream"
)

// answerEdits are what the settings change in a native answer: SHOW_SEARCH_LINK appends a -search
// model's sources as a text part, STREAM_OPTIMIZER_* paces streamed text. Both only add to what Google
// sent: every other part and field of an event reaches the client as it was.
type answerEdits struct {
	sources bool
	pace    pace.Pacer
}

func (e answerEdits) any() bool { return e.sources || e.pace.Enabled }

// withSources appends each candidate's search sources as one more text part. An answer without
// grounding, or one that is not what it should be, is returned untouched.
func withSources(body []byte) []byte {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return body
	}
	var cands []map[string]json.RawMessage
	if json.Unmarshal(top["candidates"], &cands) != nil || len(cands) == 0 {
		return body
	}
	changed := false
	for _, c := range cands {
		var gm GroundingMetadata
		if json.Unmarshal(c["groundingMetadata"], &gm) != nil {
			continue
		}
		text := SearchSources(&gm)
		if text == "" {
			continue
		}
		var content map[string]json.RawMessage
		if json.Unmarshal(c["content"], &content) != nil {
			continue
		}
		var parts []json.RawMessage
		if json.Unmarshal(content["parts"], &parts) != nil {
			continue
		}
		part, _ := json.Marshal(map[string]string{"text": text})
		content = setRaw(content, "parts", mustJSON(append(parts, part)))
		if _, ok := content["role"]; !ok {
			content["role"] = json.RawMessage(`"model"`)
		}
		c["content"] = mustJSON(content)
		changed = true
	}
	if !changed {
		return body
	}
	out, err := replaceValues(body, map[string]json.RawMessage{"candidates": mustJSON(cands)})
	if err != nil {
		return body
	}
	return out
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v) // only maps and slices of raw JSON that was just decoded
	return b
}

// textPart is a part that is text and nothing else (a thought or answer text).
type textPart struct {
	Text    string `json:"text"`
	Thought bool   `json:"thought,omitempty"`
}

// plainText decodes parts that are all text parts; false if any part holds anything else.
func plainText(raw json.RawMessage) ([]textPart, bool) {
	var parts []map[string]json.RawMessage
	if json.Unmarshal(raw, &parts) != nil || len(parts) == 0 {
		return nil, false
	}
	out := make([]textPart, len(parts))
	for i, p := range parts {
		for k := range p {
			if k != "text" && k != "thought" {
				return nil, false
			}
		}
		if json.Unmarshal(p["text"], &out[i].Text) != nil || (p["thought"] != nil && json.Unmarshal(p["thought"], &out[i].Thought) != nil) {
			return nil, false
		}
	}
	return out, true
}

// pieces cuts an event whose single candidate carries only text parts (thoughts and answer text) into
// events of a few characters each, one part per event, as the reference's optimizer did with
// parts[0]. Only the last piece keeps the finish reason, the usage and the grounding, so a client never
// sees an answer end early. Anything else (calls, media, code, several candidates) goes as it came.
func (e answerEdits) pieces(event []byte) ([][]byte, int) {
	var top map[string]json.RawMessage
	if json.Unmarshal(event, &top) != nil {
		return nil, 0
	}
	var cands []map[string]json.RawMessage
	if json.Unmarshal(top["candidates"], &cands) != nil || len(cands) != 1 {
		return nil, 0
	}
	var content map[string]json.RawMessage
	if json.Unmarshal(cands[0]["content"], &content) != nil {
		return nil, 0
	}
	parts, ok := plainText(content["parts"])
	if !ok {
		return nil, 0
	}
	var cuts []textPart
	chars := 0
	for _, p := range parts {
		for _, c := range e.pace.Pieces(p.Text) {
			cuts = append(cuts, textPart{Text: c, Thought: p.Thought})
		}
		chars += len([]rune(p.Text))
	}
	if len(cuts) < 2 {
		return nil, 0
	}
	out := make([][]byte, len(cuts))
	for i, cut := range cuts {
		piece := clone(top)
		cand := clone(cands[0])
		if i < len(cuts)-1 {
			delete(piece, "usageMetadata")
			delete(cand, "finishReason")
			delete(cand, "groundingMetadata")
		}
		c := clone(content)
		c["parts"] = mustJSON([]textPart{cut})
		cand["content"] = mustJSON(c)
		piece["candidates"] = mustJSON([]map[string]json.RawMessage{cand})
		out[i] = mustJSON(piece)
	}
	return out, chars
}

func clone(m map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// maxEvent bounds one upstream stream event held in memory for editing (an image answer is a few MiB).
const maxEvent = 64 << 20

// relayEvents is relayStream for an SSE answer that the settings edit: it reads the stream event by
// event, edits each one and sends it on, flushing each.
func relayEvents(w http.ResponseWriter, r *http.Request, resp *upstream.Response, edits answerEdits) {
	defer resp.Stream.Close()
	h := w.Header()
	h.Set("Content-Type", resp.Header.Get("Content-Type"))
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	var usage *UsageScanner
	if reqlog.From(r.Context()) != nil {
		usage = &UsageScanner{}
		defer func() {
			if u, ok := usage.Usage(); ok {
				reqlog.SetUsage(r.Context(), u)
			}
		}()
	}
	in := bufio.NewReaderSize(resp.Stream, relayBufferSize)
	var event bytes.Buffer
	for {
		line, err := readLine(in, maxEvent-event.Len())
		if usage != nil && len(line) > 0 {
			_, _ = usage.Write(line)
		}
		if len(line) > 0 && !sendLine(w, rc, r.Context(), line, &event, edits) {
			return
		}
		if err == nil {
			continue
		}
		if event.Len() > 0 && !sendEvent(w, rc, r.Context(), event.Bytes(), edits) {
			return
		}
		if err != io.EOF && r.Context().Err() == nil {
			writeStreamError(w, rc, err)
		}
		return
	}
}

var errEventTooLarge = errors.New("a stream event is larger than 64 MiB")

// readLine reads one line, at most limit bytes of it.
func readLine(in *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := in.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > limit {
			return nil, errEventTooLarge
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return line, err
	}
}

// sendLine collects an event's data lines and sends the event at the blank line that ends it; other
// lines (comments, event names) pass through as they are.
func sendLine(w http.ResponseWriter, rc *http.ResponseController, ctx context.Context, line []byte, event *bytes.Buffer, edits answerEdits) bool {
	trimmed := bytes.TrimRight(line, "\r\n")
	if data, ok := bytes.CutPrefix(trimmed, []byte("data:")); ok {
		event.Write(bytes.TrimPrefix(data, []byte(" ")))
		return true
	}
	if len(trimmed) == 0 {
		if event.Len() == 0 {
			return true
		}
		ok := sendEvent(w, rc, ctx, event.Bytes(), edits)
		event.Reset()
		return ok
	}
	if _, err := w.Write(line); err != nil {
		return false
	}
	return true
}

// sendEvent edits one event and writes it (or its paced pieces) in Google's framing.
func sendEvent(w http.ResponseWriter, rc *http.ResponseController, ctx context.Context, event []byte, edits answerEdits) bool {
	if edits.sources {
		event = withSources(event)
	}
	out := [][]byte{event}
	pause := 0
	if edits.pace.Enabled {
		if pieces, n := edits.pieces(event); pieces != nil {
			out, pause = pieces, n
		}
	}
	for i, ev := range out {
		if i > 0 && !pace.Sleep(ctx, edits.pace.Delay(pause)) {
			return false
		}
		if !writeEvent(w, rc, ev) {
			return false
		}
	}
	return true
}

func writeEvent(w http.ResponseWriter, rc *http.ResponseController, ev []byte) bool {
	if _, err := w.Write([]byte("data: ")); err != nil {
		return false
	}
	if _, err := w.Write(ev); err != nil {
		return false
	}
	if _, err := w.Write([]byte("\r\n\r\n")); err != nil {
		return false
	}
	return rc.Flush() == nil
}
