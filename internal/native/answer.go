package native

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gemgate/gemgate/internal/gemini"
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
		var gm gemini.GroundingMetadata
		if json.Unmarshal(c["groundingMetadata"], &gm) != nil {
			continue
		}
		text := gemini.SearchSources(&gm)
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
	var usage *gemini.UsageScanner
	if reqlog.From(r.Context()) != nil {
		usage = &gemini.UsageScanner{}
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
		if pieces, n := edits.pace.Cut(event); pieces != nil {
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
