package files

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/publicurl"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/upstream"
)

// upload serves POST on the upload path: a new upload, or a chunk of one when the URL names the upload
// (the upload URL gemgate hands out points back here).
func (h *Handler) upload(w http.ResponseWriter, r *http.Request, token string) {
	if r.URL.Query().Get("upload_id") != "" {
		h.chunk(w, r, token)
		return
	}
	h.start(w, r, token)
}

// start begins a resumable upload at Google with a key from the pool (retried on another key like any
// call), remembers which key it was, and answers an upload URL on gemgate that carries the client's own
// token: the Gemini key never leaves gemgate.
func (h *Handler) start(w http.ResponseWriter, r *http.Request, token string) {
	snap := h.Settings()
	if p := r.Header.Get("X-Goog-Upload-Protocol"); p != "" && !strings.EqualFold(p, "resumable") {
		rpcstatus.Write(w, http.StatusBadRequest, "gemgate relays resumable uploads only: send X-Goog-Upload-Protocol: resumable.")
		return
	}
	if cmd := r.Header.Get("X-Goog-Upload-Command"); cmd != "" && !strings.Contains(strings.ToLower(cmd), "start") {
		rpcstatus.Write(w, http.StatusBadRequest, "Start an upload with X-Goog-Upload-Command: start, then send the file to the upload URL gemgate answers.")
		return
	}
	base := publicurl.FromRequest(r, snap)
	if base == "" {
		rpcstatus.Write(w, http.StatusBadRequest, "gemgate cannot tell its own address from this request's Host header; set PUBLIC_URL.")
		return
	}
	body, err := readSmall(r.Body)
	if err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, "Could not read the upload's metadata: "+err.Error())
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	resp, err := h.Exec.Do(r.Context(), upstream.Call{
		BaseURL: upstream.APIRoot(config.BaseURL.Get(snap)) + "/upload/v1beta", Path: "files", Body: body, Header: startHeaders(r),
	})
	if err != nil {
		upstream.WriteError(w, err)
		return
	}
	if resp.StatusCode != http.StatusOK {
		writeAnswer(w, resp.StatusCode, resp.Header, resp.Body, resp.Key.Value())
		return
	}
	uploadID, path, err := sessionPath(resp.Header.Get("X-Goog-Upload-URL"))
	if err != nil {
		rpcstatus.Write(w, http.StatusBadGateway, "Google started the upload but "+err.Error())
		return
	}
	now := h.clock()
	size, _ := strconv.ParseInt(r.Header.Get("X-Goog-Upload-Header-Content-Length"), 10, 64)
	sess := Session{Path: path, KeyID: resp.Key.ID(), OwnerID: secret.ID(token), DisplayName: displayName(body),
		MimeType: r.Header.Get("X-Goog-Upload-Header-Content-Type"), SizeBytes: size, Expires: now.Add(sessionTTL)}
	if err := h.Store.SaveSession(r.Context(), uploadID, sess, now); err != nil {
		h.logger().ErrorContext(r.Context(), "could not save an upload session", "err", err)
		rpcstatus.Write(w, http.StatusServiceUnavailable, "gemgate could not record the upload (database error); try again.")
		return
	}
	q := url.Values{"key": {token}, "upload_id": {uploadID}, "upload_protocol": {"resumable"}}
	w.Header().Set("X-Goog-Upload-URL", base+UploadPrefixes[0]+"?"+q.Encode())
	w.Header().Set("X-Goog-Upload-Status", "active")
	if g := resp.Header.Get("X-Goog-Upload-Chunk-Granularity"); g != "" {
		w.Header().Set("X-Goog-Upload-Chunk-Granularity", g)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write([]byte("{}"))
}

// startHeaders are the protocol headers of a start request, as Google expects them.
func startHeaders(r *http.Request) http.Header {
	hdr := http.Header{}
	hdr.Set("X-Goog-Upload-Protocol", "resumable")
	hdr.Set("X-Goog-Upload-Command", "start")
	for _, k := range []string{"X-Goog-Upload-Header-Content-Length", "X-Goog-Upload-Header-Content-Type"} {
		if v := r.Header.Get(k); v != "" {
			hdr.Set(k, v)
		}
	}
	return hdr
}

