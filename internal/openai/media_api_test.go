package openai

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
)

func mediaSnap(t *testing.T, env map[string]string) *config.Snapshot {
	t.Helper()
	snap, err := config.FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func intp(n int) *int { return &n }

func TestNewImagineSizesAndDirectives(t *testing.T) {
	snap := mediaSnap(t, nil)
	cases := []struct {
		req          imagesRequest
		prompt       string
		n            int
		ratio, model string
		err          string
	}{
		{imagesRequest{Prompt: "cat"}, "cat", 1, "1:1", "imagen-3.0-generate-002", ""},
		{imagesRequest{Prompt: "cat", Size: "1792x1024", N: intp(2)}, "cat", 2, "16:9", "imagen-3.0-generate-002", ""},
		{imagesRequest{Prompt: "cat", Size: "1024x1792"}, "cat", 1, "9:16", "imagen-3.0-generate-002", ""},
		{imagesRequest{Prompt: "cat", Size: "1536x1024"}, "cat", 1, "4:3", "imagen-3.0-generate-002", ""},
		{imagesRequest{Prompt: "cat", Size: "1024x1536"}, "cat", 1, "3:4", "imagen-3.0-generate-002", ""},
		{imagesRequest{Prompt: "cat", Size: "256x256", Model: "imagen-4.0-generate-001"}, "cat", 1, "1:1", "imagen-4.0-generate-001", ""},
		{imagesRequest{Prompt: "{n:4} cat {ratio:3:4}", Size: "1792x1024", N: intp(2)}, "cat", 4, "3:4", "imagen-3.0-generate-002", ""},
		{imagesRequest{Prompt: "{n:1} cat", N: intp(3)}, "cat", 3, "1:1", "imagen-3.0-generate-002", ""},
		{imagesRequest{Prompt: "cat", Size: "1027x1792"}, "", 0, "", "", "size"},
		{imagesRequest{Prompt: "cat", N: intp(5)}, "", 0, "", "", "'n'"},
		{imagesRequest{Prompt: "{n:9} cat"}, "", 0, "", "", "{n:9}"},
		{imagesRequest{Prompt: "cat {ratio:2:1}"}, "", 0, "", "", "{ratio:2:1}"},
		{imagesRequest{Prompt: "{n:2}"}, "", 0, "", "", "empty"},
		{imagesRequest{Prompt: " "}, "", 0, "", "", "prompt"},
	}
	for _, c := range cases {
		im, err := newImagine(snap, &c.req)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v: error %v, want one naming %s", c.req, err, c.err)
			}
			continue
		}
		if err != nil || im.prompt != c.prompt || im.n != c.n || im.ratio != c.ratio || im.model != c.model {
			t.Errorf("%+v: %+v %v", c.req, im, err)
		}
	}
}

func TestPredictRequestShape(t *testing.T) {
	im := &imagine{prompt: "a fox", n: 2, ratio: "16:9"}
	b, err := im.predictRequest()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Instances  []map[string]string `json:"instances"`
		Parameters map[string]any      `json:"parameters"`
	}
	if err := json.Unmarshal(b, &got); err != nil || got.Instances[0]["prompt"] != "a fox" || got.Parameters["sampleCount"] != float64(2) ||
		got.Parameters["aspectRatio"] != "16:9" || got.Parameters["personGeneration"] != "allow_adult" {
		t.Fatalf("%s", b)
	}
}

func TestSpeechHelpers(t *testing.T) {
	snap := mediaSnap(t, map[string]string{"TTS_VOICE_NAME": "Charon", "TTS_SPEED": "fast"})
	for raw, want := range map[string]string{`"alloy"`: "Charon", `"puck"`: "Puck", `{"id":"Sulafat"}`: "Sulafat", `null`: "Charon", `3`: "Charon"} {
		if got := voiceName(snap, json.RawMessage(raw)); got != want {
			t.Errorf("voice %s: %s, want %s", raw, got, want)
		}
	}
	speed := func(f float64) string { s, _ := speechSpeed(snap, &f); return s }
	if s, _ := speechSpeed(snap, nil); s != "fast" || speed(0.5) != "slow" || speed(1) != "normal" || speed(1.5) != "fast" {
		t.Fatal("speed words")
	}
	if _, err := speechSpeed(snap, new(float64)); err == nil {
		t.Fatal("speed 0 accepted")
	}
	for _, c := range []struct {
		mime   string
		rate   int
		chans  int
		errors bool
	}{
		{"audio/L16;codec=pcm;rate=24000", 24000, 1, false},
		{"audio/l16; rate=16000; channels=2", 16000, 2, false},
		{"audio/pcm", 24000, 1, false},
		{"audio/mpeg", 0, 0, true},
	} {
		pf, err := parsePCMType(c.mime)
		if (err != nil) != c.errors || (!c.errors && (pf.Rate != c.rate || pf.Channels != c.chans)) {
			t.Errorf("%s: %+v %v", c.mime, pf, err)
		}
	}
}

func TestWAVHeader(t *testing.T) {
	pcm := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	w := WAV(pcm, PCMFormat{Rate: 16000, Channels: 2})
	le := binary.LittleEndian
	if string(w[:4]) != "RIFF" || le.Uint32(w[4:]) != 44 || string(w[8:16]) != "WAVEfmt " || le.Uint32(w[16:]) != 16 ||
		le.Uint16(w[20:]) != 1 || le.Uint16(w[22:]) != 2 || le.Uint32(w[24:]) != 16000 || le.Uint32(w[28:]) != 64000 ||
		le.Uint16(w[32:]) != 4 || le.Uint16(w[34:]) != 16 || string(w[36:40]) != "data" || le.Uint32(w[40:]) != 8 || string(w[44:]) != string(pcm) {
		t.Fatalf("% x", w)
	}
}

func TestSpeechCallRefusesCompressedFormats(t *testing.T) {
	snap := mediaSnap(t, nil)
	for _, f := range []string{"mp3", "opus", "aac", "flac"} {
		_, _, _, err := speechCall(snap, &speechRequest{Input: "x", ResponseFormat: f})
		if err == nil || !strings.Contains(err.Error(), "wav, pcm") {
			t.Errorf("%s: %v", f, err)
		}
	}
	format, model, _, err := speechCall(snap, &speechRequest{Input: "x", Model: "tts-1"})
	if err != nil || format != "wav" || model != "gemini-2.5-flash-preview-tts" {
		t.Fatalf("%s %s %v", format, model, err)
	}
}

func TestLastMessageText(t *testing.T) {
	req, err := parseChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"first"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}},{"type":"text","text":"b"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := lastMessageText(req); err != nil || got != "a\nb" {
		t.Fatalf("%q %v", got, err)
	}
	req.Messages[1].Content = json.RawMessage(`[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]`)
	if _, err := lastMessageText(req); err == nil {
		t.Fatal("image-only message accepted")
	}
}
