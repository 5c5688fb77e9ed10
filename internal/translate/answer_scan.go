package translate

import (
	"bytes"
	"encoding/json"

	"github.com/gemgate/gemgate/internal/gemini"
)

// scanAnswer reads a generateContent answer as json.Unmarshal into gemini.GenerateContentResponse
// does, and tells whether gemini.IsEmptyAnswer would call it empty, in one pass over the body: the
// translated routes decoded every answer twice (the empty-answer check, then the answer), about 35
// allocations for a one-line reply. The members a reply usually has (candidates, content, parts,
// text, finish reason, index, usage, model version, response id) are read in place; the rarer ones are
// decoded by encoding/json into their field. ok is false for anything outside what it reads exactly
// like the decoder (null, a name repeated, written with escapes or in another case, a value of an
// unexpected type or a number that is not a plain integer): the caller then decodes the usual way.
// FuzzScanAnswer checks it against json.Unmarshal and IsEmptyAnswer.
func scanAnswer(body []byte) (resp *gemini.GenerateContentResponse, empty, ok bool) {
	if !gemini.IsObject(body) {
		return nil, false, false
	}
	return scanBody(body, answerFields)
}

// scanValidAnswer is scanAnswer for a body the executor has already found to be valid JSON.
func scanValidAnswer(body []byte) (resp *gemini.GenerateContentResponse, empty, ok bool) {
	if i := gemini.SkipSpace(body, 0); i >= len(body) || body[i] != '{' {
		return nil, false, false
	}
	return scanBody(body, answerFields)
}

// scanEvent is scanAnswer for a stream event, which may be Google's error envelope instead: an event
// with an "error" member is left to the decoder (DecodeEvent).
func scanEvent(data []byte) (*gemini.GenerateContentResponse, bool) {
	if !gemini.IsObject(data) {
		return nil, false
	}
	resp, _, ok := scanBody(data, eventFields)
	return resp, ok
}

// scanBody reads one valid JSON object's members: the callers check that it is one.
func scanBody(body []byte, fields []string) (resp *gemini.GenerateContentResponse, empty, ok bool) {
	store := &answerStore{}
	resp = &store.resp
	useful := false // a part IsEmptyAnswer counts as output
	var buf [8]gemini.Member
	var seen uint
	for _, m := range gemini.Members(body, buf[:0]) {
		i, ok := FieldIndex(m, fields)
		if !ok {
			return nil, false, false
		}
		if i < 0 {
			continue
		}
		if seen&(1<<i) != 0 {
			return nil, false, false
		}
		seen |= 1 << i
		v := m.Value()
		switch fields[i] {
		case "candidates":
			ok = scanCandidates(v, resp, store, &useful)
		case "usageMetadata":
			resp.UsageMetadata = &store.usage
			ok = scanUsage(v, resp.UsageMetadata)
		case "modelVersion":
			resp.ModelVersion, ok = modelVersion(v)
		case "responseId":
			resp.ResponseID, ok = scanString(v)
		case "promptFeedback":
			ok = json.Unmarshal(v, &resp.PromptFeedback) == nil
		default: // error
			ok = false
		}
		if !ok {
			return nil, false, false
		}
	}
	return resp, emptyOf(resp, useful), true
}

