package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/limits"
	"github.com/gemgate/gemgate/internal/models"
	"github.com/gemgate/gemgate/internal/upstream"
)

const (
	// defaultEmbeddingModel serves requests that name no model: Google's current text embedding model
	// (text-embedding-004 is being retired).
	defaultEmbeddingModel = "gemini-embedding-001"
	// maxEmbedBatch is the most requests batchEmbedContents accepts in one call.
	maxEmbedBatch = 100
	// maxEmbedInputs is OpenAI's own limit on inputs per request.
	maxEmbedInputs = 2048
)

// embeddingRequest is OpenAI's embeddings request; user is accepted and ignored.
type embeddingRequest struct {
	Input          json.RawMessage `json:"input"`
	Model          string          `json:"model"`
	Dimensions     *int            `json:"dimensions"`
	EncodingFormat string          `json:"encoding_format"`
	User           string          `json:"user"`
}

// embeddingError is a problem with the client's request, with the offending parameter.
type embeddingError struct {
	status           int
	msg, param, code string
}

func (e *embeddingError) Error() string { return e.msg }

func embeddingParamError(param, format string, args ...any) error {
	return &embeddingError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...), param: param}
}

// embeddingInputs accepts a string or an array of strings. Token arrays are refused: Gemini embeds
// text, and the tokens of OpenAI's tokenizers cannot be turned back into it here.
func embeddingInputs(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, embeddingParamError("input", "'input' is a required property.")
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil, embeddingParamError("input", "'input' cannot be an empty string.")
		}
		return []string{one}, nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, embeddingParamError("input", "'input' must be a string or an array of strings.")
	}
	if len(items) == 0 {
		return nil, embeddingParamError("input", "'input' cannot be an empty array.")
	}
	if len(items) > maxEmbedInputs {
		return nil, embeddingParamError("input", "'input' has %d items; at most %d are allowed.", len(items), maxEmbedInputs)
	}
	out := make([]string, len(items))
	for i, it := range items {
		if json.Unmarshal(it, &out[i]) != nil {
			if isTokenArray(it) {
				return nil, embeddingParamError("input", "Token arrays are not supported: Gemini embeds text, so send 'input' as a string or an array of strings.")
			}
			return nil, embeddingParamError("input", "'input[%d]' must be a string.", i)
		}
		if out[i] == "" {
			return nil, embeddingParamError("input", "'input[%d]' cannot be an empty string.", i)
		}
	}
	return out, nil
}

func isTokenArray(raw json.RawMessage) bool {
	var n float64
	var ns []float64
	return json.Unmarshal(raw, &n) == nil || json.Unmarshal(raw, &ns) == nil
}

// parseEmbeddingRequest checks an OpenAI request and resolves its model.
func parseEmbeddingRequest(snap *config.Snapshot, body []byte) (embeddingRequest, []string, models.Resolved, error) {
	var req embeddingRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return req, nil, models.Resolved{}, embeddingParamError("", "We could not parse the JSON body of your request: %v", err)
	}
	inputs, err := embeddingInputs(req.Input)
	if err != nil {
		return req, nil, models.Resolved{}, err
	}
	if req.Model = strings.TrimSpace(req.Model); req.Model == "" {
		req.Model = defaultEmbeddingModel
	}
	switch req.EncodingFormat {
	case "":
		req.EncodingFormat = "float"
	case "float", "base64":
	default:
		return req, nil, models.Resolved{}, embeddingParamError("encoding_format", "'encoding_format' must be 'float' or 'base64', not %q.", req.EncodingFormat)
	}
	if req.Dimensions != nil && *req.Dimensions < 1 {
		return req, nil, models.Resolved{}, embeddingParamError("dimensions", "'dimensions' must be at least 1.")
	}
	res := models.Resolve(snap, req.Model)
	if err := models.Check(snap, res); err != nil {
		return req, nil, models.Resolved{}, modelError(snap, res, err)
	}
	return req, inputs, res, nil
}

// batchBody is Gemini's batchEmbedContents request for inputs on model.
func batchBody(model string, inputs []string, dims *int) []byte {
	type part struct {
		Text string `json:"text"`
	}
	type content struct {
		Parts []part `json:"parts"`
	}
	type item struct {
		Model                string  `json:"model"`
		Content              content `json:"content"`
		OutputDimensionality *int    `json:"outputDimensionality,omitempty"`
	}
	items := make([]item, len(inputs))
	for i, in := range inputs {
		items[i] = item{Model: "models/" + model, Content: content{Parts: []part{{Text: in}}}, OutputDimensionality: dims}
	}
	body, _ := json.Marshal(struct {
		Requests []item `json:"requests"`
	}{items})
	return body
}

// batchAnswer is Gemini's batchEmbedContents answer. The values stay raw so float answers carry
// exactly the digits Google sent.
type batchAnswer struct {
	Embeddings []struct {
		Values json.RawMessage `json:"values"`
	} `json:"embeddings"`
	UsageMetadata *struct {
		PromptTokenCount int `json:"promptTokenCount"`
		TotalTokenCount  int `json:"totalTokenCount"`
	} `json:"usageMetadata"`
}

type embeddingObject struct {
	Object    string          `json:"object"`
	Index     int             `json:"index"`
	Embedding json.RawMessage `json:"embedding"`
}

type embeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

type embeddingResponse struct {
	Object string            `json:"object"`
	Data   []embeddingObject `json:"data"`
	Model  string            `json:"model"`
	Usage  embeddingUsage    `json:"usage"`
}

// embeddingObjects converts one batch answer, numbering from offset.
func embeddingObjects(body []byte, want, offset int, format string) ([]embeddingObject, int, error) {
	var ans batchAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, 0, errors.New("Gemini answered batchEmbedContents with invalid JSON")
	}
	if len(ans.Embeddings) != want {
		return nil, 0, fmt.Errorf("Gemini returned %d embeddings for %d inputs", len(ans.Embeddings), want)
	}
	out := make([]embeddingObject, want)
	for i, e := range ans.Embeddings {
		vec := e.Values
		if format == "base64" {
			enc, err := base64Vector(e.Values)
			if err != nil {
				return nil, 0, err
			}
			vec = enc
		}
		out[i] = embeddingObject{Object: "embedding", Index: offset + i, Embedding: vec}
	}
	tokens := 0
	if ans.UsageMetadata != nil {
		tokens = ans.UsageMetadata.PromptTokenCount
	}
	return out, tokens, nil
}

// base64Vector encodes values as OpenAI's SDKs expect: little-endian float32s, base64, as a JSON string.
func base64Vector(values json.RawMessage) (json.RawMessage, error) {
	var fs []float64
	if err := json.Unmarshal(values, &fs); err != nil {
		return nil, errors.New("Gemini answered an embedding that is not a list of numbers")
	}
	buf := make([]byte, 4*len(fs))
	for i, f := range fs {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(float32(f)))
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(buf))
}

// estimateEmbeddingTokens approximates Gemini's count (about four characters a token) when it reports none.
func estimateEmbeddingTokens(inputs []string) int {
	n := 0
	for _, s := range inputs {
		n += (utf8.RuneCountInString(s) + 3) / 4
	}
	return n
}

// embeddings serves OpenAI's /v1/embeddings with Gemini's batchEmbedContents: one upstream call per
// 100 inputs (Google's batch limit), so a typical request costs one call instead of one per input.
func (h *Handler) embeddings(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings()
	body, ok := readClientBody(w, r, snap)
	if !ok {
		return
	}
	req, inputs, res, err := parseEmbeddingRequest(snap, body)
	if err != nil {
		writeEmbeddingError(w, err)
		return
	}
	out := embeddingResponse{Object: "list", Data: make([]embeddingObject, 0, len(inputs)), Model: req.Model}
	reported := 0
	for start := 0; start < len(inputs); start += maxEmbedBatch {
		chunk := inputs[start:min(start+maxEmbedBatch, len(inputs))]
		resp, err := h.Exec.Do(r.Context(), upstream.Call{
			Path:  "models/" + res.Real + ":batchEmbedContents",
			Body:  batchBody(res.Real, chunk, req.Dimensions),
			Model: req.Model,
		})
		if err != nil {
			WriteUpstreamError(w, err)
			return
		}
		if resp.StatusCode != http.StatusOK {
			WriteClientError(w, resp)
			return
		}
		objs, tokens, err := embeddingObjects(resp.Body, len(chunk), start, req.EncodingFormat)
		if err != nil {
			WriteError(w, http.StatusBadGateway, err.Error(), TypeUpstream, "upstream_error", "")
			return
		}
		out.Data = append(out.Data, objs...)
		reported += tokens
	}
	if reported == 0 {
		reported = estimateEmbeddingTokens(inputs)
	}
	out.Usage = embeddingUsage{PromptTokens: reported, TotalTokens: reported}
	writeJSONBody(w, http.StatusOK, out)
}

// modelError answers a hidden model as OpenAI answers a model that does not exist, and a variant that
// is not offered as a bad parameter.
func modelError(snap *config.Snapshot, res models.Resolved, err error) error {
	if slices.Contains(config.FilteredModels.Get(snap), res.Real) {
		return &embeddingError{status: http.StatusNotFound, msg: "The model '" + res.Requested + "' does not exist or is not offered by this gateway.",
			param: "model", code: "model_not_found"}
	}
	return embeddingParamError("model", "%s.", err.Error())
}

func writeEmbeddingError(w http.ResponseWriter, err error) {
	var re *embeddingError
	if errors.As(err, &re) {
		WriteError(w, re.status, re.msg, TypeInvalidRequest, re.code, re.param)
		return
	}
	WriteError(w, http.StatusBadRequest, err.Error(), TypeInvalidRequest, "", "")
}

// readClientBody reads the request body up to MAX_REQUEST_BODY_MB, answering the error itself.
func readClientBody(w http.ResponseWriter, r *http.Request, snap *config.Snapshot) ([]byte, bool) {
	limit := int64(config.MaxRequestBodyMB.Get(snap)) << 20
	body, err := limits.ReadBody(w, r, limit)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			WriteError(w, http.StatusRequestEntityTooLarge, "Request body is larger than MAX_REQUEST_BODY_MB.",
				TypeInvalidRequest, "request_too_large", "")
		} else {
			WriteError(w, http.StatusBadRequest, "Could not read the request body: "+err.Error(), TypeInvalidRequest, "", "")
		}
		return nil, false
	}
	return body, true
}
