package translate

import (
	"strings"

	"github.com/gemgate/gemgate/internal/gemini"
)

// BlockKind is what a content block holds. Anthropic's content blocks and the Responses API's output
// items are both sequences of such blocks, so one assembler serves both.
type BlockKind int

// Block kinds.
const (
	TextBlock BlockKind = iota + 1
	ThinkingBlock
	CallBlock
)

// Block is one piece of an answer: text, the model's thoughts, or a function call.
type Block struct {
	Kind BlockKind
	Text string // the text or thoughts so far
	// Signature is Gemini's thought signature, carried by thinking blocks so that a client that replays
	// its history hands it back where Gemini wants it.
	Signature string
	CallID    string
	Name      string
	Args      string // compact JSON object

	// text holds Text as it grows: its String shares the bytes written so far, so that a block
	// extended by every event of a stream is not copied whole each time (it was 1.2 MB per
	// 200-event answer).
	text strings.Builder
}

// EventKind is a change to an answer's blocks.
type EventKind int

// Event kinds, in the order a block goes through them: start, deltas (text or signature), stop.
const (
	BlockStart EventKind = iota + 1
	BlockDelta
	BlockSignature
	BlockStop
)

// BlockEvent is one change: Delta holds the new text or thoughts (BlockDelta) or the signature
// (BlockSignature).
type BlockEvent struct {
	Kind  EventKind
	Index int
	Block *Block
	Delta string
}

// SendAll hands evs to send in order until it reports the client gone (false).
func SendAll(evs []BlockEvent, send func(BlockEvent) bool) bool {
	for _, ev := range evs {
		if !send(ev) {
			return false
		}
	}
	return true
}

// Blocks assembles the first candidate of Gemini's answer, event by event, into blocks. Text and
// thoughts that arrive in pieces extend the open block; a function call is a block of its own, whole.
type Blocks struct {
	// ShowThoughts keeps the model's thoughts as thinking blocks; otherwise they are dropped, never
	// mixed into the text.
	ShowThoughts bool
	// CarrySignatures puts a function call's thought signature on a thinking block (an empty one when
	// no thoughts came), where the client's history keeps it.
	CarrySignatures bool
	// SearchLinks appends a grounded answer's sources to the text when the answer ends.
	SearchLinks bool
	NewCallID   func() string

	list      []*Block
	first     [2]Block  // the first blocks' storage: most answers have one or two (thoughts, text)
	firstList [2]*Block // list's, while it holds only those
	stored    int       // blocks in first
	open      int       // index of the open text or thinking block, or -1
	started   bool
	quiet     bool // a whole answer (Whole): nobody reads the events
	grounding *gemini.GroundingMetadata

	// What the answer said about itself, kept from whichever event carried it.
	Finish  string
	Usage   *gemini.UsageMetadata
	Blocked bool // the prompt was blocked: no candidates, promptFeedback.blockReason
}

// List is every block so far.
func (b *Blocks) List() []*Block { return b.list }

// HasCalls reports whether the answer asks for function calls.
func (b *Blocks) HasCalls() bool {
	for _, bl := range b.list {
		if bl.Kind == CallBlock {
			return true
		}
	}
	return false
}

// Response takes one stream event (or a whole answer) and returns the changes it makes.
func (b *Blocks) Response(resp *gemini.GenerateContentResponse) []BlockEvent {
	if !b.started {
		b.started, b.open = true, -1
	}
	if resp.UsageMetadata != nil {
		b.Usage = resp.UsageMetadata
	}
	if resp.PromptFeedback != nil && resp.PromptFeedback.BlockReason != "" && len(resp.Candidates) == 0 {
		b.Blocked = true
	}
	c := firstCandidate(resp.Candidates)
	if c == nil {
		return nil
	}
	if c.FinishReason != "" {
		b.Finish = c.FinishReason
	}
	if c.GroundingMetadata != nil && len(c.GroundingMetadata.GroundingChunks) > 0 {
		b.grounding = c.GroundingMetadata
	}
	if c.Content == nil {
		return nil
	}
	var out []BlockEvent
	for i := range c.Content.Parts {
		out = b.part(&c.Content.Parts[i], out)
	}
	return out
}

// Whole assembles a whole answer (a non-streamed call) and closes it, without the events only a
// stream reads.
func (b *Blocks) Whole(resp *gemini.GenerateContentResponse) {
	b.quiet = true
	b.Response(resp)
	b.Close()
}

// emit adds evs to out, unless nobody reads them.
func (b *Blocks) emit(out []BlockEvent, evs ...BlockEvent) []BlockEvent {
	if b.quiet {
		return out
	}
	return append(out, evs...)
}

// firstCandidate is candidate 0: these APIs have no choices, so other candidates have no place.
func firstCandidate(cs []gemini.Candidate) *gemini.Candidate {
	for i := range cs {
		if cs[i].Index == nil || *cs[i].Index == 0 {
			return &cs[i]
		}
	}
	return nil
}

func (b *Blocks) part(p *gemini.Part, out []BlockEvent) []BlockEvent {
	switch {
	case p.Thought:
		if !b.ShowThoughts {
			return out
		}
		out = b.extend(ThinkingBlock, p.Text, out)
		if p.ThoughtSignature != "" {
			if b.open < 0 || b.list[b.open].Kind != ThinkingBlock {
				out = b.openThinking(out) // a signature without thoughts (sign had no block and panicked)
			}
			out = b.sign(b.open, p.ThoughtSignature, out)
		}
		return out
	case p.FunctionCall != nil:
		return b.call(p, out)
	case p.ExecutableCode != nil:
		var s strings.Builder
		WriteCode(&s, p.ExecutableCode)
		return b.extend(TextBlock, s.String(), out)
	case p.CodeExecutionResult != nil:
		var s strings.Builder
		WriteCodeResult(&s, p.CodeExecutionResult)
		return b.extend(TextBlock, s.String(), out)
	case p.InlineData != nil:
		return b.extend(TextBlock, imageMarkdown(p.InlineData), out)
	}
	return b.extend(TextBlock, p.Text, out)
}

