package fakeupstream

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
)

// Model is a models.get answer. Field order and values follow real answers of
// generativelanguage.googleapis.com/v1beta/models (2025-2026), so gateways can be tested on filtering them.
type Model struct {
	Name                       string   `json:"name"`
	Version                    string   `json:"version"`
	DisplayName                string   `json:"displayName"`
	Description                string   `json:"description"`
	InputTokenLimit            int      `json:"inputTokenLimit"`
	OutputTokenLimit           int      `json:"outputTokenLimit"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
	Temperature                float64  `json:"temperature,omitempty"`
	TopP                       float64  `json:"topP,omitempty"`
	TopK                       int      `json:"topK,omitempty"`
	MaxTemperature             float64  `json:"maxTemperature,omitempty"`
	Thinking                   bool     `json:"thinking,omitempty"`

	// deprecated models are still listed but refuse calls, as gemini-1.0-pro-vision-latest does.
	deprecated string
	// embedDims is the default embedding size of embedding models.
	embedDims int
}

var (
	methodsChat    = []string{"generateContent", "countTokens", "createCachedContent", "batchGenerateContent"}
	methodsExp     = []string{"generateContent", "countTokens", "bidiGenerateContent"}
	methodsImage   = []string{"generateContent", "countTokens", "batchGenerateContent"}
	methodsFlashTT = []string{"countTokens", "generateContent"}
	methodsProTTS  = []string{"countTokens", "generateContent", "batchGenerateContent"}
	methodsEmbed   = []string{"embedContent"}
	methodsGemEmb  = []string{"embedContent", "countTextTokens", "countTokens", "asyncBatchEmbedContent"}
	methodsLegacy  = []string{"generateContent", "countTokens"}
)

func chatModel(id, version, display, desc string, out int, topK int, thinking bool) *Model {
	return &Model{
		Name: "models/" + id, Version: version, DisplayName: display, Description: desc,
		InputTokenLimit: 1048576, OutputTokenLimit: out, SupportedGenerationMethods: methodsChat,
		Temperature: 1, TopP: 0.95, TopK: topK, MaxTemperature: 2, Thinking: thinking,
	}
}

func catalogue() []*Model {
	return []*Model{
		{
			Name: "models/embedding-gecko-001", Version: "001", DisplayName: "Embedding Gecko",
			Description: "Obtain a distributed representation of a text.", InputTokenLimit: 1024, OutputTokenLimit: 1,
			SupportedGenerationMethods: []string{"embedText", "countTextTokens"},
		},
		{
			Name: "models/gemini-1.0-pro-vision-latest", Version: "001", DisplayName: "Gemini 1.0 Pro Vision",
			Description:     "The original Gemini 1.0 Pro Vision model version which was optimized for image understanding. Gemini 1.0 Pro Vision was deprecated on July 12, 2024. Move to a newer Gemini version.",
			InputTokenLimit: 12288, OutputTokenLimit: 4096, SupportedGenerationMethods: methodsLegacy,
			Temperature: 0.4, TopP: 1, TopK: 32,
			deprecated: "Gemini 1.0 Pro Vision has been deprecated on July 12, 2024. Consider switching to different model, for example gemini-1.5-flash.",
		},
		chatModel("gemini-2.5-flash", "001", "Gemini 2.5 Flash", "Stable version of Gemini 2.5 Flash, our mid-size multimodal model that supports up to 1 million tokens, released in June of 2025.", 65536, 64, true),
		chatModel("gemini-2.5-pro", "2.5", "Gemini 2.5 Pro", "Stable release (June 17th, 2025) of Gemini 2.5 Pro", 65536, 64, true),
		{
			Name: "models/gemini-2.0-flash-exp", Version: "2.0", DisplayName: "Gemini 2.0 Flash Experimental",
			Description: "Gemini 2.0 Flash Experimental", InputTokenLimit: 1048576, OutputTokenLimit: 8192,
			SupportedGenerationMethods: methodsExp, Temperature: 1, TopP: 0.95, TopK: 40, MaxTemperature: 2,
		},
		chatModel("gemini-2.0-flash", "2.0", "Gemini 2.0 Flash", "Gemini 2.0 Flash", 8192, 40, false),
		chatModel("gemini-2.0-flash-001", "2.0", "Gemini 2.0 Flash 001", "Stable version of Gemini 2.0 Flash, our fast and versatile multimodal model for scaling across diverse tasks, released in January of 2025.", 8192, 40, false),
		chatModel("gemini-2.0-flash-lite", "2.0", "Gemini 2.0 Flash-Lite", "Gemini 2.0 Flash-Lite", 8192, 40, false),
		{
			Name: "models/gemini-2.5-flash-preview-tts", Version: "gemini-2.5-flash-exp-tts-2025-05-19",
			DisplayName: "Gemini 2.5 Flash Preview TTS", Description: "Gemini 2.5 Flash Preview TTS",
			InputTokenLimit: 8192, OutputTokenLimit: 16384, SupportedGenerationMethods: methodsFlashTT,
			Temperature: 1, TopP: 0.95, TopK: 64, MaxTemperature: 2,
		},
		{
			Name: "models/gemini-2.5-pro-preview-tts", Version: "gemini-2.5-pro-preview-tts-2025-05-19",
			DisplayName: "Gemini 2.5 Pro Preview TTS", Description: "Gemini 2.5 Pro Preview TTS",
			InputTokenLimit: 8192, OutputTokenLimit: 16384, SupportedGenerationMethods: methodsProTTS,
			Temperature: 1, TopP: 0.95, TopK: 64, MaxTemperature: 2,
		},
		chatModel("gemini-flash-latest", "Gemini Flash Latest", "Gemini Flash Latest", "Latest release of Gemini Flash", 65536, 64, true),
		chatModel("gemini-flash-lite-latest", "Gemini Flash-Lite Latest", "Gemini Flash-Lite Latest", "Latest release of Gemini Flash-Lite", 65536, 64, true),
		chatModel("gemini-pro-latest", "Gemini Pro Latest", "Gemini Pro Latest", "Latest release of Gemini Pro", 65536, 64, true),
		// Gemini 3 previews: gemini-cli's default model chain (gemini-3.1-pro-preview, falling back to
		// gemini-3-flash-preview) asks for them.
		chatModel("gemini-3-pro-preview", "3-pro-preview-11-2025", "Gemini 3 Pro Preview", "Gemini 3 Pro Preview", 65536, 64, true),
		chatModel("gemini-3.1-pro-preview", "3.1-pro-preview-02-2026", "Gemini 3.1 Pro Preview", "Gemini 3.1 Pro Preview", 65536, 64, true),
		chatModel("gemini-3-flash-preview", "3-flash-preview-12-2025", "Gemini 3 Flash Preview", "Gemini 3 Flash Preview", 65536, 64, true),
		chatModel("gemini-2.5-flash-lite", "001", "Gemini 2.5 Flash-Lite", "Stable version of Gemini 2.5 Flash-Lite, released in July of 2025", 65536, 64, true),
		{
			Name: "models/gemini-2.5-flash-image-preview", Version: "2.0", DisplayName: "Nano Banana",
			Description: "Gemini 2.5 Flash Preview Image", InputTokenLimit: 32768, OutputTokenLimit: 32768,
			SupportedGenerationMethods: methodsImage, Temperature: 1, TopP: 0.95, TopK: 64, MaxTemperature: 1,
		},
		{
			Name: "models/gemini-2.5-flash-image", Version: "2.0", DisplayName: "Nano Banana",
			Description: "Gemini 2.5 Flash Preview Image", InputTokenLimit: 32768, OutputTokenLimit: 32768,
			SupportedGenerationMethods: methodsImage, Temperature: 1, TopP: 0.95, TopK: 64, MaxTemperature: 1,
		},
		{
			Name: "models/embedding-001", Version: "001", DisplayName: "Embedding 001",
			Description: "Obtain a distributed representation of a text.", InputTokenLimit: 2048, OutputTokenLimit: 1,
			SupportedGenerationMethods: methodsEmbed, embedDims: 768,
		},
		{
			Name: "models/text-embedding-004", Version: "004", DisplayName: "Text Embedding 004",
			Description: "Obtain a distributed representation of a text.", InputTokenLimit: 2048, OutputTokenLimit: 1,
			SupportedGenerationMethods: methodsEmbed, embedDims: 768,
		},
		{
			Name: "models/gemini-embedding-001", Version: "001", DisplayName: "Gemini Embedding 001",
			Description: "Obtain a distributed representation of a text.", InputTokenLimit: 2048, OutputTokenLimit: 1,
			SupportedGenerationMethods: methodsGemEmb, embedDims: 3072,
		},
		{
			Name: "models/aqa", Version: "001", DisplayName: "Model that performs Attributed Question Answering.",
			Description:     "Model trained to return answers to questions that are grounded in provided sources, along with estimating answerable probability.",
			InputTokenLimit: 7168, OutputTokenLimit: 1024, SupportedGenerationMethods: []string{"generateAnswer"},
			Temperature: 0.2, TopP: 1, TopK: 40,
		},
		{
			Name: "models/veo-3.0-generate-001", Version: "3.0", DisplayName: "Veo 3",
			Description: "Veo 3", InputTokenLimit: 480, OutputTokenLimit: 8192,
			SupportedGenerationMethods: []string{"predictLongRunning"},
		},
		{
			Name: "models/imagen-3.0-generate-002", Version: "002", DisplayName: "Imagen 3.0",
			Description: "Vertex served Imagen 3.0 002 model", InputTokenLimit: 480, OutputTokenLimit: 8192,
			SupportedGenerationMethods: []string{"predict"},
		},
	}
}

// Models returns a copy of the simulated catalogue, in the order models.list answers it.
func Models() []Model {
	out := make([]Model, len(modelList))
	for i, m := range modelList {
		out[i] = *m
		out[i].SupportedGenerationMethods = slices.Clone(m.SupportedGenerationMethods)
	}
	return out
}

var (
	modelList = catalogue()
	modelByID = indexModels(modelList)
	// modelJSON holds each models.get answer, marshalled once because model lookups are hot in benchmarks.
	modelJSON = marshalModels(modelList)
)

func indexModels(ms []*Model) map[string]*Model {
	idx := make(map[string]*Model, len(ms))
	for _, m := range ms {
		idx[m.ID()] = m
	}
	return idx
}

func marshalModels(ms []*Model) map[string][]byte {
	out := make(map[string][]byte, len(ms))
	for _, m := range ms {
		b, err := json.Marshal(m)
		if err != nil {
			panic(err)
		}
		out[m.ID()] = b
	}
	return out
}

// ID is the model name without its "models/" prefix.
func (m *Model) ID() string { return m.Name[len("models/"):] }

func (m *Model) supports(method string) bool {
	return slices.Contains(m.SupportedGenerationMethods, method)
}

const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// pageTokenFor is opaque to clients, like Google's, but is only an offset: the catalogue never changes.
func pageTokenFor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func offsetFromToken(tok string) (int, bool) {
	if tok == "" {
		return 0, true
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) < len("offset:") || string(raw[:len("offset:")]) != "offset:" {
		return 0, false
	}
	n, err := strconv.Atoi(string(raw[len("offset:"):]))
	if err != nil || n < 0 || n > len(modelList) {
		return 0, false
	}
	return n, true
}

type modelPage struct {
	Models        []*Model `json:"models"`
	NextPageToken string   `json:"nextPageToken,omitempty"`
}

func pageSizeFrom(raw string) int {
	n, err := strconv.Atoi(raw)
	if err != nil || n <= 0 {
		return defaultPageSize
	}
	return min(n, maxPageSize)
}

func listPage(offset, size int) modelPage {
	end := min(offset+size, len(modelList))
	p := modelPage{Models: modelList[offset:end]}
	if end < len(modelList) {
		p.NextPageToken = pageTokenFor(end)
	}
	return p
}

func (s *Server) serveModelList(c *call) {
	q := c.r.URL.Query()
	offset, ok := offsetFromToken(q.Get("pageToken"))
	if !ok {
		s.writeError(c, badRequest("Invalid page token."))
		return
	}
	writeJSON(c.w, listPage(offset, pageSizeFrom(q.Get("pageSize"))))
}

func (s *Server) serveModelGet(c *call) {
	writeRaw(c.w, modelJSON[c.model])
}

// openAIModel is the entry of Google's OpenAI-compatible /models; created is fixed so answers are
// reproducible.
type openAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

const openAIModelCreated = 1686935002

func toOpenAIModel(m *Model) openAIModel {
	return openAIModel{ID: m.Name, Object: "model", Created: openAIModelCreated, OwnedBy: "google"}
}

func (s *Server) serveOpenAIModels(c *call) {
	data := make([]openAIModel, len(modelList))
	for i, m := range modelList {
		data[i] = toOpenAIModel(m)
	}
	writeJSON(c.w, struct {
		Object string        `json:"object"`
		Data   []openAIModel `json:"data"`
	}{"list", data})
}

func (s *Server) serveOpenAIModel(c *call) {
	writeJSON(c.w, toOpenAIModel(modelByID[c.model]))
}
