package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gemgate/gemgate/internal/reqlog"
)

func TestModelLabelsAreBounded(t *testing.T) {
	m := New()
	for i := range maxModels + 50 {
		m.Submit(&reqlog.Entry{Route: "gemini", Model: fmt.Sprintf("model-%d", i), Status: 200, Latency: time.Second})
	}
	m.Submit(&reqlog.Entry{Route: "gemini", Status: 401})
	if n := testutil.CollectAndCount(m.requests); n != maxModels+2 {
		t.Fatalf("%d series, want %d (the first %d models, other, unknown)", n, maxModels+2, maxModels)
	}
	if v := testutil.ToFloat64(m.requests.WithLabelValues("gemini", "other", "200")); v != 50 {
		t.Fatalf("other = %v", v)
	}
}

func TestSubmitCountsAttemptsAndTokens(t *testing.T) {
	m := New()
	m.Submit(&reqlog.Entry{Route: "openai", Model: "gemini-2.5-pro", Status: 200, Stream: true, Latency: 3 * time.Second,
		Usage:    reqlog.Usage{Prompt: 7, Output: 9},
		Attempts: []reqlog.Attempt{{Class: "rate_limited", Status: 429, Latency: time.Millisecond}, {Class: "ok", Status: 200}}})
	if v := testutil.ToFloat64(m.attempts.WithLabelValues("rate_limited", "429")); v != 1 {
		t.Fatalf("429 attempts = %v", v)
	}
	if v := testutil.ToFloat64(m.tokens.WithLabelValues("gemini-2.5-pro", "output")); v != 9 {
		t.Fatalf("output tokens = %v", v)
	}
	if n := testutil.CollectAndCount(m.tokens); n != 2 {
		t.Fatalf("%d token series, want 2 (zero counts are not exported)", n)
	}
}

func TestKeyGaugeAndHelp(t *testing.T) {
	m := New()
	m.KeyGauge("usable", func() float64 { return 3 })
	m.KeyGauge("cooling", func() float64 { return 1 })
	want := `
# HELP gemgate_keys Gemini API keys in the pool, by state.
# TYPE gemgate_keys gauge
gemgate_keys{state="cooling"} 1
gemgate_keys{state="usable"} 3
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "gemgate_keys"); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSubmit is the metrics' share of every request: one finished native call with usage.
func BenchmarkSubmit(b *testing.B) {
	m := New()
	e := &reqlog.Entry{Route: "gemini", Model: "gemini-2.5-flash", Status: 200, Latency: 3 * time.Millisecond,
		Usage:    reqlog.Usage{Prompt: 7, Output: 90, Thoughts: 12},
		Attempts: []reqlog.Attempt{{Class: "ok", Status: 200, Latency: 2 * time.Millisecond}}}
	b.ReportAllocs()
	for b.Loop() {
		m.Submit(e)
	}
}
