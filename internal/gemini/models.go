package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/upstream"
)

// modelsTTL is how long the upstream model list is reused; models change rarely, and listing on every
// call would spend a key's quota and add a round trip.
const modelsTTL = 5 * time.Minute

// ModelCache fetches the upstream model list through the key pool and keeps it for modelsTTL.
type ModelCache struct {
	Exec *upstream.Executor

	mu      sync.Mutex
	models  []map[string]json.RawMessage
	fetched time.Time
	base    string
}

// List returns the upstream models (every page), from cache when fresh.
func (c *ModelCache) List(ctx context.Context, snap *config.Snapshot) ([]map[string]json.RawMessage, error) {
	base := config.BaseURL.Get(snap)
	c.mu.Lock()
	if c.models != nil && c.base == base && time.Since(c.fetched) < modelsTTL {
		m := c.models
		c.mu.Unlock()
		return m, nil
	}
	c.mu.Unlock()
	var all []map[string]json.RawMessage
	token := ""
	for range 20 {
		q := url.Values{"pageSize": {"1000"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		resp, err := c.Exec.Do(ctx, upstream.Call{Method: http.MethodGet, Path: "models", Query: q})
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, &upstream.Error{StatusCode: resp.StatusCode, Status: rpcstatus.Parse(resp.Body).Status, Body: resp.Body}
		}
		var page struct {
			Models        []map[string]json.RawMessage `json:"models"`
			NextPageToken string                       `json:"nextPageToken"`
		}
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return nil, errors.New("Gemini answered the model list with invalid JSON")
		}
		all = append(all, page.Models...)
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	c.mu.Lock()
	c.models, c.fetched, c.base = all, time.Now(), base
	c.mu.Unlock()
	return all, nil
}
