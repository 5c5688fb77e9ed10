package gemini

import (
	"encoding/json"
	"errors"

	"github.com/gemgate/gemgate/internal/jsonvalid"
)

// IsEmptyAnswer reports a generateContent answer with no usable output whose finish reason does not
// explain it: 200 with no candidates' text, function call or media, or thoughts only. gemini-2.5-pro
// does this now and then and users expect a retry. Blocked prompts (promptFeedback) and answers cut by
// SAFETY, MAX_TOKENS, RECITATION and the like are real answers, not empty ones.
//
// Every answer goes through this check, so it scans the answer's members in place (emptyByScan); only
// the shapes the scan cannot vouch for (duplicate or differently-cased names, escaped names or finish
// reasons) are decoded as before.
func IsEmptyAnswer(body []byte) bool {
	return jsonvalid.Valid(body) && IsEmptyValidAnswer(body)
}

// EmptyAnswer is IsEmptyAnswer, or IsEmptyValidAnswer when the body is known to be valid JSON: the
// executor's empty-answer check (upstream.Call.Empty).
func EmptyAnswer(body []byte, valid bool) bool {
	if valid {
		return IsEmptyValidAnswer(body)
	}
	return IsEmptyAnswer(body)
}

// IsEmptyValidAnswer is IsEmptyAnswer for a body already known to be valid JSON.
func IsEmptyValidAnswer(body []byte) bool {
	if empty, sure := emptyByScan(body); sure {
		return empty
	}
	return emptyByDecoding(body)
}

// emptyByDecoding is the decoding the scan stands in for; its verdict is the definition.
func emptyByDecoding(body []byte) bool {
	var resp struct {
		Candidates []struct {
			Content struct {
				Parts []answerPart `json:"parts"`
			} `json:"content"`
			FinishReason string `json:"finishReason"`
		} `json:"candidates"`
		PromptFeedback *struct {
			BlockReason string `json:"blockReason"`
		} `json:"promptFeedback"`
	}
	if json.Unmarshal(body, &resp) != nil {
		return false
	}
	if resp.PromptFeedback != nil && resp.PromptFeedback.BlockReason != "" {
		return false
	}
	if len(resp.Candidates) == 0 {
		return true
	}
	for _, c := range resp.Candidates {
		if c.FinishReason != "" && c.FinishReason != "STOP" {
			return false
		}
		for _, p := range c.Content.Parts {
			if p.useful() {
				return false
			}
		}
	}
	return true
}

// emptyByScan reads valid JSON the way emptyByDecoding decodes it. sure is false when the body has a
// shape whose decoding the scan does not reproduce: a field named twice (the decoder merges into what it
// decoded first), a name that matches a field only ignoring case or through escapes, an escaped finish
// reason. Any type the decoder would refuse makes emptyByDecoding false, as does any output or stop
// reason; so the scan may answer false as soon as it sees one, and true only at the end.
func emptyByScan(body []byte) (empty, sure bool) {
	i := SkipSpace(body, 0)
	switch body[i] {
	case 'n':
		return true, true // null decodes into nothing: no candidates
	case '{':
	default:
		return false, true // not an object: the decoder refuses it
	}
	var candidates, feedback bool
	var buf [8]Member
	for _, m := range Members(body[i:], buf[:0]) {
		var v verdict
		switch field(m, "candidates", "promptFeedback") {
		case 0:
			v, candidates = once(candidates, scanCandidates(m.value))
		case 1:
			v, feedback = once(feedback, scanFeedback(m.value))
		case unsure:
			return false, false
		default:
			continue
		}
		if v != carryOn {
			return false, v == notEmpty
		}
	}
	return true, true
}

// verdict is what one member tells about the whole answer.
type verdict int

const (
	carryOn  verdict = iota // nothing against emptiness
	notEmpty                // output, a stop reason, a block or a type the decoder refuses
	doubt                   // a shape the scan does not reproduce
)

// unsure is field's answer for a name that matches a field only the way the decoder's case-insensitive
// or escape-decoding match would.
const unsure = -2

// field returns the index of the field m is exactly named as, -1 for none, or unsure.
func field(m Member, names ...string) int {
	p, plain := m.Plain()
	for i, n := range names {
		if plain && string(p) == n {
			return i
		}
		if m.NamedFold(n) {
			return unsure
		}
	}
	return -1
}

