// Package files serves Google's Files API through gemgate: the resumable upload protocol (start, upload,
// finalize, query) relayed to Google with one pool key, and list / get / delete of the files uploaded
// this way. Google lets only the key that uploaded a file read it, so the key is remembered with the
// file (as its id, never in full) and later requests that reference the file are sent with it
// (KeyFor). Each file belongs to the client token that uploaded it (FILES_USER_ISOLATION_ENABLED).
package files

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/resources"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/upstream"
)

// sessionTTL is how long an unfinished upload can be resumed; Google keeps its upload sessions for
// about a week, but a file itself lives only 48 hours.
const sessionTTL = 48 * time.Hour

// defaultFileTTL is Google's lifetime of an uploaded file, used when its answer has no expirationTime.
const defaultFileTTL = 48 * time.Hour

// maxMetadataBytes bounds the JSON of a start request and of Google's small answers.
const maxMetadataBytes = 1 << 20

// UploadPrefixes are where the upload protocol is served: Google's own path, and under /gemini for
// clients whose base URL ends in /gemini.
var UploadPrefixes = []string{"/upload/v1beta/files", "/gemini/upload/v1beta/files"}

// DownloadPrefix is where Google serves the bytes of generated files (files/{id}:download?alt=media);
// the same downloads are also served under FilePrefixes.
const DownloadPrefix = "/download/v1beta/files"

// FilePrefixes are where files are listed, read and deleted (the native API's prefixes).
var FilePrefixes = []string{"/v1beta/files", "/gemini/v1beta/files", "/gemini/v1/files"}

// Handler serves the Files API. Exec is the Gemini pool's executor: uploads pick their key there.
type Handler struct {
	Exec     *upstream.Executor
	Settings func() *config.Snapshot
	Store    *Store
	// Owners knows the key and token of files Google generated (videos of long-running operations).
	Owners Owners
	Logger *slog.Logger
	now    func() time.Time
}

// Register mounts the routes.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, p := range UploadPrefixes {
		mux.Handle("POST "+p, h.authorized(h.upload))
		mux.Handle("PUT "+p, h.authorized(h.chunk))
		mux.Handle("GET "+p, h.authorized(h.chunk))
	}
	mux.Handle("GET "+DownloadPrefix+"/{id}", h.authorized(h.download))
	for _, p := range FilePrefixes {
		mux.Handle("GET "+p, h.authorized(h.list))
		mux.Handle("GET "+p+"/{id}", h.authorized(h.get))
		mux.Handle("DELETE "+p+"/{id}", h.authorized(h.remove))
	}
}

// Owners looks up who owns a resource (internal/resources.Registry).
type Owners interface {
	Lookup(ctx context.Context, name string) (*resources.Owner, error)
}

// authorized serves requests the front door (internal/api) accepted, with the client token of their
// grant (files remember their owner by it); it never reads credentials.
func (h *Handler) authorized(next func(http.ResponseWriter, *http.Request, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := auth.GrantFrom(r.Context())
		if g == nil {
			rpcstatus.Write(w, http.StatusUnauthorized, "Missing gemgate token: send one of ALLOWED_TOKENS as ?key=, the x-goog-api-key header or Authorization: Bearer.")
			return
		}
		next(w, r, g.Token())
	})
}

func (h *Handler) clock() time.Time {
	if h.now != nil {
		return h.now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// isolated reports whether each token sees only its own files.
func (h *Handler) isolated() bool { return config.FilesUserIsolationEnabled.Get(h.Settings()) }

// relayHeaders are the answer headers of the upload protocol that clients read.
var relayHeaders = []string{"X-Goog-Upload-Status", "X-Goog-Upload-Size-Received", "X-Goog-Upload-Chunk-Granularity", "Content-Type"}

// writeAnswer relays an upstream answer: status, protocol headers and the body with the key masked.
func writeAnswer(w http.ResponseWriter, status int, hdr http.Header, body []byte, key string) {
	for _, k := range relayHeaders {
		if v := hdr.Get(k); v != "" {
			w.Header().Set(k, string(secret.Redact([]byte(v), key)))
		}
	}
	if w.Header().Get("Content-Type") == "" && len(body) > 0 {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write(secret.Redact(body, key))
}

// readSmall reads a body that is JSON metadata, not a file.
func readSmall(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxMetadataBytes+1))
	if err == nil && len(b) > maxMetadataBytes {
		err = errTooLarge
	}
	return b, err
}

var errTooLarge = errors.New("the metadata is larger than 1 MiB")
