package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/models"
	"github.com/gemgate/gemgate/internal/translate"
	"github.com/gemgate/gemgate/internal/upstream"
)

// chatCall is one translated chat request, ready to be sent.
type chatCall struct {
	call         upstream.Call
	opts         *answerOptions // points to options
	options      answerOptions
	includeUsage bool
	stream       translate.StreamSettings
	// image is set for the image chat model, which Imagen answers instead of Gemini.
	image *chatRequest
}

// chat serves POST /v1/chat/completions: the OpenAI request is translated to generateContent (or its
// streaming form), sent through the key pool, and the answer translated back.
func (h *Handler) chat(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings()
	cc, err := h.prepareChat(w, r, snap)
	if err != nil {
		writeChatError(w, err)
		return
	}
	switch {
	case cc.image != nil:
		h.imageChat(w, r, snap, cc.image)
	case !cc.call.Stream:
		h.complete(w, r, cc)
	default:
		h.stream(w, r, cc)
	}
}

// prepareChat reads, checks and translates the request.
func (h *Handler) prepareChat(w http.ResponseWriter, r *http.Request, snap *config.Snapshot) (*chatCall, error) {
	body, err := readChatBody(w, r, snap)
	if err != nil {
		return nil, err
	}
	small, blobs := translate.Detach(body)
	req, err := parseChatRequest(small)
	if err != nil {
		return nil, err
	}
	if isImageChat(snap, req.Model) {
		return &chatCall{image: req}, nil
	}
	model, err := resolveChatModel(snap, req.Model)
	if err != nil {
		return nil, err
	}
	tr, err := translateRequest(snap, model, req)
	if err != nil {
		return nil, err
	}
	if err := fetcher.FetchAll(r.Context(), tr.media); err != nil {
		return nil, fetchFailure(err)
	}
	payload, err := json.Marshal(tr.body)
	if err != nil {
		return nil, fmt.Errorf("encoding the Gemini request: %w", err)
	}
	payload = blobs.Splice(payload)
	cc := &chatCall{
		call: upstream.Call{Path: translate.GenerateContentPath(model.Real), Body: payload, Stream: req.Stream, Model: model.Requested},
		options: answerOptions{
			req: r, snap: snap, id: newCompletionID(), created: time.Now().Unix(), model: req.Model,
			candidates: tr.candidates, showThinking: config.ShowThinkingProcess.Get(snap),
			searchLinks: model.Search && config.ShowSearchLink.Get(snap), images: h.imageHost(), newCallID: newToolCallID,
		},
		includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
		stream:       translate.StreamSettingsOf(snap),
	}
	cc.opts = &cc.options // one allocation for both
	return cc, nil
}

// readChatBody reads the body up to MAX_REQUEST_BODY_MB.
func readChatBody(w http.ResponseWriter, r *http.Request, snap *config.Snapshot) ([]byte, error) {
	body, err := translate.ReadBody(w, r, snap)
	if err == nil {
		return body, nil // before tooBig, which errors.As moves to the heap
	}
	var tooBig *translate.BodyTooLarge
	if errors.As(err, &tooBig) {
		return nil, &requestError{status: http.StatusRequestEntityTooLarge, code: "request_too_large", msg: tooBig.Error()}
	}
	return nil, invalidParam("", "Could not read the request body: %v.", errors.Unwrap(err))
}

// resolveChatModel applies aliases and derived suffixes and refuses what this gateway does not offer.
func resolveChatModel(snap *config.Snapshot, name string) (models.Resolved, error) {
	model, err := translate.ResolveModel(snap, name)
	if err != nil {
		return model, &requestError{status: http.StatusNotFound, param: "model", code: "model_not_found", msg: err.Error()}
	}
	return model, nil
}

// fetchFailure is a media URL that could not be used, in OpenAI's error shape.
func fetchFailure(err error) error {
	if err == nil {
		return nil // before fe, which errors.As moves to the heap
	}
	var fe *translate.FetchError
	if errors.As(err, &fe) {
		return &requestError{status: http.StatusBadRequest, param: fe.Param, code: fe.Code, msg: fe.Message}
	}
	return err
}

// writeChatError answers a request that failed before anything was sent.
func writeChatError(w http.ResponseWriter, err error) {
	var re *requestError
	if errors.As(err, &re) {
		re.write(w)
		return
	}
	WriteError(w, http.StatusInternalServerError, err.Error(), TypeServer, "internal_error", "")
}

// writeRefusal relays Google's refusal of the request (a 4xx answer). An unknown model is OpenAI's
// model_not_found, which SDKs and clients recognise.
func writeRefusal(w http.ResponseWriter, resp *upstream.Response) {
	if resp.StatusCode == http.StatusNotFound {
		WriteError(w, http.StatusNotFound, translate.GoogleMessage(resp.Body), TypeNotFound, "model_not_found", "model")
		return
	}
	WriteClientError(w, resp)
}

// complete serves a non-streamed request.
func (h *Handler) complete(w http.ResponseWriter, r *http.Request, cc *chatCall) {
	answer, err := translate.Complete(r.Context(), h.Exec, cc.call)
	if err != nil {
		writeCallFailure(w, err)
		return
	}
	writeChatJSON(w, cc.opts.completion(answer))
}

func writeChatJSON(w http.ResponseWriter, v any) {
	if err := translate.WriteJSON(w, v); err != nil {
		WriteError(w, http.StatusInternalServerError, "could not encode the answer", TypeServer, "internal_error", "")
	}
}

// stream serves a streamed request: Gemini's stream translated event by event, or with fake streaming
// one non-streamed call whose wait is filled with keep-alives.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, cc *chatCall) {
	translate.Stream(r.Context(), h.Exec, cc.call, cc.stream, newChatSink(w, cc.opts, cc.includeUsage))
}