// sessionPath reads Google's upload URL: the upload id, and the path and query to continue at (without
// scheme and host, which follow BASE_URL, and without any key).
func sessionPath(raw string) (uploadID, path string, err error) {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return "", "", errors.New("answered no usable X-Goog-Upload-URL")
	}
	q := u.Query()
	uploadID = q.Get("upload_id")
	if uploadID == "" {
		return "", "", errors.New("its upload URL has no upload_id")
	}
	q.Del("key")
	return uploadID, u.EscapedPath() + "?" + q.Encode(), nil
}

// displayName reads the display name from the start request's metadata in any of its spellings
// (Google's {"file":{"displayName"}}, snake case, or the reference's top-level field).
func displayName(body []byte) string {
	var meta struct {
		File *struct {
			DisplayName      string `json:"displayName"`
			DisplayNameSnake string `json:"display_name"`
		} `json:"file"`
		DisplayName string `json:"displayName"`
	}
	if json.Unmarshal(body, &meta) != nil {
		return ""
	}
	if meta.File != nil {
		return firstOf(meta.File.DisplayName, meta.File.DisplayNameSnake)
	}
	return meta.DisplayName
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// chunk relays one request of an upload in progress (upload, finalize, query) to Google with the key
// the upload started with. The body streams through: a large file is never held in memory.
func (h *Handler) chunk(w http.ResponseWriter, r *http.Request, token string) {
	snap := h.Settings()
	uploadID := r.URL.Query().Get("upload_id")
	if uploadID == "" {
		rpcstatus.Write(w, http.StatusBadRequest, "This URL needs the upload_id of an upload started here.")
		return
	}
	sess, err := h.Store.Session(r.Context(), uploadID, h.clock())
	if err == nil && h.isolated() && sess.OwnerID != secret.ID(token) {
		err = ErrNotFound
	}
	switch {
	case errors.Is(err, ErrNotFound):
		rpcstatus.Write(w, http.StatusNotFound, "Upload session not found: it finished, expired, or was started with another token.")
		return
	case err != nil:
		rpcstatus.Write(w, http.StatusServiceUnavailable, "gemgate could not read the upload session (database error); try again.")
		return
	}
	key, ok := h.Exec.Pool.LookupID(sess.KeyID)
	if !ok {
		rpcstatus.Write(w, http.StatusConflict, "The Gemini key that started this upload is no longer configured; start the upload again.")
		return
	}
	resp, err := h.relayChunk(r, snap, sess, key)
	if err != nil {
		if r.Context().Err() == nil {
			rpcstatus.Write(w, http.StatusBadGateway, "Could not reach Google's upload service: "+string(secret.Redact([]byte(err.Error()), key.Value())))
		}
		return
	}
	defer resp.Body.Close()
	answer, err := readSmall(resp.Body)
	if err != nil {
		rpcstatus.Write(w, http.StatusBadGateway, "Google's upload answer could not be read: "+err.Error())
		return
	}
	done := resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated
	if done && strings.Contains(strings.ToLower(r.Header.Get("X-Goog-Upload-Command")), "finalize") {
		h.finalize(r.Context(), uploadID, sess, key, answer)
	}
	writeAnswer(w, resp.StatusCode, resp.Header, answer, key.Value())
}

// relayChunk sends the client's request on to Google's upload URL and notes the attempt in the log.
func (h *Handler) relayChunk(r *http.Request, snap *config.Snapshot, sess *Session, key *keypool.Key) (*http.Response, error) {
	target := upstream.APIRoot(config.BaseURL.Get(snap)) + sess.Path
	// The protocol has no GET: a status request is a POST with the query command.
	query := r.Method == http.MethodGet
	var body io.Reader
	if !query {
		// The transport closes a body it could not send; a proxy failover then needs it open.
		body = io.NopCloser(r.Body)
	}
	newReq := func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, target, body)
		if err != nil {
			return nil, err
		}
		if body != nil {
			req.ContentLength = r.ContentLength
		}
		for k, v := range config.CustomHeaders.Get(snap) {
			req.Header.Set(k, v)
		}
		for _, k := range []string{"Content-Type", "X-Goog-Upload-Command", "X-Goog-Upload-Offset"} {
			if v := r.Header.Get(k); v != "" {
				req.Header.Set(k, v)
			}
		}
		if query {
			req.Header.Set("X-Goog-Upload-Command", "query")
		}
		req.Header.Set("User-Agent", upstream.UserAgent)
		req.Header.Set("x-goog-api-key", key.Value())
		return req, nil
	}
	start := time.Now()
	resp, err := h.Exec.Client.Do(newReq, key.Value(), config.Proxies.Get(snap), config.ProxiesConsistentHash.Get(snap))
	a := reqlog.Attempt{KeyID: key.ID(), KeyMasked: key.Masked(), Class: "ok", Latency: time.Since(start), Started: start}
	switch {
	case err != nil:
		a.Class, a.Error = "transient", string(secret.Redact([]byte(err.Error()), key.Value()))
	case resp.StatusCode >= 400:
		a.Status, a.Class, a.Error = resp.StatusCode, "client_error", resp.Status
	default:
		a.Status = resp.StatusCode
	}
	reqlog.AddAttempt(r.Context(), a)
	return resp, err
}

