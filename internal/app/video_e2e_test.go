package app_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genai"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// Issue 21, long-running video and file download: an operation started by token A is polled on the key
// that started it and the video downloads through that key, whatever the round robin would pick; token
// B can neither poll it nor download the video. Driven through Google's own SDK.
func TestVideoOperationsAndDownloadsStayWithTheirKey(t *testing.T) {
	t.Parallel()
	keys := []string{goodKey(0), goodKey(1), goodKey(2)}
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": strings.Join(keys, ","),
		"ALLOWED_TOKENS": `["` + clientToken + `","` + otherToken + `"]`})
	ctx := context.Background()
	a, b := genaiClient(t, h, clientToken), genaiClient(t, h, otherToken)
	op, err := a.Models.GenerateVideos(ctx, "veo-3.0-generate-001", "a cat surfing", nil, nil)
	if err != nil || op.Name == "" || op.Done {
		t.Fatalf("start: %+v %v", op, err)
	}
	starter, _ := h.fake.LastRequest()
	for i := 0; !op.Done; i++ {
		if i > 5 {
			t.Fatal("the operation never finished")
		}
		if op, err = a.Operations.GetVideosOperation(ctx, op, nil); err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
		if last, _ := h.fake.LastRequest(); last.Key != starter.Key {
			t.Fatalf("poll %d went to another key", i)
		}
	}
	if op.Response == nil || len(op.Response.GeneratedVideos) != 1 {
		t.Fatalf("finished operation %+v", op)
	}
	video := op.Response.GeneratedVideos[0]
	// B cannot poll A's operation nor download its video; nothing of it reaches Google.
	before := h.fake.TotalCalls()
	if _, err := b.Operations.GetVideosOperation(ctx, &genai.GenerateVideosOperation{Name: op.Name}, nil); err == nil {
		t.Fatal("B polled A's operation")
	}
	// (The SDK hands back an error answer's body as the download's bytes rather than failing.)
	if got, err := b.Files.Download(ctx, genai.NewDownloadURIFromGeneratedVideo(video), nil); err == nil && !bytes.Contains(got, []byte("NOT_FOUND")) {
		t.Fatalf("B downloaded A's video: %q", got)
	}
	if n := h.fake.TotalCalls(); n != before {
		t.Fatalf("B's calls reached Google: %d", n-before)
	}
	data, err := a.Files.Download(ctx, genai.NewDownloadURIFromGeneratedVideo(video), nil)
	if err != nil || !bytes.Contains(data, []byte("ftypmp42")) {
		t.Fatalf("download: %d bytes, %v", len(data), err)
	}
	if last, _ := h.fake.LastRequest(); last.Key != starter.Key || last.Action != "files.download" {
		t.Fatalf("the download went to %s/%s", last.Action, last.Key)
	}
	// Google's own download path works too.
	name := strings.TrimSuffix(strings.TrimPrefix(video.Video.URI[strings.Index(video.Video.URI, "/files/"):], "/files/"), ":download?alt=media")
	r := h.do("GET", "/download/v1beta/files/"+name+":download?alt=media", nil, tokenHeader)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "video/mp4" {
		t.Fatalf("/download path: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/download/v1beta/files/"+name+":download?alt=media", nil, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("/download without a token: %d", r.status)
	}
	keysUnblamed(t, h)
}
