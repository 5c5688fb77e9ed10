package openai

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/models"
	"github.com/gemgate/gemgate/internal/upstream"
)

// Speech to text: OpenAI's /v1/audio/transcriptions and /v1/audio/translations, answered by a Gemini
// model that listens to the uploaded audio. Gemini is asked for JSON segments with times, which every
// response format (json, text, srt, vtt, verbose_json) is written from.

// maxInlineAudio is the largest audio sent inline: Gemini takes at most 20 MB per request in all.
const maxInlineAudio = 19 << 20

// sttFormats are OpenAI's response formats for speech to text.
var sttFormats = []string{"json", "text", "srt", "verbose_json", "vtt"}

// sttRequest is a transcription or translation request, read from its multipart form.
type sttRequest struct {
	translate   bool
	model       string
	audio       []byte
	mimeType    string
	language    string
	prompt      string
	format      string
	temperature *float64
}

// sttAnswer is what Gemini is asked to return.
type sttAnswer struct {
	Language string       `json:"language"`
	Segments []sttSegment `json:"segments"`
}

type sttSegment struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Text  string  `json:"text"`
}

// sttSchema is the response schema of sttAnswer.
const sttSchema = `{"type":"object","properties":{"language":{"type":"string","description":"the spoken language, as its English name in lower case, e.g. english"},` +
	`"segments":{"type":"array","items":{"type":"object","properties":{"start":{"type":"number","description":"seconds from the start"},` +
	`"end":{"type":"number","description":"seconds from the start"},"text":{"type":"string"}},"required":["start","end","text"]}}},"required":["language","segments"]}`

func (h *Handler) transcriptions(w http.ResponseWriter, r *http.Request) { h.speechToText(w, r, false) }
func (h *Handler) translations(w http.ResponseWriter, r *http.Request)   { h.speechToText(w, r, true) }

func (h *Handler) speechToText(w http.ResponseWriter, r *http.Request, translate bool) {
	snap := h.Settings()
	req, err := readSTTRequest(w, r, snap, translate)
	if err != nil {
		writeChatError(w, err)
		return
	}
	payload, err := json.Marshal(sttPayload(req))
	if err != nil {
		writeChatError(w, err)
		return
	}
	resp, err := h.Exec.Do(r.Context(), upstream.Call{Path: "models/" + req.model + ":generateContent", Body: payload, Model: req.model})
	switch {
	case err != nil:
		WriteUpstreamError(w, err)
		return
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		writeRefusal(w, resp)
		return
	}
	ans, usage, err := sttResult(resp.Body)
	if err != nil {
		WriteError(w, http.StatusBadGateway, err.Error(), TypeUpstream, "upstream_error", "")
		return
	}
	writeSTT(w, req, ans, usage)
}

// readSTTRequest reads the multipart form (bounded by MAX_REQUEST_BODY_MB) and checks its fields.
func readSTTRequest(w http.ResponseWriter, r *http.Request, snap *config.Snapshot, translate bool) (*sttRequest, error) {
	limit := int64(config.MaxRequestBodyMB.Get(snap)) << 20
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &requestError{status: http.StatusRequestEntityTooLarge, code: "request_too_large",
				msg: "The upload is larger than MAX_REQUEST_BODY_MB."}
		}
		return nil, invalidParam("file", "Expected a multipart/form-data body with the audio as 'file': %v.", err)
	}
	defer r.MultipartForm.RemoveAll()
	req := &sttRequest{translate: translate, prompt: r.FormValue("prompt"), format: r.FormValue("response_format")}
	if !translate {
		req.language = r.FormValue("language")
	}
	if req.format == "" {
		req.format = "json"
	}
	if !slices.Contains(sttFormats, req.format) {
		return nil, invalidParam("response_format", "Invalid value for 'response_format': %q (expected one of %s).", req.format, strings.Join(sttFormats, ", "))
	}
	if t := r.FormValue("temperature"); t != "" {
		v, err := strconv.ParseFloat(t, 64)
		if err != nil || v < 0 || v > 2 {
			return nil, invalidParam("temperature", "Invalid value for 'temperature': %q (expected a number from 0 to 2).", t)
		}
		req.temperature = &v
	}
	model := r.FormValue("model")
	if model == "" {
		return nil, invalidParam("model", "You must provide a model parameter.")
	}
	req.model = sttModel(snap, model)
	if err := models.Check(snap, models.Resolve(snap, req.model)); err != nil {
		return nil, &requestError{status: http.StatusNotFound, code: "model_not_found", param: "model",
			msg: fmt.Sprintf("The model '%s' is not offered by this gateway: %v.", model, err)}
	}
	return req, readAudio(r, req)
}

