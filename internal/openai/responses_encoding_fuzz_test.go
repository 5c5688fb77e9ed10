package openai

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/translate"
)

// FuzzResponsesEncoding: for any request and any answer (streamed event by event, or whole), the
// Responses route writes byte for byte what the encoders before the append encoder wrote
// (responses_reference_test.go), ids aside: they are random, so each distinct id is replaced by its
// order of appearance in both outputs before they are compared.
func FuzzResponsesEncoding(f *testing.F) {
	for seed := range uint64(40) {
		f.Add(randomBytes(seed, 64+int(seed)*16))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkResponsesEncoding(t, &byteSource{data: data})
	})
}

// TestResponsesEncodingRandom runs the comparison of FuzzResponsesEncoding on many generated cases
// with every test run.
func TestResponsesEncodingRandom(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	for seed := range uint64(n) {
		checkResponsesEncoding(t, &byteSource{data: randomBytes(seed, 512)})
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 20))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// byteSource turns fuzz bytes into choices; past its end every choice is 0.
type byteSource struct {
	data []byte
	i    int
}

func (s *byteSource) byte() byte {
	if s.i >= len(s.data) {
		return 0
	}
	s.i++
	return s.data[s.i-1]
}

func (s *byteSource) intn(n int) int { return int(s.byte()) % n }
func (s *byteSource) chance(in int) bool {
	return s.intn(in) == 0
}

