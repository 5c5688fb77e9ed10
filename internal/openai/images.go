package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/publicurl"
	"github.com/gemgate/gemgate/internal/translate"
	"github.com/gemgate/gemgate/internal/upstream"
)

// ImageHost gives generated images a link: chat answers show them as Markdown, the images endpoint
// answers their URL.
type ImageHost interface {
	ImageSink
	// ImageURL returns a link to the base64 image: a hosted one, or a data: URL when hosting failed.
	ImageURL(ctx context.Context, mimeType, data string) string
}

func (dataURLImages) ImageURL(_ context.Context, mimeType, data string) string {
	return "data:" + mimeType + ";base64," + data
}

// PaidKey picks what Imagen calls run on: PAID_KEY's executor and key, or (PAID_KEY unset) the pool's
// executor and a nil key, which lets the pool choose.
type PaidKey func(snap *config.Snapshot) (*upstream.Executor, *keypool.Key)

// imagesRequest is OpenAI's images.generate body; quality, style and user have no Imagen meaning.
type imagesRequest struct {
	Model          string `json:"model"`
	Prompt         string `json:"prompt"`
	N              *int   `json:"n"`
	Size           string `json:"size"`
	ResponseFormat string `json:"response_format"`
}

// maxImages is Imagen's sampleCount limit.
const maxImages = 4

// sizeRatios maps OpenAI's sizes (DALL·E 2 and 3, gpt-image-1) and Imagen's own output sizes to the
// aspect ratios Imagen takes. The reference accepted only three and mistyped one as 1027x1792.
var sizeRatios = map[string]string{
	"": "1:1", "auto": "1:1",
	"256x256": "1:1", "512x512": "1:1", "1024x1024": "1:1",
	"1792x1024": "16:9", "1024x1792": "9:16",
	"1536x1024": "4:3", "1024x1536": "3:4",
	"1408x768": "16:9", "768x1408": "9:16", "1280x896": "4:3", "896x1280": "3:4",
}

// imagenRatios are the aspect ratios Imagen supports.
var imagenRatios = []string{"1:1", "3:4", "4:3", "9:16", "16:9"}

var (
	nDirective     = regexp.MustCompile(`\{n:\s*(\d+)\s*\}`)
	ratioDirective = regexp.MustCompile(`\{ratio:\s*(\d+)\s*:\s*(\d+)\s*\}`)
)

// imagine is one Imagen request.
type imagine struct {
	prompt string // without directives; also the answer's revised_prompt
	n      int
	ratio  string
	model  string // the Imagen model to call
	asked  string // the model as the client named it, for the logs
}

// parseDirectives reads the reference's prompt directives: {n:K} asks for K images (1-4) and {ratio:W:H}
// for an aspect ratio; both are taken out of the prompt. A directive wins over the request's n and size,
// except that {n:1} leaves the request's n alone, as in the reference.
func (im *imagine) parseDirectives() error {
	if m := nDirective.FindStringSubmatch(im.prompt); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 || n > maxImages {
			return invalidParam("prompt", "The prompt directive {n:%s} asks for %s images; Imagen makes 1 to %d.", m[1], m[1], maxImages)
		}
		if n > 1 {
			im.n = n
		}
	}
	if m := ratioDirective.FindStringSubmatch(im.prompt); m != nil {
		ratio := m[1] + ":" + m[2]
		if !slices.Contains(imagenRatios, ratio) {
			return invalidParam("prompt", "The prompt directive {ratio:%s} is not an aspect ratio Imagen supports (%s).", ratio, strings.Join(imagenRatios, ", "))
		}
		im.ratio = ratio
	}
	im.prompt = strings.TrimSpace(ratioDirective.ReplaceAllString(nDirective.ReplaceAllString(im.prompt, ""), ""))
	if im.prompt == "" {
		return invalidParam("prompt", "The prompt is empty once its directives are taken out.")
	}
	return nil
}

// newImagine checks an images request.
func newImagine(snap *config.Snapshot, req *imagesRequest) (*imagine, error) {
	im := &imagine{prompt: req.Prompt, n: 1, model: config.CreateImageModel.Get(snap), asked: req.Model}
	// Clients name OpenAI's models (dall-e-3, gpt-image-1); only an Imagen model name is taken as asked.
	if strings.HasPrefix(req.Model, "imagen-") && translate.PlainModelID(req.Model) {
		im.model = req.Model
	}
	if im.asked == "" {
		im.asked = im.model
	}
	if strings.TrimSpace(req.Prompt) == "" {
		return nil, invalidParam("prompt", "Missing required parameter: 'prompt'.")
	}
	if req.N != nil {
		if *req.N < 1 || *req.N > maxImages {
			return nil, invalidParam("n", "'n' is %d; Imagen makes 1 to %d images per request.", *req.N, maxImages)
		}
		im.n = *req.N
	}
	ratio, ok := sizeRatios[strings.ToLower(strings.TrimSpace(req.Size))]
	if !ok {
		return nil, invalidParam("size", "'size' %q is not supported; use one of 1024x1024, 1792x1024, 1024x1792, 1536x1024, 1024x1536 (or a {ratio:W:H} directive in the prompt).", req.Size)
	}
	im.ratio = ratio
	return im, im.parseDirectives()
}

