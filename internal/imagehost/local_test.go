package imagehost

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/publicurl"
	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/store/storetest"
)

func settings(t *testing.T, env map[string]string) func() *config.Snapshot {
	t.Helper()
	snap, err := config.FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	return func() *config.Snapshot { return snap }
}

func TestLocalStoreServesAndExpires(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		l := NewLocal(st)
		now := time.Now()
		l.now = func() time.Time { return now }
		file, err := l.Put(context.Background(), Image{MimeType: "image/PNG", Data: testImage.Data}, time.Hour, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		id, ext, _ := strings.Cut(file, ".")
		if len(id) < 32 || ext != "png" {
			t.Fatalf("file name %q", file)
		}
		mux := http.NewServeMux()
		l.Register(mux)
		get := func(path string, hdr map[string]string) *httptest.ResponseRecorder {
			req := httptest.NewRequest("GET", path, nil)
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			return rec
		}
		rec := get("/img/"+file, nil)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" || !bytes.Equal(rec.Body.Bytes(), testImage.Data) ||
			!strings.Contains(rec.Header().Get("Cache-Control"), "max-age=3600") || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET: %d %v %q", rec.Code, rec.Header(), rec.Body.Bytes())
		}
		if rec := get("/img/"+file, map[string]string{"If-None-Match": rec.Header().Get("ETag")}); rec.Code != http.StatusNotModified {
			t.Fatalf("conditional GET: %d", rec.Code)
		}
		for _, bad := range []string{"/img/" + strings.Repeat("0", 40) + ".png", "/img/..%2fetc", "/img/" + id[:20] + ".png"} {
			if rec := get(bad, nil); rec.Code != 404 {
				t.Fatalf("%s: %d", bad, rec.Code)
			}
		}
		now = now.Add(2 * time.Hour)
		if rec := get("/img/"+file, nil); rec.Code != 404 {
			t.Fatalf("expired image served: %d", rec.Code)
		}
		if n, err := l.DeleteExpired(context.Background()); err != nil || n != 1 {
			t.Fatalf("DeleteExpired: %d %v", n, err)
		}
	})
}

func TestLocalStoreRefusesLargeAndScriptableImages(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	l := NewLocal(st)
	if _, err := l.Put(context.Background(), Image{MimeType: "image/png", Data: make([]byte, 2<<20)}, time.Hour, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("large image: %v", err)
	}
	if _, err := l.Put(context.Background(), Image{MimeType: "image/svg+xml", Data: []byte("<svg/>")}, time.Hour, 1<<20); err == nil {
		t.Fatal("SVG stored")
	}
}

func TestHostLocalLinkUnderPublicURL(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	h := &Host{Settings: settings(t, map[string]string{"PUBLIC_URL": "https://gw.example.com/base/"}), Local: NewLocal(st)}
	b64 := base64.StdEncoding.EncodeToString(testImage.Data)
	ctx := publicurl.With(context.Background(), "https://gw.example.com/base")
	got := h.ImageMarkdown(ctx, "image/png", b64)
	if !strings.HasPrefix(got, "![image](https://gw.example.com/base/img/") || !strings.HasSuffix(got, ".png)") {
		t.Fatalf("%s", got)
	}
}

func TestHostFallsBackToDataURL(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString(testImage.Data)
	var logged bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logged, nil))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"smms without token", map[string]string{"UPLOAD_PROVIDER": "smms"}, "SMMS_SECRET_TOKEN"},
		{"local without any base URL", map[string]string{}, "PUBLIC_URL"},
		{"imgbed failing", map[string]string{"UPLOAD_PROVIDER": "cloudflare_imgbed", "CLOUDFLARE_IMGBED_URL": srv.URL + "/upload",
			"CLOUDFLARE_IMGBED_AUTH_CODE": "c"}, "500"},
	}
	st := storetest.Open(t, store.SQLite)
	for _, c := range cases {
		logged.Reset()
		h := &Host{Settings: settings(t, c.env), Local: NewLocal(st), Logger: logger}
		if got := h.ImageURL(context.Background(), "image/png", b64); got != "data:image/png;base64,"+b64 {
			t.Errorf("%s: %s", c.name, got)
		}
		if !strings.Contains(logged.String(), c.want) {
			t.Errorf("%s: log %q lacks %q", c.name, logged.String(), c.want)
		}
	}
}

func TestObjectName(t *testing.T) {
	t.Parallel()
	n := ObjectName("image/jpeg", time.Date(2025, 1, 31, 23, 0, 0, 0, time.UTC))
	if !strings.HasPrefix(n, "2025/01/31/") || !strings.HasSuffix(n, ".jpg") || len(n) != len("2025/01/31/")+16+4 {
		t.Fatal(n)
	}
}