// sttModel is the Gemini model for a requested model: a Gemini model or alias as it resolves, an
// OpenAI speech model (whisper-1, gpt-4o-transcribe, ...) TRANSCRIPTION_MODEL.
func sttModel(snap *config.Snapshot, model string) string {
	res := models.Resolve(snap, model)
	if _, alias := config.ModelAliases.Get(snap)[res.Requested]; alias || strings.HasPrefix(res.Real, "gemini") {
		return res.Real
	}
	return config.TranscriptionModel.Get(snap)
}

func readAudio(r *http.Request, req *sttRequest) error {
	f, hdr, err := r.FormFile("file")
	if err != nil {
		return invalidParam("file", "The audio file is missing: send it as the multipart field 'file'.")
	}
	defer f.Close()
	if hdr.Size > maxInlineAudio {
		return &requestError{status: http.StatusRequestEntityTooLarge, code: "file_too_large", param: "file",
			msg: fmt.Sprintf("The audio file is %d bytes; at most %d bytes can be transcribed in one request.", hdr.Size, maxInlineAudio)}
	}
	req.audio, err = io.ReadAll(io.LimitReader(f, maxInlineAudio+1))
	if err != nil {
		return invalidParam("file", "Could not read the audio file: %v.", err)
	}
	if len(req.audio) == 0 {
		return invalidParam("file", "The audio file is empty.")
	}
	req.mimeType = audioType(hdr)
	if req.mimeType == "" {
		return invalidParam("file", "Unsupported file format %q: send flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, wav, webm, aac or aiff.", hdr.Filename)
	}
	return nil
}

// audioType is the file's audio type: from its extension, or from its part's Content-Type when that
// names audio (browsers recording from a microphone send audio/webm without a useful name).
func audioType(hdr *multipart.FileHeader) string {
	// The names of input_audio's formats are the file extensions OpenAI's transcription API accepts.
	if t, ok := audioTypes[strings.TrimPrefix(strings.ToLower(filepath.Ext(hdr.Filename)), ".")]; ok {
		return t
	}
	ct := hdr.Header.Get("Content-Type")
	if ct, _, _ = strings.Cut(ct, ";"); strings.HasPrefix(ct, "audio/") || ct == "video/mp4" || ct == "video/webm" {
		return strings.Replace(ct, "video/", "audio/", 1)
	}
	return ""
}

// sttPayload is the generateContent request: the instruction, the audio, JSON segments out.
func sttPayload(req *sttRequest) map[string]any {
	task := "Transcribe this audio verbatim, in the language spoken."
	if req.translate {
		task = "Translate the speech in this audio into English."
	} else if req.language != "" {
		task = "Transcribe this audio verbatim. The language spoken is " + req.language + " (ISO-639-1)."
	}
	task += " Split it into segments of a sentence or so, each with its start and end time in seconds."
	if req.prompt != "" {
		task += " Context (names, spelling, style) to follow: " + req.prompt
	}
	gc := map[string]any{"responseMimeType": "application/json", "responseSchema": json.RawMessage(sttSchema)}
	if req.temperature != nil {
		gc["temperature"] = *req.temperature
	}
	return map[string]any{
		"contents": []any{map[string]any{"role": "user", "parts": []any{
			map[string]any{"text": task},
			map[string]any{"inlineData": map[string]string{"mimeType": req.mimeType, "data": base64.StdEncoding.EncodeToString(req.audio)}},
		}}},
		"generationConfig": gc,
	}
}

