package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/limits"
	"github.com/gemgate/gemgate/internal/resources"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/upstream"
)

// tokenMetaLimit bounds an auth_tokens request: a setup and a few times, no media.
const tokenMetaLimit = 1 << 20

// tokenTTLFallback is Google's default lifetime of an ephemeral token, used when the request sets none.
const tokenTTLFallback = 30 * time.Minute

// tokenRequest is what gemgate reads of an auth_tokens create body.
type tokenRequest struct {
	ExpireTime string `json:"expireTime"`
	Setup      *struct {
		Model string `json:"model"`
	} `json:"bidiGenerateContentSetup"`
}

// createToken mints an ephemeral token on a pool key (with the usual retries: nothing exists yet) and
// records it under that key and the caller's token, so that a browser connecting with it is sent to the
// key whose project issued it and logged under the token that paid for it.
func (h *Handler) createToken(version string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap := h.Settings()
		body, err := limits.ReadBody(w, r, tokenMetaLimit)
		if err != nil {
			rpcstatus.Write(w, http.StatusRequestEntityTooLarge, "An auth_tokens request is metadata; its body is limited to 1 MiB.")
			return
		}
		if len(bytes.TrimSpace(body)) == 0 {
			body = []byte("{}") // the SDKs send no body for a token with Google's defaults
		}
		var req tokenRequest
		if json.Unmarshal(body, &req) != nil {
			rpcstatus.Write(w, http.StatusBadRequest, "Invalid JSON payload for auth_tokens.")
			return
		}
		root, err := apiRoot(config.BaseURL.Get(snap))
		if err != nil {
			rpcstatus.Write(w, http.StatusBadGateway, err.Error())
			return
		}
		call := upstream.Call{Path: "auth_tokens", BaseURL: root.String() + "/" + version, Body: body}
		if req.Setup != nil && req.Setup.Model != "" {
			// The token can only open sessions of this model: the caller must be allowed it.
			call.Model = strings.TrimPrefix(req.Setup.Model, "models/")
			call.QuotaModel = call.Model
		}
		resp, err := h.Exec.Do(r.Context(), call)
		if err != nil {
			upstream.WriteError(w, err)
			return
		}
		if resp.StatusCode == http.StatusOK {
			if err := h.rememberToken(r, resp, req); err != nil {
				rpcstatus.Write(w, http.StatusServiceUnavailable, "The token was created but gemgate could not record it (database error); create another.")
				return
			}
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(resp.Body)
	}
}

func (h *Handler) rememberToken(r *http.Request, resp *upstream.Response, req tokenRequest) error {
	var tok struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(resp.Body, &tok) != nil || !strings.HasPrefix(tok.Name, tokenKind) {
		return errors.New("no auth_tokens name in Google's answer")
	}
	expires, err := time.Parse(time.RFC3339Nano, req.ExpireTime)
	if err != nil {
		expires = time.Now().Add(tokenTTLFallback)
	}
	return h.Resources.Record(r.Context(), resources.Owner{Name: tokenKind + digest(tok.Name), KeyID: resp.Key.ID(),
		TokenID: auth.CallerID(r.Context()), Expires: expires})
}
