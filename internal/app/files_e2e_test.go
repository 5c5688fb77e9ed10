package app_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/secret"
)

const otherToken = "sk-other-client-token-for-tests-0"

func filesHarness(t *testing.T) *harness {
	return newHarness(t, fakeupstream.Config{}, map[string]string{"ALLOWED_TOKENS": `["` + clientToken + `","` + otherToken + `"]`})
}

// genaiClient is Google's SDK pointed at gemgate's /gemini/ base URL with a client token.
func genaiClient(t *testing.T, h *harness, token string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: token, Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: h.srv.URL + "/gemini/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// keysOf lists the keys the fake upstream saw for an action, oldest first.
func keysOf(h *harness, action string) []string {
	var out []string
	for _, r := range h.fake.Requests() {
		if r.Action == action {
			out = append(out, r.Key)
		}
	}
	return out
}

func TestFilesUploadThenGenerateWithTheSameKey(t *testing.T) {
	t.Parallel()
	h := filesHarness(t)
	ctx := context.Background()
	c := genaiClient(t, h, clientToken)
	f, err := c.Files.Upload(ctx, strings.NewReader("The secret word is banana."), &genai.UploadFileConfig{MIMEType: "text/plain", DisplayName: "notes"})
	if err != nil {
		t.Fatal(err)
	}
	owner, ok := h.fake.FileOwner(f.Name)
	if !ok || f.DisplayName != "notes" || f.SizeBytes == nil || *f.SizeBytes != 26 || f.State != genai.FileStateActive {
		t.Fatalf("uploaded %+v (owner %v)", f, ok)
	}
	for _, action := range []string{"upload.start", "upload.chunk"} {
		for _, k := range keysOf(h, action) {
			if k != owner {
				t.Fatalf("%s went out with another key than the upload's", action)
			}
		}
	}

	// Round robin would alternate between the two keys; the file pins every call to its own.
	for i := range 4 {
		resp, err := c.Models.GenerateContent(ctx, "gemini-2.5-flash", []*genai.Content{genai.NewContentFromParts(
			[]*genai.Part{genai.NewPartFromText("What is the word?"), genai.NewPartFromURI(f.URI, f.MIMEType)}, genai.RoleUser)}, nil)
		if err != nil {
			t.Fatalf("generate %d: %v", i, err)
		}
		if resp.Text() == "" {
			t.Fatalf("generate %d: empty answer", i)
		}
	}
	if gen := keysOf(h, "generateContent"); len(gen) != 4 || gen[3] != owner || gen[0] != owner {
		t.Fatalf("generate calls did not use the uploading key")
	}

	// The OpenAI API's file parts get the same affinity.
	r := h.do("POST", "/v1/chat/completions", map[string]any{"model": "gemini-2.5-flash", "messages": []any{map[string]any{"role": "user",
		"content": []any{map[string]any{"type": "text", "text": "Summarise"}, map[string]any{"type": "file", "file": map[string]any{"file_id": f.Name}}}}}},
		map[string]string{"Authorization": "Bearer " + clientToken})
	if gen := keysOf(h, "generateContent"); r.status != 200 || gen[len(gen)-1] != owner {
		t.Fatalf("OpenAI chat with the file: %d %s", r.status, r.body)
	}

	got, err := c.Files.Get(ctx, f.Name, nil)
	if err != nil || got.Name != f.Name || got.State != genai.FileStateActive {
		t.Fatalf("get: %+v %v", got, err)
	}
	page, err := c.Files.List(ctx, nil)
	if err != nil || len(page.Items) != 1 || page.Items[0].Name != f.Name {
		t.Fatalf("list: %+v %v", page.Items, err)
	}
	checkFileRow(t, h, f.Name, owner)

	// Another client token neither sees nor reaches the file.
	other := genaiClient(t, h, otherToken)
	if page, err := other.Files.List(ctx, nil); err != nil || len(page.Items) != 0 {
		t.Fatalf("other token lists %+v %v", page.Items, err)
	}
	if _, err := other.Files.Get(ctx, f.Name, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("other token reads the file: %v", err)
	}
	if _, err := other.Files.Delete(ctx, f.Name, nil); err == nil {
		t.Fatal("other token deleted the file")
	}

	if _, err := c.Files.Delete(ctx, f.Name, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.fake.FileOwner(f.Name); ok {
		t.Fatal("the file is still at Google")
	}
	if page, err := c.Files.List(ctx, nil); err != nil || len(page.Items) != 0 {
		t.Fatalf("list after delete: %+v %v", page.Items, err)
	}
}

// checkFileRow asserts the record names the key and the token by id only.
func checkFileRow(t *testing.T, h *harness, name, key string) {
	t.Helper()
	var apiKey string
	var token, keyID, ownerID sql.NullString
	err := h.app.Store.DB().QueryRow(h.app.Store.Rebind("SELECT api_key, user_token, key_id, owner_id FROM t_file_records WHERE name = ?"), name).
		Scan(&apiKey, &token, &keyID, &ownerID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(apiKey, key) || token.Valid || keyID.String != secret.ID(key) || ownerID.String != secret.ID(clientToken) {
		t.Fatalf("row: api_key %q user_token %v key_id %q owner_id %q", apiKey, token, keyID.String, ownerID.String)
	}
}

func TestFilesUploadURLAndRestart(t *testing.T) {
	t.Parallel()
	h := filesHarness(t)
	start := map[string]string{"x-goog-api-key": clientToken, "X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
		"X-Goog-Upload-Header-Content-Type": "text/plain", "X-Goog-Upload-Header-Content-Length": "5"}
	r := h.do("POST", "/upload/v1beta/files", `{"file":{"display_name":"five"}}`, start)
	link := r.header.Get("X-Goog-Upload-URL")
	if r.status != 200 || r.header.Get("X-Goog-Upload-Status") != "active" {
		t.Fatalf("start: %d %v %s", r.status, r.header, r.body)
	}
	u, err := url.Parse(link)
	if err != nil || u.Scheme+"://"+u.Host != h.srv.URL || u.Path != "/upload/v1beta/files" || u.Query().Get("key") != clientToken ||
		u.Query().Get("upload_id") == "" || strings.Contains(link, goodKey(0)) || strings.Contains(link, goodKey(1)) {
		t.Fatalf("upload URL %q", link)
	}

	// The session is in the database: the upload goes on after a restart.
	h.restart(nil)
	chunk := func(token string) result {
		return h.do("POST", u.Path+"?"+strings.Replace(u.RawQuery, url.QueryEscape(clientToken), url.QueryEscape(token), 1), "hello",
			map[string]string{"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0", "Content-Type": "text/plain"})
	}
	if r := chunk(otherToken); r.status != 404 {
		t.Fatalf("another token continued the upload: %d %s", r.status, r.body)
	}
	r = chunk(clientToken)
	if r.status != 200 || r.header.Get("X-Goog-Upload-Status") != "final" || !strings.Contains(string(r.body), `"displayName":"five"`) {
		t.Fatalf("finalize: %d %v %s", r.status, r.header, r.body)
	}
	r = h.do("GET", "/v1beta/files", nil, tokenHeader)
	if r.status != 200 || !strings.Contains(string(r.body), `"sizeBytes":"5"`) {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
}

func TestFilesCleanupDeletesExpired(t *testing.T) {
	t.Parallel()
	h := filesHarness(t)
	ctx := context.Background()
	c := genaiClient(t, h, clientToken)
	f, err := c.Files.Upload(ctx, strings.NewReader("old"), &genai.UploadFileConfig{MIMEType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour).UTC()
	if _, err := h.app.Store.DB().Exec(h.app.Store.Rebind("UPDATE t_file_records SET expiration_time = ?"), past); err != nil {
		t.Fatal(err)
	}
	done, err := h.app.Jobs.RunNow("files_cleanup")
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, ok := h.fake.FileOwner(f.Name); ok {
		t.Fatal("the expired file was not deleted at Google")
	}
	var n int
	if err := h.app.Store.DB().QueryRow("SELECT COUNT(*) FROM t_file_records").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d records left (%v)", n, err)
	}
	r := h.do(http.MethodGet, "/gemini/v1beta/files/"+strings.TrimPrefix(f.Name, "files/"), nil, tokenHeader)
	r.googleError(t, 404)
}
