package imagehost

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/jobs"
	"github.com/gemgate/gemgate/internal/store"
)

// idBytes is the randomness of a local image's name: 160 bits as 40 hex characters, so a link cannot be
// guessed and serving it needs no authentication.
const idBytes = 20

// ErrTooLarge is an image over LOCAL_IMAGE_MAX_MB.
var ErrTooLarge = errors.New("image larger than LOCAL_IMAGE_MAX_MB")

// Local is the built-in image host (UPLOAD_PROVIDER=local): images in the gg_images table, served at
// /img/<id>.<ext> until they expire.
type Local struct {
	st  *store.Store
	now func() time.Time
}

// NewLocal keeps images in st.
func NewLocal(st *store.Store) *Local { return &Local{st: st, now: time.Now} }

// Put stores img for ttl and returns its file name (<id>.<ext>).
func (l *Local) Put(ctx context.Context, img Image, ttl time.Duration, limit int64) (string, error) {
	mt := normalizeMime(img.MimeType)
	ext, ok := extensions[mt]
	if !ok {
		return "", fmt.Errorf("gemgate hosts only PNG, JPEG, WebP and GIF images, not %q", img.MimeType)
	}
	if int64(len(img.Data)) > limit {
		return "", fmt.Errorf("%w (%d MiB)", ErrTooLarge, limit>>20)
	}
	id := randomHex(idBytes)
	now := l.now()
	_, err := l.st.Exec(ctx, "INSERT INTO gg_images (id, mime_type, data, size_bytes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
		id, mt, img.Data, len(img.Data), now.Unix(), now.Add(ttl).Unix())
	if err != nil {
		return "", fmt.Errorf("storing the image: %w", err)
	}
	return id + ext, nil
}

// Register mounts GET /img/{file}. No authentication: the name is the capability, as with any image
// host, so that chat clients and browsers can show the picture.
func (l *Local) Register(mux *http.ServeMux) {
	mux.Handle("GET /img/{file}", l)
}

// ServeHTTP serves one stored image, cacheable until it expires.
func (l *Local) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, _, _ := strings.Cut(r.PathValue("file"), ".")
	if !validID(id) {
		http.NotFound(w, r)
		return
	}
	var mt string
	var data []byte
	var created, expires int64
	err := l.st.QueryRow(r.Context(), "SELECT mime_type, data, created_at, expires_at FROM gg_images WHERE id = ? AND expires_at > ?",
		id, l.now().Unix()).Scan(&mt, &data, &created, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		http.Error(w, "This image does not exist or has expired.", http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, "Could not read the image.", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	etag := `"` + id + `"`
	maxAge := max(expires-l.now().Unix(), 0)
	h.Set("Cache-Control", "public, max-age="+strconv.FormatInt(maxAge, 10)+", immutable")
	h.Set("ETag", etag)
	h.Set("Last-Modified", time.Unix(created, 0).UTC().Format(http.TimeFormat))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", mt)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}

func validID(id string) bool {
	if len(id) != 2*idBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// DeleteExpired removes images past their time and returns how many.
func (l *Local) DeleteExpired(ctx context.Context) (int64, error) {
	res, err := l.st.Exec(ctx, "DELETE FROM gg_images WHERE expires_at <= ?", l.now().Unix())
	if err != nil {
		return 0, fmt.Errorf("deleting expired images: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// CleanupJob deletes expired images every hour. Expired images are never served anyway; the job only
// gives the space back.
func (l *Local) CleanupJob() jobs.Job {
	return jobs.Job{
		Name:    "local_image_cleanup",
		Every:   func(*config.Snapshot) time.Duration { return time.Hour },
		Timeout: 10 * time.Minute,
		Run: func(ctx context.Context) error {
			_, err := l.DeleteExpired(ctx)
			return err
		},
	}
}
