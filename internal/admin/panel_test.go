package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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
	t.Parallel()
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
	// Any fragment of the full key finds it: the common prefix, the end, the middle, in any case.
	for q, want := range map[string]int{
		"search=AIzaSy":                              100000,
		"search=" + keys[31337][len(keys[0])-8:]:     1,
		"search=" + keys[31337][len(keys[0])-5:]:     1,
		"search=" + strings.ToLower(keys[31337][6:]): 1,
		"search=" + keys[31337][30:37]:               111, // a middle fragment, "0000313": 313, 3130…3139, 31300…31399
	} {
		took := getJSON(t, h, "/api/keys/status?limit=20&"+q, &page)
		if page.Matching != want {
			t.Errorf("%s: matching %d, want %d", q, page.Matching, want)
		}
		t.Logf("%s over 100,000 keys took %s", q, took)
	}
	var ids struct{ IDs []string }
	getJSON(t, h, "/api/keys/ids?status=usable", &ids)
	if len(ids.IDs) != 99999 {
		t.Fatalf("%d usable ids", len(ids.IDs))
	}
	// Keys with at least N failures, the most failing first.
	for i, n := range map[int]int{10: 5, 20: 9, 30: 7} {
		k, _ := h.Pool.Lookup(keys[i])
		for range n {
			h.Pool.Failure(k, 500, "test", false)
		}
	}
	getJSON(t, h, "/api/keys/status?min_failures=6&sort=failures", &page)
	if page.Matching != 2 || page.Keys[0].Failures != 9 || page.Keys[1].Failures != 7 {
		t.Fatalf("min_failures=6&sort=failures: matching %d, %+v", page.Matching, page.Keys)
	}
}

// BenchmarkKeySearch measures one key-list request over 100,000 keys: a page with no search, a
// fragment search (the common prefix matches every key, a middle fragment one), and the sort by
// failures.
func BenchmarkKeySearch(b *testing.B) {
	keys := make([]string, 100000)
	for i := range keys {
		keys[i] = fmt.Sprintf("AIzaSy%033d", i)
	}
	mgr, err := config.NewManager(map[string]string{"AUTH_TOKEN": "sk-admin"}, memStore{})
	if err != nil {
		b.Fatal(err)
	}
	if err := mgr.Load(b.Context()); err != nil {
		b.Fatal(err)
	}
	h := New(mgr, keypool.New(keys, 3))
	for _, q := range []string{"", "search=AIzaSy", "search=0000000000000099999", "search=aizasy000000000000000000000000000031337", "sort=failures", "min_failures=1"} {
		b.Run(strings.TrimPrefix(q, "search="), func(b *testing.B) {
			r := httptest.NewRequest("GET", "/api/keys/status?limit=20&"+q, nil)
			r.Header.Set("Authorization", "Bearer sk-admin")
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatal(w.Body.String())
				}
			}
		})
	}
}