// predictRequest is Imagen's :predict body (ai.google.dev/api/models#method:-models.predict), with the
// generation settings the reference used: PNG output, adults allowed, the strictest safety filter (the
// only one the Gemini API accepts), and the reason of filtered images so it can be reported.
func (im *imagine) predictRequest() ([]byte, error) {
	return json.Marshal(map[string]any{
		"instances": []any{map[string]string{"prompt": im.prompt}},
		"parameters": map[string]any{
			"sampleCount":      im.n,
			"aspectRatio":      im.ratio,
			"personGeneration": "allow_adult",
			"safetySetting":    "block_low_and_above",
			"includeRaiReason": true,
			"outputOptions":    map[string]string{"mimeType": "image/png"},
		},
	})
}

type predictResponse struct {
	Predictions []struct {
		BytesBase64Encoded string `json:"bytesBase64Encoded"`
		MimeType           string `json:"mimeType"`
		RaiFilteredReason  string `json:"raiFilteredReason"`
	} `json:"predictions"`
}

type generatedImage struct{ mimeType, data string }

// generate runs the Imagen call. On failure it returns how to answer the client instead.
func (h *Handler) generate(ctx context.Context, snap *config.Snapshot, im *imagine) ([]generatedImage, func(http.ResponseWriter)) {
	body, err := im.predictRequest()
	if err != nil {
		return nil, func(w http.ResponseWriter) { writeChatError(w, fmt.Errorf("encoding the Imagen request: %w", err)) }
	}
	exec, key := h.Exec, (*keypool.Key)(nil)
	if h.Paid != nil {
		exec, key = h.Paid(snap)
	}
	resp, err := exec.Do(ctx, upstream.Call{Path: "models/" + im.model + ":predict", Body: body, Model: im.asked, QuotaModel: im.model, Key: key})
	switch {
	case err != nil:
		return nil, func(w http.ResponseWriter) { WriteUpstreamError(w, err) }
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, func(w http.ResponseWriter) { writeRefusal(w, resp) }
	}
	return decodePredictions(resp.Body)
}

// decodePredictions reads Imagen's answer. No image at all means the safety filter took them, which
// OpenAI reports as a content policy violation.
func decodePredictions(body []byte) ([]generatedImage, func(http.ResponseWriter)) {
	var out predictResponse
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, func(w http.ResponseWriter) {
			WriteError(w, http.StatusBadGateway, "Imagen answered with something that is not a predict response.", TypeUpstream, "upstream_error", "")
		}
	}
	var images []generatedImage
	var reasons []string
	for _, p := range out.Predictions {
		switch {
		case p.BytesBase64Encoded != "":
			mt := p.MimeType
			if mt == "" {
				mt = "image/png"
			}
			images = append(images, generatedImage{mt, p.BytesBase64Encoded})
		case p.RaiFilteredReason != "":
			reasons = append(reasons, p.RaiFilteredReason)
		}
	}
	if len(images) == 0 {
		msg := "Imagen made no image for this prompt; Google's safety filters probably blocked it."
		if len(reasons) > 0 {
			msg = "Imagen made no image: " + strings.Join(reasons, " ")
		}
		return nil, func(w http.ResponseWriter) {
			WriteError(w, http.StatusBadRequest, msg, TypeInvalidRequest, "content_policy_violation", "prompt")
		}
	}
	return images, nil
}

type imagesResponse struct {
	Created int64       `json:"created"`
	Data    []imageData `json:"data"`
}

type imageData struct {
	URL           string `json:"url,omitempty"`
	B64JSON       string `json:"b64_json,omitempty"`
	RevisedPrompt string `json:"revised_prompt"`
}

// images serves POST /v1/images/generations (and /hf/v1, /openai/v1) with Imagen.
func (h *Handler) images(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings()
	body, err := readChatBody(w, r, snap)
	if err != nil {
		writeChatError(w, err)
		return
	}
	var req imagesRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeChatError(w, invalidParam("", "We could not parse the JSON body of your request: %v.", jsonError(err).msg))
		return
	}
	format := strings.ToLower(req.ResponseFormat)
	if format == "" && strings.HasPrefix(req.Model, "gpt-image") {
		format = "b64_json" // OpenAI's gpt-image models always answer base64, and their clients expect it
	}
	if format != "" && format != "url" && format != "b64_json" {
		writeChatError(w, invalidParam("response_format", "'response_format' must be url or b64_json, not %q.", req.ResponseFormat))
		return
	}
	im, err := newImagine(snap, &req)
	if err != nil {
		writeChatError(w, err)
		return
	}
	images, fail := h.generate(r.Context(), snap, im)
	if fail != nil {
		fail(w)
		return
	}
	ctx := h.mediaContext(r, snap)
	out := imagesResponse{Created: time.Now().Unix(), Data: make([]imageData, len(images))}
	for i, img := range images {
		out.Data[i].RevisedPrompt = im.prompt
		if format == "b64_json" {
			out.Data[i].B64JSON = img.data
		} else {
			out.Data[i].URL = h.imageHost().ImageURL(ctx, img.mimeType, img.data)
		}
	}
	writeChatJSON(w, out)
}

// imageHost is where generated images go: the configured host, or data: URLs.
func (h *Handler) imageHost() ImageHost {
	if h.Images != nil {
		return h.Images
	}
	return dataURLImages{}
}

// mediaContext carries the base URL of links handed out for r (hosted images).
func (h *Handler) mediaContext(r *http.Request, snap *config.Snapshot) context.Context {
	return publicurl.With(r.Context(), publicurl.FromRequest(r, snap))
}
