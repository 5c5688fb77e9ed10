package openai

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/translate"
	"github.com/gemgate/gemgate/internal/upstream"
)

// speechRequest is OpenAI's audio.speech body.
type speechRequest struct {
	Model          string          `json:"model"`
	Input          string          `json:"input"`
	Voice          json.RawMessage `json:"voice"` // a name, or {"id": ...} for custom voices
	Instructions   string          `json:"instructions"`
	ResponseFormat string          `json:"response_format"`
	Speed          *float64        `json:"speed"`
	StreamFormat   string          `json:"stream_format"`
}

// speechFormats are the response formats gemgate can produce without cgo: Gemini returns raw PCM,
// which is wrapped (wav) or passed on (pcm). MP3, Opus, AAC and FLAC would need an encoder.
var speechFormats = []string{"wav", "pcm"}

// speech serves POST /v1/audio/speech with a Gemini speech model.
func (h *Handler) speech(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings()
	body, err := readChatBody(w, r, snap)
	if err != nil {
		writeChatError(w, err)
		return
	}
	var req speechRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeChatError(w, invalidParam("", "We could not parse the JSON body of your request: %v.", jsonError(err).msg))
		return
	}
	format, model, payload, err := speechCall(snap, &req)
	if err != nil {
		writeChatError(w, err)
		return
	}
	resp, err := h.Exec.Do(r.Context(), upstream.Call{Path: "models/" + model + ":generateContent", Body: payload, Model: model})
	switch {
	case err != nil:
		WriteUpstreamError(w, err)
		return
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		writeRefusal(w, resp)
		return
	}
	audio, err := speechAudio(resp.Body, format)
	if err != nil {
		WriteError(w, http.StatusBadGateway, err.Error(), TypeUpstream, "upstream_error", "")
		return
	}
	w.Header().Set("Content-Type", audio.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(audio.data)))
	_, _ = w.Write(audio.data)
}

// speechCall checks the request and builds the Gemini call.
func speechCall(snap *config.Snapshot, req *speechRequest) (format, model string, payload []byte, err error) {
	if strings.TrimSpace(req.Input) == "" {
		return "", "", nil, invalidParam("input", "Missing required parameter: 'input'.")
	}
	format = strings.ToLower(strings.TrimSpace(req.ResponseFormat))
	if format == "" {
		format = "wav" // the reference always answered WAV; OpenAI's default, mp3, needs an encoder
	}
	if !slices.Contains(speechFormats, format) {
		return "", "", nil, invalidParam("response_format",
			"'response_format' %q is not supported by gemgate; use one of: %s (Gemini returns PCM audio, and gemgate does not transcode to compressed formats).",
			req.ResponseFormat, strings.Join(speechFormats, ", "))
	}
	if req.StreamFormat != "" && req.StreamFormat != "audio" {
		return "", "", nil, invalidParam("stream_format", "'stream_format' %q is not supported; only audio.", req.StreamFormat)
	}
	speed, err := speechSpeed(snap, req.Speed)
	if err != nil {
		return "", "", nil, err
	}
	model = config.TTSModel.Get(snap)
	// OpenAI's model names (tts-1, gpt-4o-mini-tts) mean "the speech model"; a Gemini speech model is taken as asked.
	if strings.HasPrefix(req.Model, "gemini-") && strings.Contains(req.Model, "tts") && translate.PlainModelID(req.Model) {
		model = req.Model
	}
	text := fmt.Sprintf("Speak in a %s speed voice: %s", speed, req.Input)
	if instr := strings.TrimSpace(req.Instructions); instr != "" {
		text = instr + "\n" + text
	}
	voice := voiceName(snap, req.Voice)
	payload, err = json.Marshal(map[string]any{
		"contents": []gemini.Content{{Role: "user", Parts: []gemini.Part{{Text: text}}}},
		"generationConfig": map[string]any{
			"responseModalities": []string{"AUDIO"},
			"speechConfig":       map[string]any{"voiceConfig": map[string]any{"prebuiltVoiceConfig": map[string]string{"voiceName": voice}}},
		},
	})
	return format, model, payload, err
}

// speechSpeed turns OpenAI's speed factor (0.25-4) into the words Gemini is asked to speak at; without
// one, TTS_SPEED applies.
func speechSpeed(snap *config.Snapshot, speed *float64) (string, error) {
	switch {
	case speed == nil:
		return config.TTSSpeed.Get(snap), nil
	case *speed < 0.25 || *speed > 4:
		return "", invalidParam("speed", "'speed' must be between 0.25 and 4.0.")
	case *speed < 0.85:
		return "slow", nil
	case *speed > 1.15:
		return "fast", nil
	}
	return "normal", nil
}

