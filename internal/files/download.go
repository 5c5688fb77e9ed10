package files

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gemgate/gemgate/internal/resources"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/upstream"
)

// download streams a file's bytes (files/{id}:download?alt=media: the videos of long-running
// operations) from Google with the key whose project holds the file, to the token that owns it.
func (h *Handler) download(w http.ResponseWriter, r *http.Request, token string) {
	id := strings.TrimSuffix(r.PathValue("id"), ":download")
	name := "files/" + id
	if id == "" || strings.ContainsAny(id, "/:") || h.Owners == nil {
		rpcstatus.Write(w, http.StatusNotFound, "Requested entity was not found: "+name+".")
		return
	}
	o, err := h.Owners.Lookup(r.Context(), name)
	switch {
	case errors.Is(err, resources.ErrUnknown) || (err == nil && h.isolated() && o.TokenID != secret.ID(token)):
		rpcstatus.Write(w, http.StatusNotFound, "Requested entity was not found: "+name+".")
		return
	case err != nil:
		rpcstatus.Write(w, http.StatusServiceUnavailable, "gemgate could not read its file records (database error); try again.")
		return
	}
	key, ok := h.Exec.Pool.LookupID(o.KeyID)
	if !ok {
		rpcstatus.Write(w, http.StatusNotFound, name+" belongs to a Gemini key that gemgate no longer has.")
		return
	}
	resp, err := h.Exec.Do(r.Context(), upstream.Call{Method: http.MethodGet, Path: name + ":download",
		Query: url.Values{"alt": {"media"}}, Key: key, Stream: true})
	if err != nil {
		var ue *upstream.Error
		if errors.As(err, &ue) && !ue.Canceled {
			rpcstatus.WriteStatus(w, ue.Status)
		}
		return
	}
	if resp.Stream == nil {
		writeAnswer(w, resp.StatusCode, resp.Header, resp.Body, key.Value())
		return
	}
	defer resp.Stream.Close()
	for _, k := range []string{"Content-Type", "Content-Disposition"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Stream)
}
