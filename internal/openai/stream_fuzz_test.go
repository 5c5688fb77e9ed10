package openai

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/pace"
)

// chatSplitReader hands out data in pieces whose sizes come from cuts, as a network would.
type chatSplitReader struct {
	data []byte
	cuts []byte
	i    int
}

func (s *chatSplitReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := len(s.data)
	if len(s.cuts) > 0 {
		n = int(s.cuts[s.i%len(s.cuts)]) + 1
		s.i++
	}
	n = min(n, len(s.data), len(p))
	copy(p, s.data[:n])
	s.data = s.data[n:]
	return n, nil
}

// FuzzStreamTranslate: the upstream stream translator never panics on arbitrary bytes, its output is
// a well-formed OpenAI stream (JSON events, then [DONE]), and how the bytes were cut into reads does
// not change it.
func FuzzStreamTranslate(f *testing.F) {
	files, _ := filepath.Glob("testdata/stream/*.sse")
	for _, file := range files {
		if !strings.HasSuffix(file, ".golden.sse") {
			f.Add(chatReadFile(f, file), []byte{0, 7, 63, 255})
		}
	}
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		_, whole := runChatStream(t, bytes.NewReader(data), testAnswerOptions(2), true, pace.Pacer{})
		_, split := runChatStream(t, &chatSplitReader{data: data, cuts: cuts}, testAnswerOptions(2), true, pace.Pacer{})
		if whole != split {
			t.Fatalf("read boundaries changed the stream:\n%s\nvs\n%s", whole, split)
		}
		if !strings.HasSuffix(whole, "data: [DONE]\n\n") {
			t.Fatalf("stream not terminated: %q", whole)
		}
		events := strings.Split(strings.TrimSuffix(whole, "data: [DONE]\n\n"), "\n\n")
		for _, ev := range events[:len(events)-1] {
			payload, ok := strings.CutPrefix(ev, "data: ")
			if !ok || !json.Valid([]byte(payload)) {
				t.Fatalf("malformed event %q", ev)
			}
		}
	})
}