// imageMarkdown shows an image the model drew inline; other media (speech) has no place in these APIs.
func imageMarkdown(blob *gemini.Blob) string {
	if !strings.HasPrefix(blob.MimeType, "image/") || blob.Data == "" {
		return ""
	}
	return "\n\n![image](data:" + blob.MimeType + ";base64," + blob.Data + ")\n\n"
}

// add appends a new block of kind, the first two without an allocation.
func (b *Blocks) add(kind BlockKind) {
	if n := b.stored; n < len(b.first) && len(b.list) == n {
		b.first[n] = Block{Kind: kind}
		b.firstList[n] = &b.first[n]
		b.stored++
		b.list = b.firstList[: n+1 : n+1]
		return
	}
	b.list = append(b.list, &Block{Kind: kind})
}

// extend adds text to the open block of kind, or opens one.
func (b *Blocks) extend(kind BlockKind, text string, out []BlockEvent) []BlockEvent {
	if text == "" {
		return out
	}
	if b.open < 0 || b.list[b.open].Kind != kind {
		out = b.closeOpen(out)
		b.add(kind)
		b.open = len(b.list) - 1
		out = b.emit(out, BlockEvent{Kind: BlockStart, Index: b.open, Block: b.list[b.open]})
	}
	bl := b.list[b.open]
	bl.text.WriteString(text)
	bl.Text = bl.text.String()
	return b.emit(out, BlockEvent{Kind: BlockDelta, Index: b.open, Block: bl, Delta: text})
}

func (b *Blocks) sign(index int, sig string, out []BlockEvent) []BlockEvent {
	bl := b.list[index]
	bl.Signature += sig
	return b.emit(out, BlockEvent{Kind: BlockSignature, Index: index, Block: bl, Delta: sig})
}

// call adds a function call. Its signature goes on the thinking block just before it when that block
// has none yet, or on a new empty thinking block, so that the first call of a turn gets it back.
func (b *Blocks) call(p *gemini.Part, out []BlockEvent) []BlockEvent {
	if sig := p.ThoughtSignature; sig != "" && b.CarrySignatures {
		if b.open < 0 || b.list[b.open].Kind != ThinkingBlock || b.list[b.open].Signature != "" {
			out = b.openThinking(out)
		}
		out = b.sign(b.open, sig, out)
	}
	out = b.closeOpen(out)
	fc := p.FunctionCall
	id := fc.ID
	if id == "" {
		id = b.NewCallID()
	}
	bl := &Block{Kind: CallBlock, CallID: id, Name: fc.Name, Args: CompactArgs(fc.Args)}
	b.list = append(b.list, bl)
	i := len(b.list) - 1
	return b.emit(out, BlockEvent{Kind: BlockStart, Index: i, Block: bl}, BlockEvent{Kind: BlockStop, Index: i, Block: bl})
}

// openThinking opens an empty thinking block, for a signature that came without thoughts.
func (b *Blocks) openThinking(out []BlockEvent) []BlockEvent {
	out = b.closeOpen(out)
	b.add(ThinkingBlock)
	b.open = len(b.list) - 1
	return b.emit(out, BlockEvent{Kind: BlockStart, Index: b.open, Block: b.list[b.open]})
}

func (b *Blocks) closeOpen(out []BlockEvent) []BlockEvent {
	if b.open < 0 {
		return out
	}
	i := b.open
	b.open = -1
	return b.emit(out, BlockEvent{Kind: BlockStop, Index: i, Block: b.list[i]})
}

// Close ends the answer: the search sources, when asked for, then the end of the open block.
func (b *Blocks) Close() []BlockEvent {
	if !b.started {
		b.started, b.open = true, -1
	}
	var out []BlockEvent
	if b.SearchLinks {
		out = b.extend(TextBlock, SearchSources(b.grounding), out)
	}
	return b.closeOpen(out)
}

// Ending is how an answer ended, in terms every API can name.
type Ending int

// Endings.
const (
	EndStop      Ending = iota + 1 // natural end, or one of the client's stop sequences
	EndMaxTokens                   // the output token limit
	EndToolUse                     // the model asks for function calls
	EndFiltered                    // safety, recitation or another policy stopped it
)

// End classifies how the answer ended. A STOP after function calls asks the client to run them;
// MALFORMED_FUNCTION_CALL is a plain stop: no call is there to run, and blaming safety would be wrong.
func (b *Blocks) End() Ending {
	if b.Blocked {
		return EndFiltered
	}
	switch b.Finish {
	case "MAX_TOKENS":
		return EndMaxTokens
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return EndFiltered
	}
	if b.HasCalls() {
		return EndToolUse
	}
	return EndStop
}

// Tokens are an answer's token counts as the client APIs report them: output includes thoughts (both
// Anthropic and OpenAI bill thinking as output), input includes what tools read (search results).
type Tokens struct {
	Input, Output, Thoughts, Cached, Total int
}

// Count reads usageMetadata.
func Count(u *gemini.UsageMetadata) Tokens {
	if u == nil {
		return Tokens{}
	}
	t := Tokens{
		Input:    u.PromptTokenCount + u.ToolUsePromptTokenCount,
		Output:   u.CandidatesTokenCount + u.ThoughtsTokenCount,
		Thoughts: u.ThoughtsTokenCount,
		Cached:   u.CachedContentTokenCount,
		Total:    u.TotalTokenCount,
	}
	if t.Total == 0 {
		t.Total = t.Input + t.Output
	}
	return t
}
