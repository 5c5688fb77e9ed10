package translate

import (
	"slices"
	"strings"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/models"
)

// Conversation collects the turns of one request as Gemini wants them, whatever API the client spoke:
// alternating user and model turns, the system instruction apart, media URLs still to download, and
// which function each call id named (Gemini matches results to calls by name; the other APIs by id).
type Conversation struct {
	Model    models.Resolved
	Contents []gemini.Content
	System   []gemini.Part
	Media    []*MediaJob
	HasMedia bool
	calls    map[string]string

	// Storage for the usual request (one turn of one part, and the body), in the allocation of what
	// holds the Conversation instead of three of their own.
	firstTurn [1]gemini.Content
	firstPart [1]gemini.Part
	partUsed  bool
	body      gemini.GenerateContentRequest
}

// OnePart is the parts of a turn of just p, the first time without an allocation.
func (c *Conversation) OnePart(p gemini.Part) []gemini.Part {
	if c.partUsed {
		return []gemini.Part{p}
	}
	c.partUsed = true
	c.firstPart[0] = p
	return c.firstPart[:]
}

// Add appends parts as a turn ("user" or "model"), merging them into the previous turn when it has
// the same role: Gemini wants user and model turns to alternate, and several tool results answer one
// model turn.
func (c *Conversation) Add(role string, parts []gemini.Part) {
	if len(parts) == 0 {
		return
	}
	if n := len(c.Contents); n > 0 && c.Contents[n-1].Role == role {
		c.Contents[n-1].Parts = append(c.Contents[n-1].Parts, parts...)
		return
	}
	if c.Contents == nil {
		c.Contents = c.firstTurn[:0]
	}
	c.Contents = append(c.Contents, gemini.Content{Role: role, Parts: parts})
}

// AddSystem appends to the system instruction.
func (c *Conversation) AddSystem(parts ...gemini.Part) { c.System = append(c.System, parts...) }

// NoteCall remembers the function a call id named, for the result that answers it later.
func (c *Conversation) NoteCall(id, name string) {
	if id == "" {
		return
	}
	if c.calls == nil {
		c.calls = map[string]string{}
	}
	c.calls[id] = name
}

// CallName is the function of an earlier call.
func (c *Conversation) CallName(id string) (string, bool) {
	name, ok := c.calls[id]
	return name, ok
}

// Inline is media sent in the request itself, as base64.
func (c *Conversation) Inline(mimeType, data string) gemini.Part {
	c.HasMedia = true
	return gemini.Part{InlineData: &gemini.Blob{MimeType: normalizeMime(mimeType), Data: data}}
}

// Fetch is media named by an http(s) URL: the part is placed now and filled by FetchAll, so the
// downloads of one request run in parallel.
func (c *Conversation) Fetch(url, param string) gemini.Part {
	c.HasMedia = true
	part := gemini.Part{InlineData: &gemini.Blob{}}
	c.Media = append(c.Media, &MediaJob{URL: url, Param: param, Blob: part.InlineData})
	return part
}

// IsHTTPURL reports an http or https URL, the only kind gemgate downloads.
func IsHTTPURL(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// Request is the generateContent body the turns make, with the system instruction placed and replayed
// function calls signed. It is called once: the body is the Conversation's own.
func (c *Conversation) Request() *gemini.GenerateContentRequest {
	c.signFunctionCalls()
	body := &c.body
	*body = gemini.GenerateContentRequest{Contents: c.Contents}
	c.placeSystem(body)
	return body
}

// signFunctionCalls gives every model turn that replays function calls a thought signature when the
// client did not keep Google's: Gemini 3 refuses such history otherwise. Only the first call of a turn
// carries one (that is where Gemini puts it in parallel calls).
func (c *Conversation) signFunctionCalls() {
	if !IsGemini3(c.Model.Real) {
		return
	}
	for i := range c.Contents {
		turn := &c.Contents[i]
		if turn.Role != "model" {
			continue
		}
		first, signed := -1, false
		for j := range turn.Parts {
			if turn.Parts[j].FunctionCall == nil {
				continue
			}
			if first < 0 {
				first = j
			}
			signed = signed || turn.Parts[j].ThoughtSignature != ""
		}
		if first >= 0 && !signed {
			turn.Parts[first].ThoughtSignature = SkipSignature
		}
	}
}

// placeSystem sets the system instruction. Image-output models refuse one ("Developer instruction is
// not enabled"), so there it leads the first user turn instead; a conversation of system messages only
// is sent as the user turn it stands for, since Gemini needs at least one content.
func (c *Conversation) placeSystem(body *gemini.GenerateContentRequest) {
	if len(c.System) == 0 {
		return
	}
	switch {
	case len(body.Contents) == 0:
		body.Contents = []gemini.Content{{Role: "user", Parts: c.System}}
	case c.Model.Image:
		for i := range body.Contents {
			if body.Contents[i].Role == "user" {
				body.Contents[i].Parts = append(slices.Clip(c.System), body.Contents[i].Parts...)
				return
			}
		}
		body.Contents = append([]gemini.Content{{Role: "user", Parts: c.System}}, body.Contents...)
	default:
		body.SystemInstruction = &gemini.Content{Parts: c.System}
	}
}
