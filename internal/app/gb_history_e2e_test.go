package app_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/importer/gbtest"
	"github.com/gemgate/gemgate/internal/secret"
)

// TestGeminiBalanceHistoryInStatistics: a Gemini Balance database adopted in place (written under
// TZ=Asia/Shanghai, with an empty AUTH_TOKEN and a Vertex key) shows its request history at the right times, and in
// the statistics too, counted once however often gemgate starts.
func TestGeminiBalanceHistoryInStatistics(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	// Gemini Balance's rows as it would have written them two hours ago: naive Shanghai wall clock.
	written := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	naive := written.In(shanghai).Format("2006-01-02 15:04:05.000000")
	gbVertex := "AQ.gemini-balance-vertex-key-0001"
	h, _ := gbHarness(t, nil, fmt.Sprintf("UPDATE t_request_log SET request_time = '%s'; UPDATE t_settings SET value = '' WHERE key = 'AUTH_TOKEN'; "+
		"UPDATE t_settings SET value = '[\"%s\"]' WHERE key = 'VERTEX_API_KEYS'", naive, gbVertex))
	admin := map[string]string{"Authorization": "Bearer " + gbtest.ClientToken} // ALLOWED_TOKENS[0], as in Gemini Balance

	var reqs struct {
		Logs []struct {
			Time time.Time `json:"request_time"`
		} `json:"logs"`
	}
	r := h.do("GET", "/api/logs/requests?limit=100", nil, admin)
	if err := json.Unmarshal(r.body, &reqs); err != nil || len(reqs.Logs) != gbtest.RequestLogs {
		t.Fatalf("request logs: %d %s", r.status, r.body)
	}
	for _, l := range reqs.Logs {
		if d := l.Time.Sub(written); d < -time.Second || d > time.Second {
			t.Fatalf("row time %s, written at %s (off by %s)", l.Time, written.UTC(), d)
		}
	}

	checkStats := func(when string) {
		t.Helper()
		var sum struct {
			Day struct{ Total, Success, Failure int64 } `json:"calls_24h"`
		}
		if r := h.do("GET", "/api/stats/summary", nil, admin); json.Unmarshal(r.body, &sum) != nil || sum.Day.Total != 5 || sum.Day.Success != 2 {
			t.Fatalf("%s: summary %s", when, r.body)
		}
		var keys []struct {
			KeyID    string `json:"key_id"`
			Attempts int64  `json:"attempts"`
		}
		r := h.do("GET", "/api/stats/keys?period=24h", nil, admin)
		if err := json.Unmarshal(r.body, &keys); err != nil {
			t.Fatalf("%s: keys %s", when, r.body)
		}
		for _, k := range keys {
			if k.KeyID == secret.ID(gbtest.Key1) && k.Attempts != 2 {
				t.Fatalf("%s: Key1 attempts %d: %s", when, k.Attempts, r.body)
			}
		}
		if len(keys) < 3 {
			t.Fatalf("%s: keys %s", when, r.body)
		}
	}
	// Gemini Balance's Vertex keys are managed like its Gemini keys.
	var vk struct {
		Total int
		Keys  []struct{ Key string }
	}
	if r := h.do("GET", "/api/keys/status?pool=vertex", nil, admin); json.Unmarshal(r.body, &vk) != nil || vk.Total != 1 || vk.Keys[0].Key != secret.Mask(gbVertex) {
		t.Fatalf("vertex keys: %s", r.body)
	}
	checkStats("first start")
	h.restart(nil)
	checkStats("second start") // counted once: the rows were marked adopted in the same transaction
}
