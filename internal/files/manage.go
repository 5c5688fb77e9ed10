package files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/jobs"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/resources"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/upstream"
)

// fileJSON is Google's File resource as gemgate lists it from its records.
type fileJSON struct {
	Name           string `json:"name"`
	DisplayName    string `json:"displayName,omitempty"`
	MimeType       string `json:"mimeType"`
	SizeBytes      string `json:"sizeBytes"`
	CreateTime     string `json:"createTime"`
	UpdateTime     string `json:"updateTime"`
	ExpirationTime string `json:"expirationTime"`
	SHA256Hash     string `json:"sha256Hash,omitempty"`
	URI            string `json:"uri"`
	State          string `json:"state"`
}

func toJSON(r *Record) fileJSON {
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	return fileJSON{Name: r.Name, DisplayName: r.DisplayName, MimeType: r.MimeType, SizeBytes: strconv.FormatInt(r.SizeBytes, 10),
		CreateTime: ts(r.Created), UpdateTime: ts(r.Updated), ExpirationTime: ts(r.Expires), SHA256Hash: r.SHA256, URI: r.URI, State: r.State}
}

// list answers files.list from the records: only files uploaded through gemgate are known, and with
// isolation only the caller's. pageToken is an offset, as in the reference.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, token string) {
	offset, size, err := resources.Page(r.URL.Query(), 10)
	if err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	var owner *Owner
	if h.isolated() {
		owner = &Owner{ID: secret.ID(token), Token: token}
	}
	recs, err := h.Store.List(r.Context(), h.clock(), owner, offset, size+1)
	if err != nil {
		h.logger().ErrorContext(r.Context(), "listing files", "err", err)
		rpcstatus.Write(w, http.StatusServiceUnavailable, "gemgate could not read its file records (database error).")
		return
	}
	out := struct {
		Files         []fileJSON `json:"files,omitempty"`
		NextPageToken string     `json:"nextPageToken,omitempty"`
	}{}
	if len(recs) > size {
		recs, out.NextPageToken = recs[:size], strconv.Itoa(offset+size)
	}
	for _, rec := range recs {
		out.Files = append(out.Files, toJSON(rec))
	}
	writeJSON(w, http.StatusOK, out)
}

// record finds the caller's record of the file in the path, answering 404 itself otherwise: a file of
// another client looks exactly like one that does not exist.
func (h *Handler) record(w http.ResponseWriter, r *http.Request, token string) (*Record, bool) {
	name := "files/" + r.PathValue("id")
	rec, err := h.Store.Get(r.Context(), name, h.clock())
	if err == nil && h.isolated() && !rec.Owned(secret.ID(token)) {
		err = ErrNotFound
	}
	switch {
	case errors.Is(err, ErrNotFound):
		rpcstatus.Write(w, http.StatusNotFound, "File "+name+" was not found: it expired, was deleted, or was not uploaded through this gateway with your token.")
		return nil, false
	case err != nil:
		h.logger().ErrorContext(r.Context(), "reading a file record", "err", err)
		rpcstatus.Write(w, http.StatusServiceUnavailable, "gemgate could not read its file records (database error).")
		return nil, false
	}
	return rec, true
}

// keyOf is the pool's key that uploaded rec.
func (h *Handler) keyOf(rec *Record) (*keypool.Key, bool) {
	if rec.KeyID != "" {
		return h.Exec.Pool.LookupID(rec.KeyID)
	}
	return h.Exec.Pool.Lookup(rec.legacyKey)
}

// get answers files.get live from Google (with the uploading key), keeping the recorded state current.
func (h *Handler) get(w http.ResponseWriter, r *http.Request, token string) {
	if strings.HasSuffix(r.PathValue("id"), ":download") {
		h.download(w, r, token)
		return
	}
	rec, ok := h.record(w, r, token)
	if !ok {
		return
	}
	key, ok := h.keyOf(rec)
	if !ok {
		// Google cannot be asked without the key; what gemgate recorded is the best answer left.
		writeJSON(w, http.StatusOK, toJSON(rec))
		return
	}
	resp, err := h.Exec.Do(r.Context(), upstream.Call{Method: http.MethodGet, Path: rec.Name, Key: key})
	if err != nil {
		upstream.WriteError(w, err)
		return
	}
	if resp.StatusCode == http.StatusOK {
		var f remoteFile
		if json.Unmarshal(resp.Body, &f) == nil && f.State != "" && normalizeState(f.State) != rec.State {
			if err := h.Store.SetState(r.Context(), rec.Name, normalizeState(f.State), h.clock()); err != nil {
				h.logger().WarnContext(r.Context(), "could not update a file's state", "file", rec.Name, "err", err)
			}
		}
	}
	writeAnswer(w, resp.StatusCode, resp.Header, resp.Body, key.Value())
}

// remove deletes the file at Google and its record. A file Google no longer has (404), or whose key
// is gone, only loses its record: it expires at Google by itself.
func (h *Handler) remove(w http.ResponseWriter, r *http.Request, token string) {
	rec, ok := h.record(w, r, token)
	if !ok {
		return
	}
	if key, ok := h.keyOf(rec); ok {
		resp, err := h.Exec.Do(r.Context(), upstream.Call{Method: http.MethodDelete, Path: rec.Name, Key: key})
		if err != nil {
			upstream.WriteError(w, err)
			return
		}
		if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotFound {
			writeAnswer(w, resp.StatusCode, resp.Header, resp.Body, key.Value())
			return
		}
	}
	if err := h.Store.Delete(r.Context(), rec.Name); err != nil {
		h.logger().ErrorContext(r.Context(), "deleting a file record", "err", err)
		rpcstatus.Write(w, http.StatusServiceUnavailable, "The file was deleted at Google, but gemgate could not delete its record (database error).")
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		rpcstatus.Write(w, http.StatusInternalServerError, "could not encode the answer")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// cleanupBatch bounds the files deleted per pass; a pass repeats until none is left.
const cleanupBatch = 200

// CleanupJob deletes expired files at Google (best effort, with the uploading key) and their records,
// and forgets unfinished uploads, every FILES_CLEANUP_INTERVAL_HOURS while FILES_CLEANUP_ENABLED.
func (h *Handler) CleanupJob() jobs.Job {
	return jobs.Job{
		Name: "files_cleanup",
		Every: func(s *config.Snapshot) time.Duration {
			if !config.FilesCleanupEnabled.Get(s) {
				return 0
			}
			return time.Duration(config.FilesCleanupIntervalHours.Get(s)) * time.Hour
		},
		Timeout: 30 * time.Minute,
		Run:     h.Cleanup,
	}
}

// Cleanup runs one clean-up pass.
func (h *Handler) Cleanup(ctx context.Context) error {
	if err := h.Store.DeleteExpiredSessions(ctx, h.clock()); err != nil {
		return fmt.Errorf("deleting expired upload sessions: %w", err)
	}
	for {
		recs, err := h.Store.Expired(ctx, h.clock(), cleanupBatch)
		if err != nil || len(recs) == 0 {
			return err
		}
		for _, rec := range recs {
			if key, ok := h.keyOf(rec); ok {
				// Google deletes expired files itself; this only makes sure, so its answer does not matter.
				_, _ = h.Exec.Do(ctx, upstream.Call{Method: http.MethodDelete, Path: rec.Name, Key: key})
			}
			if err := h.Store.Delete(ctx, rec.Name); err != nil {
				return fmt.Errorf("deleting the record of %s: %w", rec.Name, err)
			}
		}
	}
}
