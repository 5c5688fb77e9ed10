package translate

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
)

// answerBuffers hold answers while they are encoded: a buffer grown anew for each answer was a handful
// of allocations per request. Writers copy what they are given (io.Writer must not retain it).
var answerBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledAnswer keeps the odd huge answer (an inline image) from staying in the pool.
const maxPooledAnswer = 64 << 10

// WriteJSON answers 200 with v as JSON, HTML characters unescaped (the answer is text for a program,
// and a model's "<" must arrive as written). It writes nothing when v cannot be encoded.
func WriteJSON(w http.ResponseWriter, v any) error {
	buf := answerBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledAnswer {
			buf.Reset()
			answerBuffers.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
	return nil
}
