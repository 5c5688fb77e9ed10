package fakeupstream

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"
)

type countRequest struct {
	Contents                    []content   `json:"contents"`
	GenerateContentRequest      *genRequest `json:"generateContentRequest"`
	GenerateContentRequestSnake *genRequest `json:"generate_content_request"`
}

type countResponse struct {
	TotalTokens         int             `json:"totalTokens"`
	PromptTokensDetails []modalityCount `json:"promptTokensDetails"`
}

func (s *Server) serveCountTokens(c *call) {
	req := c.req.(*countRequest)
	chars, ok := req.chars()
	if !ok {
		s.writeError(c, badRequest("* CountTokensRequest.contents: contents is not specified\n"))
		return
	}
	n := tokens(chars)
	writeJSON(c.w, countResponse{TotalTokens: n, PromptTokensDetails: []modalityCount{{Modality: "TEXT", TokenCount: n}}})
}

// chars counts either form countTokens accepts: bare contents, or a whole GenerateContentRequest.
func (r *countRequest) chars() (int, bool) {
	for _, g := range [...]*genRequest{r.GenerateContentRequest, r.GenerateContentRequestSnake} {
		if g != nil && len(g.Contents) > 0 {
			return promptChars(g), true
		}
	}
	return contentsChars(r.Contents), len(r.Contents) > 0
}

type embedRequest struct {
	Model                     string   `json:"model"`
	Content                   *content `json:"content"`
	OutputDimensionality      int      `json:"outputDimensionality"`
	OutputDimensionalitySnake int      `json:"output_dimensionality"`
}

type batchEmbedRequest struct {
	Requests []embedRequest `json:"requests"`
}

type embedding struct {
	Values []float32 `json:"values"`
}

const maxBatchEmbed = 100

func (s *Server) serveEmbed(c *call) {
	req := c.req.(*embedRequest)
	if req.Content == nil || len(req.Content.Parts) == 0 {
		s.writeError(c, badRequest("* EmbedContentRequest.content: content is not specified\n"))
		return
	}
	e := embedding{Values: embedVector(joinText(req.Content.Parts), req.dims(modelByID[c.model]))}
	writeJSON(c.w, struct {
		Embedding embedding `json:"embedding"`
	}{e})
}

func (s *Server) serveBatchEmbed(c *call) {
	req := c.req.(*batchEmbedRequest)
	if e := validateBatch(req.Requests, c.model); e != nil {
		s.writeError(c, e)
		return
	}
	m := modelByID[c.model]
	out := make([]embedding, len(req.Requests))
	for i := range req.Requests {
		r := &req.Requests[i]
		out[i] = embedding{Values: embedVector(joinText(r.Content.Parts), r.dims(m))}
	}
	writeJSON(c.w, struct {
		Embeddings []embedding `json:"embeddings"`
	}{out})
}

// validateBatch reports every violation in one message, one "* field: problem" line each, like Google.
func validateBatch(reqs []embedRequest, model string) *apiError {
	var lines strings.Builder
	if len(reqs) == 0 {
		lines.WriteString("* BatchEmbedContentsRequest.requests: requests is not specified\n")
	}
	if len(reqs) > maxBatchEmbed {
		fmt.Fprintf(&lines, "* BatchEmbedContentsRequest.requests: at most %d requests can be in one batch\n", maxBatchEmbed)
	}
	for i, r := range reqs {
		field := fmt.Sprintf("* BatchEmbedContentsRequest.requests[%d]", i)
		switch {
		case r.Model == "":
			lines.WriteString(field + ".model: model is not specified\n")
		case !strings.HasPrefix(r.Model, "models/"):
			lines.WriteString(field + ".model: unexpected model name format\n")
		case r.Model != "models/"+model:
			lines.WriteString(field + ".model: model must be the same as the batch request model models/" + model + "\n")
		}
		if r.Content == nil || len(r.Content.Parts) == 0 {
			lines.WriteString(field + ".content: content is not specified\n")
		}
	}
	if lines.Len() == 0 {
		return nil
	}
	return badRequest(lines.String())
}

// dims honours outputDimensionality up to the model's native size, which is also the default.
func (r *embedRequest) dims(m *Model) int {
	return clampDims(max(r.OutputDimensionality, r.OutputDimensionalitySnake), m)
}

func clampDims(asked int, m *Model) int {
	native := 768
	if m != nil && m.embedDims > 0 {
		native = m.embedDims
	}
	if asked <= 0 || asked > native {
		return native
	}
	return asked
}

// embedVector derives a unit vector from the text alone, so equal texts embed equally across keys and runs.
func embedVector(text string, dims int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(text))
	state := h.Sum64()
	raw := make([]float64, dims)
	var norm float64
	for i := range raw {
		state += 0x9e3779b97f4a7c15
		raw[i] = float64(splitmix(state)>>11)/(1<<53)*2 - 1
		norm += raw[i] * raw[i]
	}
	norm = math.Sqrt(norm)
	out := make([]float32, dims)
	for i, v := range raw {
		out[i] = float32(v / norm)
	}
	return out
}

func splitmix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
