package fakeupstream

import (
	"encoding/base64"
	"encoding/json"
	"image/png"
	"net/http"
	"strings"
	"testing"
)

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func TestPredictMakesPNGs(t *testing.T) {
	f := newFixture(t, Config{})
	path := "/v1beta/models/imagen-3.0-generate-002:predict"
	resp, body := f.post(path, `{"instances":[{"prompt":"a cat"}],"parameters":{"sampleCount":3,"aspectRatio":"16:9"}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var out struct {
		Predictions []prediction `json:"predictions"`
	}
	if err := json.Unmarshal(body, &out); err != nil || len(out.Predictions) != 3 {
		t.Fatalf("%v %s", err, body)
	}
	raw, _ := base64.StdEncoding.DecodeString(out.Predictions[0].BytesBase64Encoded)
	if _, err := png.Decode(strings.NewReader(string(raw))); err != nil || out.Predictions[0].MimeType != "image/png" {
		t.Fatalf("not a PNG: %v", err)
	}
	resp, body = f.post(path, `{"instances":[{"prompt":"block me"}],"parameters":{"includeRaiReason":true}}`)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "raiFilteredReason") || strings.Contains(string(body), "bytesBase64Encoded") {
		t.Fatalf("blocked: %d %s", resp.StatusCode, body)
	}
	resp, body = f.post(path, `{"instances":[{"prompt":"x"}],"parameters":{"aspectRatio":"2:1"}}`)
	expectError(t, resp, body, 400, "INVALID_ARGUMENT", false)
	resp, body = f.post("/v1beta/models/gemini-2.5-flash:predict", `{"instances":[{"prompt":"x"}]}`)
	expectError(t, resp, body, 404, "NOT_FOUND", false)
}

func TestFilesResumableUploadAndAccess(t *testing.T) {
	f := newFixture(t, Config{})
	start := []reqOpt{withKey(goodKey), withHeader("X-Goog-Upload-Protocol", "resumable"), withHeader("X-Goog-Upload-Command", "start"),
		withHeader("X-Goog-Upload-Header-Content-Type", "text/plain")}
	resp, body := f.post("/upload/v1beta/files", `{"file":{"display_name":"notes"}}`, start...)
	upURL := resp.Header.Get("X-Goog-Upload-URL")
	if resp.StatusCode != 200 || !strings.Contains(upURL, "upload_id=") || resp.Header.Get("X-Goog-Upload-Status") != "active" {
		t.Fatalf("start: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	path := strings.TrimPrefix(upURL, f.srv.URL)
	chunk := func(cmd, offset, data string, key string) (*http.Response, []byte) {
		return f.post(path, data, withKey(key), withHeader("X-Goog-Upload-Command", cmd), withHeader("X-Goog-Upload-Offset", offset))
	}
	if resp, _ := chunk("upload", "0", "hello ", goodKey); resp.Header.Get("X-Goog-Upload-Status") != "active" {
		t.Fatalf("first chunk: %v", resp.Header)
	}
	if resp, body := chunk("upload", "0", "again", goodKey); resp.StatusCode != 400 {
		t.Fatalf("wrong offset accepted: %d %s", resp.StatusCode, body)
	}
	if resp, _ := chunk("upload", "6", "x", "AIzaOther"); resp.StatusCode != 403 {
		t.Fatalf("another key continued the upload: %d", resp.StatusCode)
	}
	if resp, _ := chunk("query", "", "", goodKey); resp.Header.Get("X-Goog-Upload-Size-Received") != "6" {
		t.Fatalf("query: %v", resp.Header)
	}
	resp, body = chunk("upload, finalize", "6", "world", goodKey)
	var fin struct{ File FileMeta }
	if err := json.Unmarshal(body, &fin); err != nil || resp.Header.Get("X-Goog-Upload-Status") != "final" || fin.File.SizeBytes != "11" ||
		fin.File.DisplayName != "notes" || fin.File.MimeType != "text/plain" || fin.File.State != "ACTIVE" || !strings.HasSuffix(fin.File.URI, fin.File.Name[len("files"):]) {
		t.Fatalf("finalize: %v %s", resp.Header, body)
	}
	if owner, ok := f.fu.FileOwner(fin.File.Name); !ok || owner != goodKey {
		t.Fatalf("owner %q %v", owner, ok)
	}

	filePath := "/v1beta/" + fin.File.Name
	if resp, body := f.do("GET", filePath, "", withKey(goodKey)); resp.StatusCode != 200 || !strings.Contains(string(body), fin.File.Name) {
		t.Fatalf("get: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do("GET", filePath, "", withKey("AIzaOther"))
	expectError(t, resp, body, 403, "PERMISSION_DENIED", false)
	if resp, body := f.do("GET", "/v1beta/files", "", withKey(goodKey)); !strings.Contains(string(body), fin.File.Name) {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	gen := `{"contents":[{"role":"user","parts":[{"text":"what is in it?"},{"fileData":{"fileUri":"` + fin.File.URI + `","mimeType":"text/plain"}}]}]}`
	if resp, body := f.post(genPath, gen); resp.StatusCode != 200 {
		t.Fatalf("generate with own file: %d %s", resp.StatusCode, body)
	}
	resp, body = f.post(genPath, gen, withKey("AIzaOther"))
	expectError(t, resp, body, 403, "PERMISSION_DENIED", false)
	if resp, _ := f.do("DELETE", filePath, "", withKey(goodKey)); resp.StatusCode != 200 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if _, ok := f.fu.FileOwner(fin.File.Name); ok {
		t.Fatal("deleted file still there")
	}
}

func TestVertexExpressRoutes(t *testing.T) {
	f := newFixture(t, Config{})
	resp, body := f.do("POST", "/v1beta1/publishers/google/models/gemini-2.5-flash:generateContent?key=AIzaVertex", helloBody)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "echo: hello") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if r, ok := f.fu.LastRequest(); !ok || r.Key != "AIzaVertex" || r.Action != "generateContent" {
		t.Fatalf("recorded %+v", r)
	}
	resp, body = f.post("/v1beta1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse", helloBody)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "data: ") {
		t.Fatalf("stream: %d %s", resp.StatusCode, body)
	}
	resp, body = f.post("/v1beta1/publishers/google/models/gemini-2.5-flash:embedContent", helloBody)
	expectError(t, resp, body, 404, "NOT_FOUND", false)
}
