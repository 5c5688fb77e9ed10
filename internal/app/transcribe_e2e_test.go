package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/openai/openai-go/v3"
)

// wavBytes is a short, valid WAV file (a few samples of silence).
func wavBytes() []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	b.Write([]byte{44, 0, 0, 0})
	b.WriteString("WAVEfmt ")
	b.Write([]byte{16, 0, 0, 0, 1, 0, 1, 0, 0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2, 0, 16, 0})
	b.WriteString("data")
	b.Write([]byte{8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	return b.Bytes()
}

// TestSpeechToTextWithTheOpenAISDK: /v1/audio/transcriptions and /v1/audio/translations answer the
// official SDK in every response format, through a Gemini model that gets the audio inline.
func TestSpeechToTextWithTheOpenAISDK(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"TRANSCRIPTION_MODEL": "gemini-2.5-flash"})
	c := h.openAIClient("/v1")
	ctx := context.Background()
	audio := wavBytes()

	res, err := c.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{
		//lint:ignore SA1019 the model names and calls OpenAI clients send today, which gemgate must keep serving
		File: openai.File(bytes.NewReader(audio), "hello.wav", "audio/wav"), Model: openai.AudioModelWhisper1,
		Language: openai.String("en"), Prompt: openai.String("Names: Gemini."),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.AsTranscription().Text, "echo: Transcribe this audio verbatim. The language spoken is en") {
		t.Fatalf("transcription %q", res.Text)
	}
	// What Google got: the audio inline with the right type, JSON segments asked for, on TRANSCRIPTION_MODEL.
	rec, _ := h.fake.LastRequest()
	if !strings.Contains(rec.Path, "models/gemini-2.5-flash:generateContent") {
		t.Fatalf("upstream path %s", rec.Path)
	}
	var sent struct {
		Contents []struct {
			Parts []struct {
				Text       string
				InlineData *struct{ MimeType, Data string }
			}
		}
		GenerationConfig struct{ ResponseMimeType string }
	}
	if err := json.Unmarshal(rec.Body, &sent); err != nil || len(sent.Contents) != 1 || len(sent.Contents[0].Parts) != 2 {
		t.Fatalf("upstream body %s", rec.Body)
	}
	inline := sent.Contents[0].Parts[1].InlineData
	if inline == nil || inline.MimeType != "audio/wav" || inline.Data != base64.StdEncoding.EncodeToString(audio) ||
		sent.GenerationConfig.ResponseMimeType != "application/json" || !strings.Contains(sent.Contents[0].Parts[0].Text, "Names: Gemini.") {
		t.Fatalf("upstream body %s", rec.Body)
	}

	// verbose_json: segments with times, the task and language.
	res, err = c.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{
		//lint:ignore SA1019 the model names and calls OpenAI clients send today, which gemgate must keep serving
		File: openai.File(bytes.NewReader(audio), "hello.wav", "audio/wav"), Model: openai.AudioModelWhisper1,
		ResponseFormat: openai.AudioResponseFormatVerboseJSON,
	})
	if err != nil {
		t.Fatal(err)
	}
	v := res.AsTranscriptionVerbose()
	if len(v.Segments) != 1 || v.Segments[0].End != 1 || v.Duration != 1 || v.Language == "" || v.Text == "" {
		t.Fatalf("verbose_json %s", res.RawJSON())
	}

	// text, srt and vtt are plain text; the SDK reads them through Post into a string.
	for format, want := range map[openai.AudioResponseFormat]string{
		openai.AudioResponseFormatText: "echo: Transcribe",
		openai.AudioResponseFormatSRT:  "1\n00:00:01,000 --> 00:00:01,000\necho: Transcribe",
		openai.AudioResponseFormatVTT:  "WEBVTT\n\n00:00:01.000 --> 00:00:01.000\necho: Transcribe",
	} {
		var out string
		err := c.Post(ctx, "audio/transcriptions", openai.AudioTranscriptionNewParams{
			//lint:ignore SA1019 the model names and calls OpenAI clients send today, which gemgate must keep serving
			File: openai.File(bytes.NewReader(audio), "hello.mp3", "application/octet-stream"), Model: openai.AudioModelWhisper1, ResponseFormat: format,
		}, &out)
		if err != nil || !strings.HasPrefix(out, want) {
			t.Errorf("%s: %v %q", format, err, out)
		}
	}

	// Translations: into English, on /hf/v1 too.
	hf := h.openAIClient("/hf/v1")
	//lint:ignore SA1019 the model names and calls OpenAI clients send today, which gemgate must keep serving
	tr, err := hf.Audio.Translations.New(ctx, openai.AudioTranslationNewParams{
		//lint:ignore SA1019 the model names and calls OpenAI clients send today, which gemgate must keep serving
		File: openai.File(bytes.NewReader(audio), "bonjour.ogg", "audio/ogg"), Model: openai.AudioModelWhisper1,
	})
	if err != nil || !strings.HasPrefix(tr.Text, "echo: Translate the speech in this audio into English.") {
		t.Fatalf("translation %v %+v", err, tr)
	}

	// Bad input: OpenAI's error shape, never a bare 500.
	_, err = c.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{
		//lint:ignore SA1019 the model names and calls OpenAI clients send today, which gemgate must keep serving
		File: openai.File(bytes.NewReader(audio), "notes.txt", "text/plain"), Model: openai.AudioModelWhisper1,
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "file" {
		t.Fatalf("unsupported file: %v", err)
	}
	r := h.do("POST", "/v1/audio/transcriptions", "not multipart", map[string]string{"Authorization": "Bearer " + clientToken})
	if r.status != 400 || !strings.Contains(string(r.body), `"type":"invalid_request_error"`) {
		t.Fatalf("not multipart: %d %s", r.status, r.body)
	}
}