// once turns a second occurrence of a field into doubt, and marks the field seen.
func once(seen bool, v verdict) (verdict, bool) {
	if seen {
		return doubt, true
	}
	return v, true
}

func scanFeedback(v []byte) verdict {
	return scanField(v, "blockReason", func(r []byte) verdict {
		if r[0] != 'n' && (r[0] != '"' || len(r) > 2) {
			return notEmpty // a reason (any non-empty string), or not a string at all
		}
		return carryOn
	})
}

// scanField reads the one field of an object that matters (null holds nothing), handing its value to
// fn. Anything but an object is a type error, which the decoding counts as not empty; a repeated or
// doubtful name is left to the decoding.
func scanField(v []byte, name string, fn func([]byte) verdict) verdict {
	switch v[0] {
	case 'n':
		return carryOn
	case '{':
	default:
		return notEmpty
	}
	var buf [4]Member
	var seen bool
	for _, m := range Members(v, buf[:0]) {
		switch field(m, name) {
		case 0:
			if seen {
				return doubt
			}
			seen = true
			if r := fn(m.value); r != carryOn {
				return r
			}
		case unsure:
			return doubt
		}
	}
	return carryOn
}

func scanCandidates(v []byte) verdict { return scanElements(v, scanCandidate) }

// scanElements reads an array (null holds nothing), handing each element to fn until one decides.
// Anything but an array is a type error, which the decoding counts as not empty.
func scanElements(v []byte, fn func([]byte) verdict) verdict {
	switch v[0] {
	case 'n':
		return carryOn
	case '[':
	default:
		return notEmpty
	}
	for e := range EachElement(v) {
		if r := fn(e); r != carryOn {
			return r
		}
	}
	return carryOn
}

func scanCandidate(v []byte) verdict {
	switch v[0] {
	case 'n':
		return carryOn
	case '{':
	default:
		return notEmpty
	}
	var buf [8]Member
	var content, reason bool
	for _, m := range Members(v, buf[:0]) {
		var r verdict
		switch field(m, "content", "finishReason") {
		case 0:
			r, content = once(content, scanContent(m.value))
		case 1:
			r, reason = once(reason, scanReason(m.value))
		case unsure:
			return doubt
		default:
			continue
		}
		if r != carryOn {
			return r
		}
	}
	return carryOn
}

func scanReason(v []byte) verdict {
	switch {
	case v[0] == 'n', string(v) == `""`, string(v) == `"STOP"`:
		return carryOn
	case v[0] != '"':
		return notEmpty
	}
	if _, plain := (Member{key: v}).Plain(); !plain {
		return doubt // escaped: it might still spell STOP
	}
	return notEmpty
}

func scanContent(v []byte) verdict { return scanField(v, "parts", scanParts) }

func scanParts(v []byte) verdict {
	return scanElements(v, func(e []byte) verdict {
		var p answerPart
		if p.UnmarshalJSON(e) != nil || p.useful() {
			return notEmpty
		}
		return carryOn
	})
}

// answerPart is what a part of a candidate says about output, read from its members in place
// (decoding every part into a map cost more than the rest of the check). A part decoded twice into the same element (a second
// "parts" member, which encoding/json decodes into the slice it already holds) merges with what the
// first one said, as a map would: later members override earlier ones of the same name, and the null
// part empties it.
type answerPart struct {
	thought bool // "thought": true
	hasText bool
	text    bool // the text is a non-empty string
	other   bool // a member that is output: anything but text, thought and thoughtSignature
}

// useful reports a part that is output: not a thought, and text that is not empty, or when it has no
// text a member that is output.
func (p *answerPart) useful() bool { return !p.thought && (p.text || !p.hasText && p.other) }

func (p *answerPart) UnmarshalJSON(b []byte) error {
	if b[0] == 'n' { // null: a part with nothing in it
		*p = answerPart{}
		return nil
	}
	if b[0] != '{' {
		return errNotObject
	}
	var buf [8]Member
	for _, m := range Members(b, buf[:0]) {
		switch {
		case m.Named("thought"):
			p.thought = string(m.value) == "true"
		case m.Named("text"):
			// A JSON string longer than "" holds at least one character; null and other types hold none.
			p.hasText, p.text = true, len(m.value) > 2 && m.value[0] == '"'
		case !m.Named("thoughtSignature"):
			p.other = true
		}
	}
	return nil
}

var errNotObject = errors.New("a part is not a JSON object")
