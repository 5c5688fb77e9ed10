package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
)

// TokenStore keeps the managed client tokens (store.Store).
type TokenStore interface {
	ListClientTokens(ctx context.Context) ([]store.ClientToken, error)
	CreateClientToken(ctx context.Context, t store.ClientToken) (store.ClientToken, error)
	UpdateClientToken(ctx context.Context, t store.ClientToken) error
	DeleteClientToken(ctx context.Context, id int64) error
}

// Tokens manages client tokens with limits: name, on/off, expiry, model allow-list and daily quota.
// ALLOWED_TOKENS are listed alongside, read-only: they stay the tokens without limits.
type Tokens struct {
	Settings *config.Manager
	Store    TokenStore
	Tokens   *auth.Tokens
	// Reload applies the stored tokens to this instance at once (others pick them up within seconds).
	Reload func(ctx context.Context) error
}

// Register mounts GET/POST /api/tokens and PUT/DELETE /api/tokens/{id}.
func (t *Tokens) Register(h *Handler) {
	h.Handle("GET /api/tokens", t.list)
	h.Handle("POST /api/tokens", t.create)
	h.Handle("PUT /api/tokens/{id}", t.update)
	h.Handle("DELETE /api/tokens/{id}", t.remove)
}

// Limits of what an admin may enter.
const (
	maxTokenName   = 100
	minTokenLength = 16
	maxTokenLength = 200
	maxTokenModels = 200
)

type tokenView struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Token      string     `json:"token"` // masked unless ?reveal=1
	TokenID    string     `json:"token_id"`
	Source     string     `json:"source"` // "panel" or "ALLOWED_TOKENS"
	ReadOnly   bool       `json:"read_only"`
	Enabled    bool       `json:"enabled"`
	Active     bool       `json:"active"` // enabled and not expired
	ExpiresAt  *time.Time `json:"expires_at"`
	Models     []string   `json:"models"`
	DailyQuota int64      `json:"daily_quota"`
	UsedToday  int64      `json:"used_today"`
	CreatedAt  *time.Time `json:"created_at,omitempty"`
	UpdatedAt  *time.Time `json:"updated_at,omitempty"`
}

func (t *Tokens) view(ct store.ClientToken, reveal bool, now time.Time) tokenView {
	v := tokenView{ID: ct.ID, Name: ct.Name, Token: secret.Mask(ct.Token), TokenID: secret.ID(ct.Token), Source: "panel",
		Enabled: ct.Enabled, Models: ct.Models, DailyQuota: ct.DailyQuota, UsedToday: t.Tokens.Used(ct.ID)}
	if reveal {
		v.Token = ct.Token
	}
	if v.Models == nil {
		v.Models = []string{}
	}
	if !ct.ExpiresAt.IsZero() {
		e := ct.ExpiresAt
		v.ExpiresAt = &e
	}
	v.Active = ct.Enabled && (ct.ExpiresAt.IsZero() || now.Before(ct.ExpiresAt))
	c, u := ct.CreatedAt, ct.UpdatedAt
	v.CreatedAt, v.UpdatedAt = &c, &u
	return v
}

