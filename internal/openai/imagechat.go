package openai

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/translate"
)

// The <CREATE_IMAGE_MODEL>-chat pseudo-model draws the last message with Imagen and answers the
// pictures as Markdown, so chat-only clients can make images. It works on /v1, /hf/v1 and /openai/v1
// alike (the reference's /openai/v1 route always failed).

// ImageChatSuffix makes the chat model name of the Imagen model.
const ImageChatSuffix = "-chat"

func isImageChat(snap *config.Snapshot, model string) bool {
	return model != "" && model == config.CreateImageModel.Get(snap)+ImageChatSuffix
}

// imageChat answers a chat request for the image chat model.
func (h *Handler) imageChat(w http.ResponseWriter, r *http.Request, snap *config.Snapshot, req *chatRequest) {
	prompt, err := lastMessageText(req)
	if err != nil {
		writeChatError(w, err)
		return
	}
	im, err := newImagine(snap, &imagesRequest{Prompt: prompt})
	if err != nil {
		writeChatError(w, err)
		return
	}
	im.asked = req.Model
	images, fail := h.generate(r.Context(), snap, im)
	if fail != nil {
		fail(w)
		return
	}
	ctx := h.mediaContext(r, snap)
	lines := make([]string, len(images))
	for i, img := range images {
		lines[i] = fmt.Sprintf("![Generated Image %d](%s)", i+1, h.imageHost().ImageURL(ctx, img.mimeType, img.data))
	}
	text := strings.Join(lines, "\n")
	answer := &gemini.GenerateContentResponse{Candidates: []gemini.Candidate{{
		Content: &gemini.Content{Role: "model", Parts: []gemini.Part{{Text: text}}}, FinishReason: "STOP",
	}}}
	opts := &answerOptions{ctx: ctx, id: newCompletionID(), created: time.Now().Unix(), model: req.Model, candidates: 1,
		images: h.imageHost(), newCallID: newToolCallID}
	if !req.Stream {
		writeChatJSON(w, opts.completion(answer))
		return
	}
	// Unpaced: a data: URL fallback can be megabytes, which the typewriter effect would take minutes over.
	sink := newChatSink(w, opts, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
	if sink.Answer(translate.Item{Resp: answer}) {
		sink.End()
	}
}

// lastMessageText is the prompt of the image chat model: the text of the last message.
func lastMessageText(req *chatRequest) (string, error) {
	if len(req.Messages) == 0 {
		return "", invalidParam("messages", "'messages' is empty; the image model draws the last message.")
	}
	i := len(req.Messages) - 1
	param := fmt.Sprintf("messages[%d].content", i)
	parts, err := decodeContent(req.Messages[i].Content, param)
	if err != nil {
		return "", err
	}
	var texts []string
	for _, p := range parts {
		if p.Type == "text" && strings.TrimSpace(p.Text) != "" {
			texts = append(texts, p.Text)
		}
	}
	if len(texts) == 0 {
		return "", invalidParam(param, "The last message has no text for the image model to draw.")
	}
	return strings.Join(texts, "\n"), nil
}

// passthroughImageChat serves the image chat model on /openai/v1, whose other chat requests go to
// Google's compatible endpoint unchanged.
func (h *Handler) passthroughImageChat(w http.ResponseWriter, r *http.Request, snap *config.Snapshot, body []byte) {
	req, err := parseChatRequest(body)
	if err != nil {
		writeChatError(w, err)
		return
	}
	h.imageChat(w, r, snap, req)
}