// sttResult reads Gemini's answer. An answer that is not the JSON asked for is taken as plain text,
// one segment without times, rather than lost.
func sttResult(body []byte) (sttAnswer, *gemini.UsageMetadata, error) {
	var resp gemini.GenerateContentResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return sttAnswer{}, nil, fmt.Errorf("could not read Gemini's answer: %v", err)
	}
	if len(resp.Candidates) == 0 || resp.Candidates[0].Content == nil {
		reason := "no answer"
		if resp.PromptFeedback != nil && resp.PromptFeedback.BlockReason != "" {
			reason = "blocked: " + resp.PromptFeedback.BlockReason
		}
		return sttAnswer{}, nil, fmt.Errorf("Gemini returned no transcription (%s)", reason)
	}
	var text strings.Builder
	for _, p := range resp.Candidates[0].Content.Parts {
		if !p.Thought {
			text.WriteString(p.Text)
		}
	}
	var ans sttAnswer
	if json.Unmarshal([]byte(text.String()), &ans) != nil || len(ans.Segments) == 0 {
		ans = sttAnswer{Segments: []sttSegment{{Text: strings.TrimSpace(text.String())}}}
	}
	for i := range ans.Segments {
		s := &ans.Segments[i]
		s.Text = strings.TrimSpace(s.Text)
		s.Start, s.End = max(s.Start, 0), max(s.End, s.Start, 0)
	}
	return ans, resp.UsageMetadata, nil
}

func (a sttAnswer) text() string {
	parts := make([]string, 0, len(a.Segments))
	for _, s := range a.Segments {
		if s.Text != "" {
			parts = append(parts, s.Text)
		}
	}
	return strings.Join(parts, " ")
}

func writeSTT(w http.ResponseWriter, req *sttRequest, ans sttAnswer, usage *gemini.UsageMetadata) {
	switch req.format {
	case "text":
		writeText(w, "text/plain; charset=utf-8", ans.text()+"\n")
	case "srt":
		writeText(w, "application/x-subrip; charset=utf-8", subtitles(ans, false))
	case "vtt":
		writeText(w, "text/vtt; charset=utf-8", subtitles(ans, true))
	case "verbose_json":
		writeJSONBody(w, http.StatusOK, verbose(req, ans))
	default:
		out := map[string]any{"text": ans.text()}
		if usage != nil {
			out["usage"] = map[string]any{"type": "tokens", "input_tokens": usage.PromptTokenCount,
				"output_tokens": usage.CandidatesTokenCount, "total_tokens": usage.TotalTokenCount}
		}
		writeJSONBody(w, http.StatusOK, out)
	}
}

func writeText(w http.ResponseWriter, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, body)
}

// subtitles writes SubRip (1, 00:00:01,000 --> ...) or WebVTT (WEBVTT, 00:00:01.000 --> ...).
func subtitles(ans sttAnswer, vtt bool) string {
	var b strings.Builder
	if vtt {
		b.WriteString("WEBVTT\n\n")
	}
	n := 0
	for _, s := range ans.Segments {
		if s.Text == "" {
			continue
		}
		n++
		if !vtt {
			b.WriteString(strconv.Itoa(n) + "\n")
		}
		b.WriteString(timestamp(s.Start, vtt) + " --> " + timestamp(s.End, vtt) + "\n" + s.Text + "\n\n")
	}
	return b.String()
}

func timestamp(sec float64, vtt bool) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Millisecond)
	h, m, s, ms := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60, int(d/time.Millisecond)%1000
	sep := ","
	if vtt {
		sep = "."
	}
	return fmt.Sprintf("%02d:%02d:%02d%s%03d", h, m, s, sep, ms)
}

// verbose is OpenAI's verbose_json: the task, language, duration, text and segments. Gemini gives no
// token ids or log probabilities; those fields are present with neutral values so SDKs can read them.
func verbose(req *sttRequest, ans sttAnswer) map[string]any {
	task, lang := "transcribe", strings.ToLower(ans.Language)
	if req.translate {
		task, lang = "translate", "english"
	}
	if lang == "" {
		lang = req.language
	}
	segs := make([]map[string]any, 0, len(ans.Segments))
	duration := 0.0
	for i, s := range ans.Segments {
		duration = max(duration, s.End)
		segs = append(segs, map[string]any{"id": i, "seek": 0, "start": s.Start, "end": s.End, "text": s.Text,
			"tokens": []int{}, "temperature": 0.0, "avg_logprob": 0.0, "compression_ratio": 0.0, "no_speech_prob": 0.0})
	}
	return map[string]any{"task": task, "language": lang, "duration": duration, "text": ans.text(), "segments": segs}
}