func (t *Tokens) list(w http.ResponseWriter, r *http.Request) {
	out, err := t.views(r.Context(), r.URL.Query().Get("reveal") == "1")
	if err != nil {
		rpcstatus.Write(w, http.StatusServiceUnavailable, "Could not read the client tokens: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

// views lists ALLOWED_TOKENS, then the tokens managed in the panel.
func (t *Tokens) views(ctx context.Context, reveal bool) ([]tokenView, error) {
	stored, err := t.Store.ListClientTokens(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := []tokenView{}
	for i, tok := range config.AllowedTokens.Get(t.Settings.Current()) {
		v := tokenView{Name: fmt.Sprintf("ALLOWED_TOKENS #%d", i+1), Token: secret.Mask(tok), TokenID: secret.ID(tok),
			Source: "ALLOWED_TOKENS", ReadOnly: true, Enabled: true, Active: true, Models: []string{}}
		if reveal {
			v.Token = tok
		}
		out = append(out, v)
	}
	for _, ct := range stored {
		out = append(out, t.view(ct, reveal, now))
	}
	return out, nil
}

// labels names each client token by its id, as the panel shows owners: "name (masked token)".
func (t *Tokens) labels(ctx context.Context) map[string]string {
	views, _ := t.views(ctx, false) // without the stored tokens, owners show as ids
	out := make(map[string]string, len(views))
	for _, v := range views {
		out[v.TokenID] = v.Name + " (" + v.Token + ")"
	}
	return out
}

// tokenInput is the body of POST and PUT. Absent fields keep their value on PUT; expires_at may be
// RFC 3339 text, Unix seconds, or null for never.
type tokenInput struct {
	Name       *string         `json:"name"`
	Token      *string         `json:"token"`
	Enabled    *bool           `json:"enabled"`
	ExpiresAt  json.RawMessage `json:"expires_at"`
	Models     *[]string       `json:"models"`
	DailyQuota *int64          `json:"daily_quota"`
}

func (in *tokenInput) apply(ct *store.ClientToken) error {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || len([]rune(name)) > maxTokenName {
			return fmt.Errorf("name must be 1 to %d characters", maxTokenName)
		}
		ct.Name = name
	}
	if in.Enabled != nil {
		ct.Enabled = *in.Enabled
	}
	if in.ExpiresAt != nil {
		e, err := parseExpiry(in.ExpiresAt)
		if err != nil {
			return err
		}
		ct.ExpiresAt = e
	}
	if in.Models != nil {
		models, err := cleanModels(*in.Models)
		if err != nil {
			return err
		}
		ct.Models = models
	}
	if in.DailyQuota != nil {
		if *in.DailyQuota < 0 {
			return errors.New("daily_quota must be 0 (unlimited) or more")
		}
		ct.DailyQuota = *in.DailyQuota
	}
	return nil
}

func parseExpiry(raw json.RawMessage) (time.Time, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return time.Time{}, errors.New("expires_at must be RFC 3339 text, Unix seconds or null")
	}
	switch t := v.(type) {
	case nil:
		return time.Time{}, nil
	case float64:
		if t <= 0 {
			return time.Time{}, nil
		}
		return time.Unix(int64(t), 0).UTC(), nil
	case string:
		if t == "" {
			return time.Time{}, nil
		}
		e, err := time.Parse(time.RFC3339, t)
		if err != nil {
			return time.Time{}, fmt.Errorf("expires_at: %w", err)
		}
		return e.UTC().Truncate(time.Second), nil
	}
	return time.Time{}, errors.New("expires_at must be RFC 3339 text, Unix seconds or null")
}

// cleanModels trims, de-duplicates and checks the allow-list patterns.
func cleanModels(in []string) ([]string, error) {
	if len(in) > maxTokenModels {
		return nil, fmt.Errorf("at most %d models", maxTokenModels)
	}
	out := []string{}
	seen := map[string]bool{}
	for _, m := range in {
		m = strings.TrimPrefix(strings.TrimSpace(m), "models/")
		if m == "" || seen[m] {
			continue
		}
		if _, err := path.Match(m, ""); err != nil || len(m) > 200 {
			return nil, fmt.Errorf("models: %q is not a model name or glob", m)
		}
		seen[m] = true
		out = append(out, m)
	}
	return out, nil
}

func (t *Tokens) create(w http.ResponseWriter, r *http.Request) {
	var in tokenInput
	if err := decode(r, &in); err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	ct := store.ClientToken{Enabled: true}
	if in.Name == nil {
		rpcstatus.Write(w, http.StatusBadRequest, "name is required")
		return
	}
	if err := in.apply(&ct); err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	tok, err := t.newToken(in.Token)
	if err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	ct.Token = tok
	created, err := t.Store.CreateClientToken(r.Context(), ct)
	switch {
	case errors.Is(err, store.ErrTokenExists):
		rpcstatus.Write(w, http.StatusConflict, "That token already exists.")
		return
	case err != nil:
		rpcstatus.Write(w, http.StatusServiceUnavailable, "Could not store the token: "+err.Error())
		return
	}
	t.reload(r.Context())
	// The full token is shown this once; later listings mask it unless asked to reveal it.
	writeJSON(w, http.StatusCreated, map[string]any{"token": t.view(created, true, time.Now())})
}

// newToken checks a token the admin chose, or makes one.
func (t *Tokens) newToken(given *string) (string, error) {
	if given == nil || strings.TrimSpace(*given) == "" {
		return config.NewToken(), nil
	}
	tok := strings.TrimSpace(*given)
	if len(tok) < minTokenLength || len(tok) > maxTokenLength || strings.IndexFunc(tok, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r) || r > unicode.MaxASCII
	}) >= 0 {
		return "", fmt.Errorf("token must be %d to %d printable ASCII characters without spaces", minTokenLength, maxTokenLength)
	}
	if t.Tokens.Unlimited(tok) {
		return "", errors.New("that token is already ALLOWED_TOKENS or AUTH_TOKEN, which have no limits")
	}
	return tok, nil
}

func (t *Tokens) update(w http.ResponseWriter, r *http.Request) {
	ct, ok := t.find(w, r)
	if !ok {
		return
	}
	var in tokenInput
	if err := decode(r, &in); err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	if in.Token != nil {
		rpcstatus.Write(w, http.StatusBadRequest, "a token's value cannot change; create a new token and delete this one")
		return
	}
	if err := in.apply(&ct); err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := t.Store.UpdateClientToken(r.Context(), ct); err != nil {
		t.storeError(w, err)
		return
	}
	t.reload(r.Context())
	ct.UpdatedAt = time.Now().UTC().Truncate(time.Second)
	writeJSON(w, http.StatusOK, map[string]any{"token": t.view(ct, false, time.Now())})
}

func (t *Tokens) remove(w http.ResponseWriter, r *http.Request) {
	ct, ok := t.find(w, r)
	if !ok {
		return
	}
	if err := t.Store.DeleteClientToken(r.Context(), ct.ID); err != nil {
		t.storeError(w, err)
		return
	}
	t.reload(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"deleted": ct.ID})
}

// find reads the token named by the path's id.
func (t *Tokens) find(w http.ResponseWriter, r *http.Request) (store.ClientToken, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		rpcstatus.Write(w, http.StatusBadRequest, "the token id must be a positive number (ALLOWED_TOKENS are edited in the settings)")
		return store.ClientToken{}, false
	}
	list, err := t.Store.ListClientTokens(r.Context())
	if err != nil {
		rpcstatus.Write(w, http.StatusServiceUnavailable, "Could not read the client tokens: "+err.Error())
		return store.ClientToken{}, false
	}
	for _, ct := range list {
		if ct.ID == id {
			return ct, true
		}
	}
	rpcstatus.Write(w, http.StatusNotFound, fmt.Sprintf("No client token %d.", id))
	return store.ClientToken{}, false
}

func (t *Tokens) storeError(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrTokenNotFound) {
		rpcstatus.Write(w, http.StatusNotFound, "No such client token (deleted meanwhile?).")
		return
	}
	rpcstatus.Write(w, http.StatusServiceUnavailable, "Could not store the change: "+err.Error())
}

// reload applies the change here at once; a failure is not the caller's, the periodic reload retries.
func (t *Tokens) reload(ctx context.Context) {
	if t.Reload != nil {
		_ = t.Reload(ctx)
	}
}