var (
	answerFields    = []string{"candidates", "promptFeedback", "usageMetadata", "modelVersion", "responseId"}
	eventFields     = append(answerFields[:len(answerFields):len(answerFields)], "error")
	candidateFields = []string{"content", "finishReason", "finishMessage", "index", "safetyRatings", "groundingMetadata", "avgLogprobs", "logprobsResult"}
	contentFields   = []string{"role", "parts"}
	partFields      = []string{"text", "thought", "thoughtSignature", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult", "videoMetadata"}
	usageFields     = []string{"promptTokenCount", "candidatesTokenCount", "totalTokenCount", "cachedContentTokenCount", "thoughtsTokenCount", "toolUsePromptTokenCount"}
)

// FieldIndex finds m's name among fields, the JSON names of a struct's fields: its index, or -1 for a
// member encoding/json ignores when it decodes into that struct. ok is false for a name the decoder
// would match differently: escaped, or one of fields in another case (encoding/json matches names
// ignoring case, as bytes.EqualFold does). A scan that reads members in place with it reads what the
// decoder does, provided it also refuses names that repeat.
func FieldIndex(m gemini.Member, fields []string) (int, bool) {
	name, plain := m.Plain()
	if !plain {
		return 0, false
	}
	for i, f := range fields {
		if string(name) == f {
			return i, true
		}
	}
	for _, f := range fields {
		if bytes.EqualFold(name, []byte(f)) {
			return 0, false
		}
	}
	return -1, true
}

// emptyOf is gemini.IsEmptyAnswer's verdict on a decoded answer, useful whether one of its parts is
// output (which needs the parts' members as written: see scanPart).
func emptyOf(resp *gemini.GenerateContentResponse, useful bool) bool {
	if pf := resp.PromptFeedback; pf != nil && pf.BlockReason != "" {
		return false
	}
	for _, c := range resp.Candidates {
		if c.FinishReason != "" && c.FinishReason != "STOP" {
			return false
		}
	}
	return len(resp.Candidates) == 0 || !useful
}

// answerStore holds the pieces of the usual answer (one candidate of one or two parts, a thought and
// the text, its usage) in one allocation instead of six; a second candidate or more parts get their
// own as before.
type answerStore struct {
	resp    gemini.GenerateContentResponse
	usage   gemini.UsageMetadata
	cands   [1]gemini.Candidate
	index   int
	content gemini.Content
	parts   [2]gemini.Part

	candsUsed, indexUsed, contentUsed, partsUsed bool
}

func (s *answerStore) candidates(n int) []gemini.Candidate {
	if n == 1 && !s.candsUsed {
		s.candsUsed = true
		return s.cands[:]
	}
	return make([]gemini.Candidate, n)
}

func (s *answerStore) indexOf(n int) *int {
	if s.indexUsed {
		p := new(int) // not &n, which would move n to the heap on every call
		*p = n
		return p
	}
	s.indexUsed, s.index = true, n
	return &s.index
}

func (s *answerStore) newContent() *gemini.Content {
	if s.contentUsed {
		return &gemini.Content{}
	}
	s.contentUsed = true
	return &s.content
}

func (s *answerStore) partsOf(n int) []gemini.Part {
	if n <= len(s.parts) && !s.partsUsed {
		s.partsUsed = true
		return s.parts[:n:n]
	}
	return make([]gemini.Part, n)
}

func scanCandidates(v []byte, resp *gemini.GenerateContentResponse, store *answerStore, useful *bool) bool {
	if v[0] != '[' {
		return false
	}
	var buf [4][]byte
	elems := gemini.Elements(v, buf[:0])
	resp.Candidates = store.candidates(len(elems))
	for i, e := range elems {
		if e[0] != '{' || !scanCandidate(e, &resp.Candidates[i], store, useful) {
			return false
		}
	}
	return true
}

func scanCandidate(obj []byte, c *gemini.Candidate, store *answerStore, useful *bool) bool {
	return ScanMembers(obj, candidateFields, func(i int, v []byte) (ok bool) {
		switch candidateFields[i] {
		case "content":
			c.Content = store.newContent()
			ok = v[0] == '{' && scanContent(v, c.Content, store, useful)
		case "finishReason":
			c.FinishReason, ok = scanString(v)
		case "index":
			var n int
			n, ok = ScanInt(v)
			c.Index = store.indexOf(n)
		case "finishMessage":
			c.FinishMessage, ok = scanString(v)
		case "safetyRatings":
			ok = json.Unmarshal(v, &c.SafetyRatings) == nil
		case "groundingMetadata":
			ok = json.Unmarshal(v, &c.GroundingMetadata) == nil
		case "avgLogprobs":
			ok = json.Unmarshal(v, &c.AvgLogprobs) == nil
		default: // logprobsResult
			ok = json.Unmarshal(v, &c.LogprobsResult) == nil
		}
		return ok
	})
}

func scanContent(obj []byte, c *gemini.Content, store *answerStore, useful *bool) bool {
	return ScanMembers(obj, contentFields, func(i int, v []byte) (ok bool) {
		if i == 0 {
			c.Role, ok = scanString(v)
			return ok
		}
		return scanParts(v, c, store, useful)
	})
}

func scanParts(v []byte, c *gemini.Content, store *answerStore, useful *bool) bool {
	if v[0] != '[' {
		return false
	}
	var buf [4][]byte
	elems := gemini.Elements(v, buf[:0])
	c.Parts = store.partsOf(len(elems))
	for i, e := range elems {
		if e[0] != '{' {
			return false
		}
		u, ok := scanPart(e, &c.Parts[i])
		if !ok {
			return false
		}
		*useful = *useful || u

	}
	return true
}

// scanPart reads a part, and whether IsEmptyAnswer counts it as output: not a thought, and text that
// is not empty, or when it has no text any member but thought and thoughtSignature.
func scanPart(obj []byte, p *gemini.Part) (useful, ok bool) {
	var buf [4]gemini.Member
	var seen uint
	other := false // a member other than thought and thoughtSignature
	for _, m := range gemini.Members(obj, buf[:0]) {
		i, ok := FieldIndex(m, partFields)
		if !ok || i >= 0 && seen&(1<<i) != 0 {
			return false, false
		}
		if i < 0 {
			other = true
			continue
		}
		seen |= 1 << i
		v := m.Value()
		if i > 2 {
			other = true
		}
		switch partFields[i] {
		case "text":
			p.Text, ok = scanString(v)
		case "thought":
			p.Thought, ok = ScanBool(v)
		case "thoughtSignature":
			p.ThoughtSignature, ok = scanString(v)
		case "inlineData":
			ok = json.Unmarshal(v, &p.InlineData) == nil
		case "fileData":
			ok = json.Unmarshal(v, &p.FileData) == nil
		case "functionCall":
			ok = json.Unmarshal(v, &p.FunctionCall) == nil
		case "functionResponse":
			ok = json.Unmarshal(v, &p.FunctionResponse) == nil
		case "executableCode":
			ok = json.Unmarshal(v, &p.ExecutableCode) == nil
		case "codeExecutionResult":
			ok = json.Unmarshal(v, &p.CodeExecutionResult) == nil
		default: // videoMetadata
			ok = json.Unmarshal(v, &p.VideoMetadata) == nil
		}
		if !ok {
			return false, false
		}
	}
	switch {
	case p.Thought:
		return false, true
	case seen&1 != 0: // text
		return p.Text != "", true
	}
	return other, true
}

func scanUsage(obj []byte, u *gemini.UsageMetadata) bool {
	counts := [...]*int{&u.PromptTokenCount, &u.CandidatesTokenCount, &u.TotalTokenCount,
		&u.CachedContentTokenCount, &u.ThoughtsTokenCount, &u.ToolUsePromptTokenCount}
	return ScanMembers(obj, usageFields, func(i int, v []byte) (ok bool) {
		*counts[i], ok = ScanInt(v)
		return ok
	})
}

// Strings Gemini sends in almost every answer, kept as constants instead of a copy each.
var commonStrings = map[string]string{`"model"`: "model", `"STOP"`: "STOP", `"MAX_TOKENS"`: "MAX_TOKENS"}

// scanString is ScanString that gives the strings of commonStrings without a copy.
func scanString(v []byte) (string, bool) {
	if s, ok := commonStrings[string(v)]; ok {
		return s, true
	}
	return ScanString(v)
}