// pieces are what strings are made of: plain words and everything JSON escapes or treats specially.
var pieces = []string{
	"hello", " ", "world", `"`, `\`, "\n", "\r", "\t", "\b", "\f", "\x00", "\x01", "\x1f", "\x7f", "<", ">", "&",
	"\u2028", "\u2029", "é", "日本", "🙂", "\xff", "\xe2\x80", "\xed\xa0\x80", "msg_", "{", "}", "[", "]", ":", ",",
	"\\u00e9", "</script>",
}

func (s *byteSource) text() string {
	var b strings.Builder
	for range s.intn(8) {
		if s.chance(4) {
			b.WriteByte(s.byte())
		} else {
			b.WriteString(pieces[s.intn(len(pieces))])
		}
	}
	return b.String()
}

func (s *byteSource) float() float64 {
	special := []float64{0, 0.3, 1, 2, 1e-6, 1e-7, 9.99e-7, 1e20, 1e21, 1.5e300, 5e-324, 0.1 + 0.2, 123456789.125}
	if !s.chance(3) {
		f := special[s.intn(len(special))]
		if s.chance(2) {
			f = -f
		}
		return f
	}
	var b [8]byte
	for i := range b {
		b[i] = s.byte()
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(b[:]))
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0.5
	}
	return f
}

// rawJSON is a JSON value, sometimes with white space the encoder takes out.
func (s *byteSource) rawJSON() any {
	vals := []any{
		map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "string", "description": s.text()}}},
		map[string]any{}, []any{1, "x", nil, true, 2.5e-8}, s.text(), nil, map[string]any{"k": []any{map[string]any{"v": s.text()}}},
	}
	return vals[s.intn(len(vals))]
}

// request is a Responses request built from choices, as JSON.
func (s *byteSource) request() []byte {
	req := map[string]any{"model": "gemini-2.5-flash", "input": "hi"}
	if s.chance(3) {
		req["model"] = s.text() + "x"
	}
	if s.chance(2) {
		req["instructions"] = s.text()
	}
	if s.chance(2) {
		req["temperature"] = s.float()
	}
	if s.chance(2) {
		req["top_p"] = s.float()
	}
	if s.chance(2) {
		req["max_output_tokens"] = s.intn(256) * 1000
	}
	if s.chance(2) {
		r := map[string]any{"effort": s.text()}
		if s.chance(2) {
			r["summary"] = s.text()
		}
		req["reasoning"] = r
	}
	if s.chance(3) {
		req["include"] = []string{"reasoning.encrypted_content"}
	}
	if s.chance(2) {
		var tools []any
		for range s.intn(4) {
			tools = append(tools, s.tool(true))
		}
		if tools == nil && s.chance(2) {
			tools = []any{}
		}
		req["tools"] = tools
	}
	switch s.intn(4) {
	case 0:
		req["tool_choice"] = []string{"auto", "none", "required"}[s.intn(3)]
	case 1:
		req["tool_choice"] = map[string]any{"type": "function", "name": "f" + s.text()}
	}
	body, _ := json.Marshal(req)
	if s.chance(2) {
		var indented bytes.Buffer
		_ = json.Indent(&indented, body, " ", "\t")
		body = indented.Bytes()
	}
	return body
}

func (s *byteSource) tool(nested bool) map[string]any {
	t := map[string]any{"type": "function", "name": "f" + s.text()}
	if nested && s.chance(4) {
		t["type"] = "namespace"
		var members []any
		for range 1 + s.intn(3) {
			members = append(members, s.tool(false))
		}
		t["tools"] = members
	} else if nested && s.chance(8) {
		t["type"] = "web_search"
	}
	if s.chance(2) {
		t["description"] = s.text()
	}
	if s.chance(2) {
		t["parameters"] = s.rawJSON()
	}
	if s.chance(3) {
		t["strict"] = s.chance(2)
	}
	return t
}

var finishReasons = []string{"", "", "STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "MALFORMED_FUNCTION_CALL", "OTHER"}

// answer is one Gemini answer event built from choices; calls may name the request's tools.
func (s *byteSource) answer(names []string) *gemini.GenerateContentResponse {
	resp := &gemini.GenerateContentResponse{}
	if s.chance(3) {
		resp.UsageMetadata = &gemini.UsageMetadata{PromptTokenCount: s.intn(100), CandidatesTokenCount: s.intn(100),
			ThoughtsTokenCount: s.intn(50), CachedContentTokenCount: s.intn(10), ToolUsePromptTokenCount: s.intn(5)}
		if s.chance(2) {
			resp.UsageMetadata.TotalTokenCount = s.intn(300)
		}
	}
	if s.chance(12) {
		resp.PromptFeedback = &gemini.PromptFeedback{BlockReason: "SAFETY"}
		return resp
	}
	c := gemini.Candidate{FinishReason: finishReasons[s.intn(len(finishReasons))]}
	if s.chance(6) {
		c.GroundingMetadata = &gemini.GroundingMetadata{GroundingChunks: []gemini.GroundingChunk{{Web: &gemini.GroundingWeb{URI: "https://example.com/" + s.text(), Title: s.text()}}}}
	}
	if !s.chance(8) {
		c.Content = &gemini.Content{Role: "model"}
		for range s.intn(4) {
			c.Content.Parts = append(c.Content.Parts, s.part(names))
		}
	}
	resp.Candidates = []gemini.Candidate{c}
	return resp
}

func (s *byteSource) part(names []string) gemini.Part {
	switch s.intn(8) {
	case 0, 1:
		p := gemini.Part{Text: s.text(), Thought: true}
		if s.chance(3) {
			p.ThoughtSignature = s.text()
		}
		return p
	case 2:
		name := "f" + s.text()
		if len(names) > 0 && s.chance(2) {
			name = names[s.intn(len(names))]
		}
		args, _ := json.Marshal(s.rawJSON())
		if s.chance(2) {
			args = []byte(strings.ReplaceAll(string(args), ":", " : "))
		}
		p := gemini.Part{FunctionCall: &gemini.FunctionCall{Name: name, Args: args}}
		if s.chance(2) {
			p.FunctionCall.ID = "id" + s.text()
		}
		if s.chance(2) {
			p.ThoughtSignature = s.text()
		}
		return p
	case 3:
		return gemini.Part{ExecutableCode: &gemini.ExecutableCode{Language: "PYTHON", Code: s.text()}}
	case 4:
		return gemini.Part{CodeExecutionResult: &gemini.CodeExecutionResult{Outcome: "OUTCOME_OK", Output: s.text()}}
	case 5:
		return gemini.Part{InlineData: &gemini.Blob{MimeType: "image/png", Data: "iVBORw0" + s.text()}}
	}
	return gemini.Part{Text: s.text()}
}

func newResponseAnswer(req *responsesRequest, searchLinks, showThinking bool) *responseAnswer {
	return new(responseAnswer).init(req, searchLinks, showThinking)
}

// geminiNames are the Gemini names of the request's function tools, namespaced ones qualified.
func geminiNames(req *responsesRequest) []string {
	var out []string
	for _, t := range req.Tools {
		out = append(out, t.Name)
		for _, m := range t.Tools {
			out = append(out, qualifiedName(t.Name, m.Name))
		}
	}
	return out
}

func checkResponsesEncoding(t *testing.T, s *byteSource) {
	t.Helper()
	body := s.request()
	_, req, err := parseResponsesRequest(body)
	if err != nil {
		return
	}
	searchLinks, showThinking := s.chance(3), !s.chance(3)
	names := geminiNames(req)
	var answers []*gemini.GenerateContentResponse
	for range 1 + s.intn(6) {
		answers = append(answers, s.answer(names))
	}
	stream, beatAt, failAt := !s.chance(3), s.intn(8), s.intn(10)
	failures := []error{io.ErrUnexpectedEOF, &translate.UpstreamFailure{Status: rpcstatus.Status{Code: 500 + s.intn(5), Message: s.text(), Status: "INTERNAL"}},
		errors.New(s.text())}
	failure := failures[s.intn(len(failures))]

	ra := newResponseAnswer(req, searchLinks, showThinking)
	ref := newRefAnswer(req, searchLinks, showThinking)
	ref.created = ra.created
	got, want := httptest.NewRecorder(), httptest.NewRecorder()
	if !stream {
		ra.blocks.Whole(answers[0])
		ref.blocks.Whole(answers[0])
		status := ra.finalStatus()
		translate.WriteAppended(got, func(b []byte) []byte { return ra.appendObject(b, status, nil) })
		writeChatJSON(want, ref.object(ref.finalStatus()))
	} else {
		sink := newResponseSink(got, ra)
		refSink := &refSink{ra: ref, out: translate.NewSSEWriter(want), w: want}
		for i, a := range answers {
			if i == beatAt {
				sink.Beat()
				refSink.Beat()
			}
			if i == failAt {
				break
			}
			sink.Answer(translate.Item{Resp: a})
			refSink.Answer(translate.Item{Resp: a})
		}
		if failAt < len(answers) {
			sink.Fail(failure)
			refSink.Fail(failure)
		} else {
			sink.End()
			refSink.End()
		}
	}
	g, w := normalizeIDs(got.Body.String()), normalizeIDs(want.Body.String())
	if g != w || got.Code != want.Code || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
		t.Fatalf("request %s\nstream %v: the append encoder wrote (%d %q)\n%s\nthe reference (%d %q)\n%s\nfirst difference at %d",
			body, stream, got.Code, got.Header().Get("Content-Type"), g, want.Code, want.Header().Get("Content-Type"), w, firstDiff(g, w))
	}
}

var idPattern = regexp.MustCompile(`(resp|rs|fc|msg|call)_[A-Za-z0-9]{24,32}`)

// normalizeIDs replaces each distinct generated id by its prefix and order of first appearance.
func normalizeIDs(s string) string {
	seen := map[string]string{}
	return idPattern.ReplaceAllStringFunc(s, func(id string) string {
		if n, ok := seen[id]; ok {
			return n
		}
		n := id[:strings.IndexByte(id, '_')] + "_#" + strconv.Itoa(len(seen))
		seen[id] = n
		return n
	})
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
