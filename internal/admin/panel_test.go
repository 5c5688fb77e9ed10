package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
)

// memStore keeps settings in memory for tests.
type memStore map[string]string

func (m memStore) LoadSettings(context.Context) (map[string]string, error) { return m, nil }
func (m memStore) SaveSettings(_ context.Context, v map[string]string) error {
	for k, s := range v {
		m[k] = s
	}
	return nil
}
func (m memStore) DeleteSettings(_ context.Context, names []string) error {
	for _, n := range names {
		delete(m, n)
	}
	return nil
}

func newHandler(t *testing.T, keys []string) *Handler {
	t.Helper()
	mgr, err := config.NewManager(map[string]string{"AUTH_TOKEN": "sk-admin"}, memStore{})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	h := New(mgr, keypool.New(keys, 3))
	(&Panel{Settings: mgr, Pool: h.Pool}).Register(h)
	return h
}

func getJSON(t *testing.T, h *Handler, path string, v any) time.Duration {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("Authorization", "Bearer sk-admin")
	w := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(w, r)
	took := time.Since(start)
	if w.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", path, w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatal(err)
	}
	return took
}

// The key list pages, searches and filters on the server, so a pool of 100,000 keys sends the browser
// one page; every call is one pass over the pool.
func TestKeyStatusLargePool(t *testing.T) {
	keys := make([]string, 100000)
	for i := range keys {
		keys[i] = fmt.Sprintf("AIzaSyLarge%028d", i)
	}
	h := newHandler(t, keys)
	k, _ := h.Pool.Lookup(keys[77777])
	h.Pool.Disable(k, "test")
	k, _ = h.Pool.Lookup(keys[4242])
	h.Pool.CoolDown(k, "gemini-2.5-pro", time.Now().Add(time.Hour), "quota")

	var page struct {
		Total, Usable, Cooling, Disabled, Matching int
		Keys                                       []keyView
	}
	took := getJSON(t, h, "/api/keys/status?limit=50&offset=99990", &page)
	if page.Total != 100000 || page.Disabled != 1 || page.Cooling != 1 || page.Matching != 100000 || len(page.Keys) != 10 {
		t.Fatalf("last page: total %d disabled %d cooling %d matching %d, %d keys", page.Total, page.Disabled, page.Cooling, page.Matching, len(page.Keys))
	}
	t.Logf("a page of 100,000 keys took %s", took)
	for q, want := range map[string]string{
		"status=disabled": keys[77777],
		"status=cooling":  keys[4242],
		"search=2345":     keys[2345], // the masked key shows the last four characters
	} {
		getJSON(t, h, "/api/keys/status?"+q, &page)
		if page.Matching < 1 || page.Keys[0].Key != keys[0][:4]+"…"+want[len(want)-4:] {
			t.Errorf("%s: matching %d, first %+v", q, page.Matching, page.Keys)
		}
	}
	var ids struct{ IDs []string }
	getJSON(t, h, "/api/keys/ids?status=usable", &ids)
	if len(ids.IDs) != 99999 {
		t.Fatalf("%d usable ids", len(ids.IDs))
	}
}
