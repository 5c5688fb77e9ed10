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

func TestAllowedAddresses(t *testing.T) {
	allowed := []string{"127.0.0.1/32", "::1/128", "10.0.0.0/8", "192.168.1.7"}
	for remote, want := range map[string]bool{
		"127.0.0.1:5000": true, "[::1]:80": true, "10.2.3.4:1": true, "[::ffff:10.2.3.4]:1": true,
		"192.168.1.7:9": true, "192.168.1.8:9": false, "8.8.8.8:53": false, "garbage": false, "[fe80::1]:1": false,
	} {
		if got := fromAllowedAddress(remote, allowed); got != want {
			t.Errorf("%s: %v, want %v", remote, got, want)
		}
	}
	if fromAllowedAddress("127.0.0.1:1", nil) {
		t.Error("an empty list allowed an address")
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
