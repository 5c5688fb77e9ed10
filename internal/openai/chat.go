package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/models"
	"github.com/gemgate/gemgate/internal/pace"
	"github.com/gemgate/gemgate/internal/translate"
	"github.com/gemgate/gemgate/internal/upstream"
)

// chatCall is one translated chat request, ready to be sent.
type chatCall struct {
	call         upstream.Call
	opts         *answerOptions
	includeUsage bool
	pace         pace.Pacer
	heartbeat    time.Duration
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
	case config.FakeStreamEnabled.Get(snap):
		h.fakeStream(w, r, cc)
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
		call: upstream.Call{Path: "models/" + model.Real + ":generateContent", Body: payload, Stream: req.Stream, Model: model.Requested},
		opts: &answerOptions{
			ctx: h.mediaContext(r, snap), id: newCompletionID(), created: time.Now().Unix(), model: req.Model,
			candidates: tr.candidates, showThinking: config.ShowThinkingProcess.Get(snap),
			searchLinks: model.Search && config.ShowSearchLink.Get(snap), images: h.imageHost(), newCallID: newToolCallID,
		},
		includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
		pace:         pace.New(snap),
		heartbeat:    time.Duration(max(config.FakeStreamEmptyDataIntervalSeconds.Get(snap), 1)) * time.Second,
	}
	return cc, nil
}