// finalize records a completed upload from Google's answer ({"file": {...}}). A database failure does
// not fail the upload, which did succeed at Google; the file then only lacks its key affinity.
func (h *Handler) finalize(ctx context.Context, uploadID string, sess *Session, key *keypool.Key, answer []byte) {
	var out struct {
		File *remoteFile `json:"file"`
	}
	if json.Unmarshal(answer, &out) != nil || out.File == nil || out.File.Name == "" {
		h.logger().WarnContext(ctx, "Google finalized an upload without a file in its answer; it is not recorded")
		return
	}
	now := h.clock()
	rec := out.File.record(now, config.BaseURL.Get(h.Settings()))
	rec.KeyID, rec.KeyMasked, rec.OwnerID = key.ID(), key.Masked(), sess.OwnerID
	rec.DisplayName = firstOf(rec.DisplayName, sess.DisplayName)
	rec.MimeType = firstOf(rec.MimeType, sess.MimeType, "application/octet-stream")
	if rec.SizeBytes == 0 {
		rec.SizeBytes = sess.SizeBytes
	}
	if err := h.Store.Save(ctx, rec); err != nil {
		h.logger().ErrorContext(ctx, "could not record an uploaded file; requests that use it will not get its key", "file", rec.Name, "err", err)
		return
	}
	if err := h.Store.DeleteSession(ctx, uploadID); err != nil {
		h.logger().WarnContext(ctx, "could not delete a finished upload session; it expires by itself", "err", err)
	}
}

// remoteFile is Google's File resource.
type remoteFile struct {
	Name           string `json:"name"`
	DisplayName    string `json:"displayName"`
	MimeType       string `json:"mimeType"`
	SizeBytes      string `json:"sizeBytes"`
	CreateTime     string `json:"createTime"`
	UpdateTime     string `json:"updateTime"`
	ExpirationTime string `json:"expirationTime"`
	SHA256Hash     string `json:"sha256Hash"`
	URI            string `json:"uri"`
	State          string `json:"state"`
}

func (f *remoteFile) record(now time.Time, baseURL string) *Record {
	size, _ := strconv.ParseInt(f.SizeBytes, 10, 64)
	r := &Record{Name: f.Name, DisplayName: f.DisplayName, MimeType: f.MimeType, SizeBytes: size, SHA256: f.SHA256Hash,
		State: normalizeState(f.State), Created: parseTime(f.CreateTime, now), Updated: parseTime(f.UpdateTime, now),
		Expires: parseTime(f.ExpirationTime, now.Add(defaultFileTTL)), URI: f.URI}
	if r.URI == "" {
		r.URI = strings.TrimRight(baseURL, "/") + "/" + f.Name
	}
	return r
}

// normalizeState keeps to the states Gemini Balance's schema allows (an ENUM on MySQL).
func normalizeState(s string) string {
	switch s {
	case "ACTIVE", "FAILED":
		return s
	}
	return "PROCESSING"
}

func parseTime(s string, fallback time.Time) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	return fallback.UTC()
}
