package files

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/store/storetest"
	"github.com/gemgate/gemgate/internal/testutil"
	"github.com/gemgate/gemgate/internal/upstream"
)

// TestChunkStreamsThrough proves an upload is relayed while it arrives: Google's side sees the first
// megabyte before the client has sent the second. A gateway that read the body first would wait here
// for a client that waits for it.
func TestChunkStreamsThrough(t *testing.T) {
	t.Parallel()
	const key, token, half = "AIzaSyStream000000000000000000000000000", "client-token-stream", 1 << 20
	got := make(chan struct{})
	var total int64
	google := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-goog-api-key") != key || r.URL.Query().Get("upload_id") != "u1" || r.Header.Get("X-Goog-Upload-Command") != "upload, finalize" {
			t.Errorf("upstream request: %s %v", r.URL, r.Header)
		}
		n, _ := io.CopyN(io.Discard, r.Body, half)
		close(got)
		rest, _ := io.Copy(io.Discard, r.Body)
		total = n + rest
		w.Header().Set("X-Goog-Upload-Status", "final")
		_, _ = io.WriteString(w, `{"file":{"name":"files/streamed","mimeType":"application/octet-stream","sizeBytes":"2097152","state":"ACTIVE"}}`)
	}))
	defer google.Close()

	snap, err := config.FromEnv(map[string]string{"BASE_URL": google.URL + "/v1beta", "ALLOWED_TOKENS": `["` + token + `"]`})
	if err != nil {
		t.Fatal(err)
	}
	settings := func() *config.Snapshot { return snap }
	st := storetest.Open(t, store.SQLite)
	pool := keypool.New([]string{key}, 3)
	h := &Handler{Exec: &upstream.Executor{Pool: pool, Client: upstream.NewClient(), Settings: settings}, Settings: settings,
		Store: NewStore(st)}
	k, _ := pool.Lookup(key)
	sess := Session{Path: "/upload/v1beta/files?upload_id=u1&upload_protocol=resumable", KeyID: k.ID(), OwnerID: secret.ID(token),
		Expires: time.Now().Add(time.Hour)}
	if err := h.Store.SaveSession(context.Background(), "u1", sess, time.Now()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	gw := httptest.NewServer(auth.NewTokens(snap).Door(func(*http.Request) bool { return true },
		func(w http.ResponseWriter, _ *http.Request, _ auth.Refusal) { w.WriteHeader(http.StatusUnauthorized) }, mux))
	defer gw.Close()

	pr, pw := io.Pipe()
	go func() {
		defer pw.Close()
		chunk := strings.Repeat("x", half)
		_, _ = io.WriteString(pw, chunk)
		select {
		case <-got:
		case <-time.After(testutil.GiveUp):
			t.Error("Google saw nothing before the client finished: the upload was buffered")
			return
		}
		_, _ = io.WriteString(pw, chunk)
	}()
	req, _ := http.NewRequest("POST", gw.URL+"/upload/v1beta/files?upload_id=u1&key="+token, pr)
	req.Header.Set("X-Goog-Upload-Command", "upload, finalize")
	req.Header.Set("X-Goog-Upload-Offset", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || total != 2*half || resp.Header.Get("X-Goog-Upload-Status") != "final" {
		t.Fatalf("%d %v %s (upstream got %d bytes)", resp.StatusCode, resp.Header, body, total)
	}
	rec, err := h.Store.Get(context.Background(), "files/streamed", time.Now())
	if err != nil || rec.KeyID != k.ID() || rec.SizeBytes != 2*half {
		t.Fatalf("record %+v %v", rec, err)
	}
	if _, err := h.Store.Session(context.Background(), "u1", time.Now()); err == nil {
		t.Fatal("the finished session is still there")
	}
}
