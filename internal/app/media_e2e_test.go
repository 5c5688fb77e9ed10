package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/openai/openai-go/v3"
)

const paidKey = "AIzaSyPaid00000000000000000000000000000"

// predictCalls are the Imagen calls the fake upstream received, decoded.
func predictCalls(t *testing.T, h *harness) []fakeupstream.Recorded {
	t.Helper()
	var out []fakeupstream.Recorded
	for _, r := range h.fake.Requests() {
		if r.Action == "predict" {
			out = append(out, r)
		}
	}
	return out
}

func predictParams(t *testing.T, r fakeupstream.Recorded) map[string]any {
	t.Helper()
	var body struct {
		Parameters map[string]any `json:"parameters"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Parameters
}

// fetchPNG downloads a hosted image link without credentials, as a chat client's renderer does.
func fetchPNG(t *testing.T, link string) *http.Response {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET %s: %d %v", link, resp.StatusCode, resp.Header)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("GET %s: not a PNG: %v", link, err)
	}
	return resp
}

func TestImagesGenerateWithPaidKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"PAID_KEY": paidKey})
	c := h.openAIClient("/v1/")
	ctx := context.Background()

	res, err := c.Images.Generate(ctx, openai.ImageGenerateParams{
		//lint:ignore SA1019 the model names and calls OpenAI clients send today, which gemgate must keep serving
		Prompt: "a lighthouse at dusk", Model: "dall-e-3", N: openai.Int(2), Size: openai.ImageGenerateParamsSize1024x1792,
		ResponseFormat: openai.ImageGenerateParamsResponseFormatB64JSON,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Data) != 2 || res.Data[0].RevisedPrompt != "a lighthouse at dusk" || res.Data[0].URL != "" {
		t.Fatalf("answer: %+v", res.Data)
	}
	raw, _ := base64.StdEncoding.DecodeString(res.Data[1].B64JSON)
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Fatalf("b64_json is not a PNG: %v", err)
	}
	calls := predictCalls(t, h)
	if len(calls) != 1 || calls[0].Key != paidKey || calls[0].Model != "imagen-3.0-generate-002" {
		t.Fatalf("Imagen calls: %+v", calls)
	}
	if p := predictParams(t, calls[0]); p["aspectRatio"] != "9:16" || p["sampleCount"] != float64(2) {
		t.Fatalf("parameters %v", p)
	}

	// The prompt's directives win over n and size; the default answer is a link gemgate serves itself.
	res, err = c.Images.Generate(ctx, openai.ImageGenerateParams{Prompt: "{n:3} a fox {ratio:16:9}", Size: openai.ImageGenerateParamsSize1024x1024})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Data) != 3 || res.Data[0].RevisedPrompt != "a fox" || !strings.HasPrefix(res.Data[0].URL, h.srv.URL+"/img/") {
		t.Fatalf("answer: %+v", res.Data)
	}
	fetchPNG(t, res.Data[2].URL)
	if p := predictParams(t, predictCalls(t, h)[1]); p["aspectRatio"] != "16:9" || p["sampleCount"] != float64(3) {
		t.Fatalf("parameters %v", p)
	}

	// /openai/v1 serves the same endpoint; a size Imagen cannot do is refused before any call.
	oc := h.openAIClient("/openai/v1/")
	_, err = oc.Images.Generate(ctx, openai.ImageGenerateParams{Prompt: "x", Size: "333x777"})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "1024x1792") {
		t.Fatalf("bad size: %v", err)
	}
	if len(predictCalls(t, h)) != 2 {
		t.Fatal("a refused request reached Imagen")
	}
}

func TestImagesGenerateWithoutPaidKeyUsesPool(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	r := h.do("POST", "/hf/v1/images/generations", map[string]any{"prompt": "block me", "response_format": "b64_json"},
		map[string]string{"Authorization": "Bearer " + clientToken})
	if r.status != 400 || !strings.Contains(string(r.body), "content_policy_violation") {
		t.Fatalf("filtered prompt: %d %s", r.status, r.body)
	}
	calls := predictCalls(t, h)
	if len(calls) != 1 || (calls[0].Key != goodKey(0) && calls[0].Key != goodKey(1)) {
		t.Fatalf("Imagen calls: %+v", calls)
	}
}

var markdownImage = regexp.MustCompile(`!\[([^\]]*)\]\(([^)]+)\)`)

func TestImageChatModelOnBothOpenAIRoutes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"PAID_KEY": paidKey})
	for _, prefix := range []string{"/v1", "/openai/v1"} {
		resp, err := chatE2EClient(h, prefix).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:    "imagen-3.0-generate-002-chat",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("ignored"), openai.UserMessage("{n:2} two red balloons")},
		})
		if err != nil {
			t.Fatalf("%s: %v", prefix, err)
		}
		images := markdownImage.FindAllStringSubmatch(resp.Choices[0].Message.Content, -1)
		if len(images) != 2 || images[1][1] != "Generated Image 2" || resp.Model != "imagen-3.0-generate-002-chat" {
			t.Fatalf("%s: %q", prefix, resp.Choices[0].Message.Content)
		}
		fetchPNG(t, images[0][2])
	}
	for _, c := range predictCalls(t, h) {
		if c.Key != paidKey || !strings.Contains(string(c.Body), `"prompt":"two red balloons"`) {
			t.Fatalf("Imagen call %s with %s", c.Body, c.Key)
		}
	}

	stream := chatE2EClient(h, "/openai/v1").Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "imagen-3.0-generate-002-chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("a kite")},
	})
	var text strings.Builder
	finish := ""
	for stream.Next() {
		for _, ch := range stream.Current().Choices {
			text.WriteString(ch.Delta.Content)
			if ch.FinishReason != "" {
				finish = ch.FinishReason
			}
		}
	}
	if stream.Err() != nil || finish != "stop" || len(markdownImage.FindAllString(text.String(), -1)) != 1 {
		t.Fatalf("stream: %q %q %v", text.String(), finish, stream.Err())
	}
}

func TestChatImagesHostedLocally(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"IMAGE_MODELS": `["gemini-2.0-flash-exp"]`})
	resp, err := chatE2EClient(h, "/v1").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gemini-2.0-flash-exp-image",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("draw a dot")},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := markdownImage.FindStringSubmatch(resp.Choices[0].Message.Content)
	if m == nil || !regexp.MustCompile(`^`+regexp.QuoteMeta(h.srv.URL)+`/img/[0-9a-f]{40}\.png$`).MatchString(m[2]) {
		t.Fatalf("no hosted image in %q", resp.Choices[0].Message.Content)
	}
	got := fetchPNG(t, m[2])
	if !strings.Contains(got.Header.Get("Cache-Control"), "max-age=") || got.Header.Get("ETag") == "" {
		t.Fatalf("cache headers: %v", got.Header)
	}

	// Behind a proxy, PUBLIC_URL names the address clients use.
	r := h.do("PUT", "/api/config", map[string]any{"PUBLIC_URL": "https://gemini.example.com/gw"}, adminHeader)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	resp, err = chatE2EClient(h, "/v1").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini-2.0-flash-exp-image", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("again")},
	})
	if err != nil {
		t.Fatal(err)
	}
	m = markdownImage.FindStringSubmatch(resp.Choices[0].Message.Content)
	if m == nil || !strings.HasPrefix(m[2], "https://gemini.example.com/gw/img/") {
		t.Fatalf("PUBLIC_URL not used: %q", resp.Choices[0].Message.Content)
	}
	fetchPNG(t, h.srv.URL+strings.TrimPrefix(m[2], "https://gemini.example.com/gw"))
}

func TestChatImageUploadFailureKeepsImageInline(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"IMAGE_MODELS": `["gemini-2.0-flash-exp"]`,
		"UPLOAD_PROVIDER": "cloudflare_imgbed", "CLOUDFLARE_IMGBED_URL": "http://127.0.0.1:1/upload", "CLOUDFLARE_IMGBED_AUTH_CODE": "x"})
	resp, err := chatE2EClient(h, "/v1").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini-2.0-flash-exp-image", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("draw")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Choices[0].Message.Content, "![image](data:image/png;base64,") {
		t.Fatalf("image lost: %q", resp.Choices[0].Message.Content)
	}
}

// wavInfo reads a canonical 44-byte WAV header.
func wavInfo(t *testing.T, b []byte) (rate, channels, bits int, data []byte) {
	t.Helper()
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" ||
		binary.LittleEndian.Uint16(b[20:]) != 1 || int(binary.LittleEndian.Uint32(b[4:])) != len(b)-8 ||
		int(binary.LittleEndian.Uint32(b[40:])) != len(b)-44 {
		t.Fatalf("not a PCM WAV file: % x", b[:min(len(b), 44)])
	}
	rate, channels, bits = int(binary.LittleEndian.Uint32(b[24:])), int(binary.LittleEndian.Uint16(b[22:])), int(binary.LittleEndian.Uint16(b[34:]))
	if int(binary.LittleEndian.Uint32(b[28:])) != rate*channels*bits/8 {
		t.Fatalf("byte rate does not match")
	}
	return rate, channels, bits, b[44:]
}

func TestSpeechWAV(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"TTS_VOICE_NAME": "Puck", "TTS_SPEED": "slow"})
	c := h.openAIClient("/v1/")
	resp, err := c.Audio.Speech.New(context.Background(), openai.AudioSpeechNewParams{
		//lint:ignore SA1019 the model names and calls OpenAI clients send today, which gemgate must keep serving
		Model: openai.SpeechModelTTS1, Input: "Hello there", Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")},
		ResponseFormat: openai.AudioSpeechNewParamsResponseFormatWAV,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rate, channels, bits, data := wavInfo(t, b)
	if resp.Header.Get("Content-Type") != "audio/wav" || rate != 24000 || channels != 1 || bits != 16 || len(data) != 4800 {
		t.Fatalf("WAV: %s rate %d channels %d bits %d, %d bytes", resp.Header.Get("Content-Type"), rate, channels, bits, len(data))
	}
	body, rec := chatSentRecord(t, h)
	voice := chatDig(body, "generationConfig", "speechConfig", "voiceConfig", "prebuiltVoiceConfig", "voiceName")
	text := chatDig(body, "contents", 0, "parts", 0, "text")
	if rec.Model != "gemini-2.5-flash-preview-tts" || voice != "Puck" || text != "Speak in a slow speed voice: Hello there" || body["safetySettings"] != nil {
		t.Fatalf("TTS request to %s: %v", rec.Model, body)
	}

	// A Gemini voice is taken as asked; speed maps to words; pcm is the raw samples.
	resp, err = c.Audio.Speech.New(context.Background(), openai.AudioSpeechNewParams{
		Model: "gemini-2.5-pro-preview-tts", Input: "Fast", Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("kore")},
		Speed: openai.Float(2), ResponseFormat: openai.AudioSpeechNewParamsResponseFormatPCM,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	body, rec = chatSentRecord(t, h)
	if len(b) != 4800 || rec.Model != "gemini-2.5-pro-preview-tts" ||
		chatDig(body, "generationConfig", "speechConfig", "voiceConfig", "prebuiltVoiceConfig", "voiceName") != "Kore" ||
		!strings.HasPrefix(chatDig(body, "contents", 0, "parts", 0, "text").(string), "Speak in a fast speed voice") {
		t.Fatalf("pcm %d bytes, request %v", len(b), body)
	}

	_, err = c.Audio.Speech.New(context.Background(), openai.AudioSpeechNewParams{
		//lint:ignore SA1019 the model names and calls OpenAI clients send today, which gemgate must keep serving
		Model: openai.SpeechModelTTS1, Input: "x", Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")},
		ResponseFormat: openai.AudioSpeechNewParamsResponseFormatMP3,
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "wav, pcm") {
		t.Fatalf("mp3: %v", err)
	}
}

func TestNativeTTSPassesThrough(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	single := `{"voiceConfig":{"prebuiltVoiceConfig":{"voiceName":"Kore"}}}`
	multi := `{"multiSpeakerVoiceConfig":{"speakerVoiceConfigs":[` +
		`{"speaker":"Joe","voiceConfig":{"prebuiltVoiceConfig":{"voiceName":"Kore"}}},` +
		`{"speaker":"Jane","voiceConfig":{"prebuiltVoiceConfig":{"voiceName":"Puck"}}}]}}`
	for _, speech := range []string{single, multi} {
		req := `{"contents":[{"parts":[{"text":"Joe: Hi Jane. Jane: Hi Joe."}]}],"generationConfig":{"responseModalities":["AUDIO"],"speechConfig":` + speech + `}}`
		r := h.do("POST", "/v1beta/models/gemini-2.5-flash-preview-tts:generateContent", req, tokenHeader)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var answer struct {
			Candidates []struct {
				Content struct {
					Parts []struct {
						InlineData struct{ MimeType, Data string }
					}
				}
			}
		}
		if err := json.Unmarshal(r.body, &answer); err != nil || len(answer.Candidates) == 0 ||
			answer.Candidates[0].Content.Parts[0].InlineData.MimeType != "audio/L16;codec=pcm;rate=24000" {
			t.Fatalf("no audio: %s", r.body)
		}
		_, rec := chatSentRecord(t, h)
		// Sent exactly as the client wrote it: no safetySettings (speech models reject them), nothing reordered.
		if string(rec.Body) != req {
			t.Fatalf("upstream body changed:\n%s\nwant\n%s", rec.Body, req)
		}
	}
}