// readChatBody reads the body up to MAX_REQUEST_BODY_MB.
func readChatBody(w http.ResponseWriter, r *http.Request, snap *config.Snapshot) ([]byte, error) {
	body, err := translate.ReadBody(w, r, snap)
	var tooBig *translate.BodyTooLarge
	switch {
	case errors.As(err, &tooBig):
		return nil, &requestError{status: http.StatusRequestEntityTooLarge, code: "request_too_large", msg: tooBig.Error()}
	case err != nil:
		return nil, invalidParam("", "Could not read the request body: %v.", errors.Unwrap(err))
	}
	return body, nil
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

// complete serves a non-streamed request. Empty answers are retried on other keys by the executor.
func (h *Handler) complete(w http.ResponseWriter, r *http.Request, cc *chatCall) {
	cc.call.Empty = gemini.IsEmptyAnswer
	resp, err := h.Exec.Do(r.Context(), cc.call)
	if err != nil {
		WriteUpstreamError(w, err)
		return
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		writeRefusal(w, resp)
		return
	}
	answer, err := translate.DecodeAnswer(resp.Body)
	if err != nil {
		WriteError(w, http.StatusBadGateway, translate.NotAnAnswer, TypeUpstream, "upstream_error", "")
		return
	}
	translate.RecordUsage(r.Context(), answer.UsageMetadata)
	writeChatJSON(w, cc.opts.completion(answer))
}

func writeChatJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		WriteError(w, http.StatusInternalServerError, "could not encode the answer", TypeServer, "internal_error", "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}

// stream serves a streamed request: each upstream event is translated and sent as soon as it arrives.
// The executor retries only before the first byte; after that, a failure ends the stream with an
// error event, because retrying would repeat text the client already has.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, cc *chatCall) {
	cc.call.Path = strings.TrimSuffix(cc.call.Path, ":generateContent") + ":streamGenerateContent"
	cc.call.Query = url.Values{"alt": {"sse"}}
	resp, err := h.Exec.Do(r.Context(), cc.call)
	if err != nil {
		WriteUpstreamError(w, err)
		return
	}
	if resp.Stream == nil {
		writeRefusal(w, resp)
		return
	}
	// Closing the body cancels the upstream call when the client goes away first.
	defer resp.Stream.Close()
	relayChatStream(r.Context(), resp.Stream, newStreamTranslator(cc.opts), newSSEWriter(w, r.Context(), cc.pace), cc.includeUsage)
}

// relayChatStream sends an upstream SSE stream as chat chunks: the role chunk, one chunk per event,
// then the end of the answer — or an error event where the stream broke.
func relayChatStream(ctx context.Context, body io.Reader, st *streamTranslator, out *sseWriter, includeUsage bool) {
	if !out.send(st.start()) {
		return
	}
	defer func() { translate.RecordUsage(ctx, st.usage) }()
	if relayEvents(ctx, translate.NewSSEReader(body, 0), st, out) != nil {
		return
	}
	out.finish(st, includeUsage)
}

// errStreamEnded means relayEvents already ended the stream (or the client left).
var errStreamEnded = errors.New("stream ended")

func relayEvents(ctx context.Context, events *translate.SSEReader, st *streamTranslator, out *sseWriter) error {
	for {
		data, err := events.Next()
		if errors.Is(err, io.EOF) && st.decoded == 0 {
			err = translate.ErrNoEvents
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() == nil {
				out.fail(streamBreak(err))
			}
			return errStreamEnded
		}
		chunk, err := st.event(data)
		var uf *translate.UpstreamFailure
		if errors.As(err, &uf) {
			out.fail(failureBody(uf))
			return errStreamEnded
		}
		if chunk != nil && !out.send(chunk) {
			return errStreamEnded
		}
	}
}

type callResult struct {
	resp *upstream.Response
	err  error
}

// fakeStream serves a streamed request with a non-streamed upstream call (FAKE_STREAM_ENABLED), for
// networks where Google's streaming is unreliable. While the call runs, an SSE comment every
// FAKE_STREAM_EMPTY_DATA_INTERVAL_SECONDS keeps proxies and clients from timing out; an answer (or a
// failure) that arrives before the first keep-alive still gets a proper HTTP status.
func (h *Handler) fakeStream(w http.ResponseWriter, r *http.Request, cc *chatCall) {
	cc.call.Stream = false
	cc.call.Empty = gemini.IsEmptyAnswer
	done := make(chan callResult, 1)
	go func() {
		resp, err := h.Exec.Do(r.Context(), cc.call)
		done <- callResult{resp, err}
	}()
	out := newSSEWriter(w, r.Context(), cc.pace)
	tick := time.NewTicker(cc.heartbeat)
	defer tick.Stop()
	for {
		select {
		case res := <-done:
			sendWhole(w, out, cc, res)
			return
		case <-tick.C:
			if !out.comment("keep-alive") {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

// sendWhole streams a whole answer as chunks. A failure is answered with its HTTP status while
// nothing is sent yet, and as an error event once the keep-alives have started the stream.
func sendWhole(w http.ResponseWriter, out *sseWriter, cc *chatCall, res callResult) {
	answer, fail := decodeWhole(res)
	switch {
	case fail != nil && out.started:
		out.fail(fail.body)
		return
	case fail != nil:
		fail.write(w)
		return
	}
	st := newStreamTranslator(cc.opts)
	if !out.send(st.start()) {
		return
	}
	if chunk := st.response(answer); chunk != nil && !out.send(chunk) {
		return
	}
	out.finish(st, cc.includeUsage)
}

// wholeFailure is a failed call in both the forms fake streaming may need.
type wholeFailure struct {
	write func(http.ResponseWriter)
	body  ErrorBody
}

func decodeWhole(res callResult) (*gemini.GenerateContentResponse, *wholeFailure) {
	switch {
	case res.err != nil:
		return nil, &wholeFailure{write: func(w http.ResponseWriter) { WriteUpstreamError(w, res.err) }, body: upstreamErrorBody(res.err)}
	case res.resp.StatusCode < 200 || res.resp.StatusCode > 299:
		return nil, &wholeFailure{write: func(w http.ResponseWriter) { writeRefusal(w, res.resp) },
			body: ErrorBody{Message: translate.GoogleMessage(res.resp.Body), Type: typeFor(res.resp.StatusCode)}}
	}
	answer, err := translate.DecodeAnswer(res.resp.Body)
	if err != nil {
		code := "upstream_error"
		return nil, &wholeFailure{
			write: func(w http.ResponseWriter) {
				WriteError(w, http.StatusBadGateway, translate.NotAnAnswer, TypeUpstream, code, "")
			},
			body: ErrorBody{Message: translate.NotAnAnswer, Type: TypeUpstream, Code: &code},
		}
	}
	return answer, nil
}

// upstreamErrorBody is the OpenAI error object for a failed call, as WriteUpstreamError would send it.
func upstreamErrorBody(err error) ErrorBody {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		code := "upstream_error"
		return ErrorBody{Message: err.Error(), Type: TypeUpstream, Code: &code}
	}
	e := ErrorBody{Message: ue.Status.Message, Type: typeFor(ue.StatusCode)}
	if c := codeFor(ue.Status); c != "" {
		e.Code = &c
	}
	return e
}