// voiceName is the request's voice when it names a Gemini voice (in any case), else TTS_VOICE_NAME:
// OpenAI's voices (alloy, nova...) have no Gemini counterpart.
func voiceName(snap *config.Snapshot, raw json.RawMessage) string {
	var name string
	if json.Unmarshal(raw, &name) != nil {
		var obj struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(raw, &obj)
		name = obj.ID
	}
	for _, v := range config.GeminiVoices {
		if strings.EqualFold(v, strings.TrimSpace(name)) {
			return v
		}
	}
	return config.TTSVoiceName.Get(snap)
}

type speechOutput struct {
	contentType string
	data        []byte
}

// speechAudio finds the audio part of Gemini's answer and puts it in the asked format.
func speechAudio(body []byte, format string) (*speechOutput, error) {
	var resp gemini.GenerateContentResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, errors.New("Gemini answered with something that is not a generateContent response")
	}
	blob := audioBlob(&resp)
	if blob == nil {
		return nil, errors.New("Gemini's speech model answered without audio (the input may have been blocked)")
	}
	pcm, err := base64.StdEncoding.DecodeString(blob.Data)
	if err != nil {
		return nil, errors.New("Gemini's audio is not valid base64")
	}
	pf, err := parsePCMType(blob.MimeType)
	if err != nil {
		return nil, err
	}
	if format == "pcm" {
		return &speechOutput{contentType: "audio/pcm", data: pcm}, nil
	}
	return &speechOutput{contentType: "audio/wav", data: WAV(pcm, pf)}, nil
}

func audioBlob(resp *gemini.GenerateContentResponse) *gemini.Blob {
	for _, c := range resp.Candidates {
		if c.Content == nil {
			continue
		}
		for _, p := range c.Content.Parts {
			if p.InlineData != nil && strings.HasPrefix(strings.ToLower(p.InlineData.MimeType), "audio/") {
				return p.InlineData
			}
		}
	}
	return nil
}

// PCMFormat describes raw 16-bit PCM.
type PCMFormat struct {
	Rate     int
	Channels int
}

// parsePCMType reads Gemini's audio type, e.g. audio/L16;codec=pcm;rate=24000. Sample rate and channel
// count come from its parameters (24 kHz mono when absent, what Gemini's speech models produce).
func parsePCMType(mimeType string) (PCMFormat, error) {
	mt, params, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return PCMFormat{}, fmt.Errorf("Gemini's audio type %q cannot be read", mimeType)
	}
	if mt != "audio/l16" && mt != "audio/pcm" {
		return PCMFormat{}, fmt.Errorf("Gemini answered audio as %s; gemgate converts only 16-bit PCM (audio/L16)", mt)
	}
	pf := PCMFormat{Rate: 24000, Channels: 1}
	if v, err := strconv.Atoi(params["rate"]); err == nil && v > 0 {
		pf.Rate = v
	}
	if v, err := strconv.Atoi(params["channels"]); err == nil && v > 0 {
		pf.Channels = v
	}
	return pf, nil
}

// WAV wraps 16-bit PCM in a RIFF/WAVE container. Gemini's samples are little-endian despite the
// audio/L16 name (RFC 2586 L16 is big-endian), which is what WAV stores, so they are copied as they are.
func WAV(pcm []byte, pf PCMFormat) []byte {
	const bits = 16
	blockAlign := pf.Channels * bits / 8
	out := make([]byte, 44+len(pcm))
	copy(out[0:], "RIFF")
	binary.LittleEndian.PutUint32(out[4:], uint32(36+len(pcm)))
	copy(out[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(out[16:], 16) // fmt chunk size
	binary.LittleEndian.PutUint16(out[20:], 1)  // PCM
	binary.LittleEndian.PutUint16(out[22:], uint16(pf.Channels))
	binary.LittleEndian.PutUint32(out[24:], uint32(pf.Rate))
	binary.LittleEndian.PutUint32(out[28:], uint32(pf.Rate*blockAlign))
	binary.LittleEndian.PutUint16(out[32:], uint16(blockAlign))
	binary.LittleEndian.PutUint16(out[34:], bits)
	copy(out[36:], "data")
	binary.LittleEndian.PutUint32(out[40:], uint32(len(pcm)))
	copy(out[44:], pcm)
	return out
}
