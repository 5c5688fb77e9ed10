package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseCompare(t *testing.T) {
	c, err := parseCompare("gpt-load:/proxy/gemini/=./gpt-load --port {port}")
	if err != nil || c.name != "gpt-load" || c.prefix != "/proxy/gemini" || c.command != "./gpt-load --port {port}" {
		t.Fatalf("%+v %v", c, err)
	}
	if c.procName("1k") != "cmp-gpt-load-1k" {
		t.Fatalf("process name %q", c.procName("1k"))
	}
	for _, bad := range []string{"no-command", "=cmd {port}", "name=cmd without a port", "name:proxy=cmd {port}"} {
		if _, err := parseCompare(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	o, err := parseFlags([]string{"--baseline", "/tmp/old", "--compare", "a=x {port}", "--compare", "b=y {port}"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range o.contenders {
		names = append(names, c.name)
	}
	if strings.Join(names, ",") != baselineName+",a,b" || o.contenders[0].bin != "/tmp/old" {
		t.Fatalf("contenders %+v", o.contenders)
	}
}

// The tail's slow share is what it says, over the call numbers a run uses.
func TestLatencyTailShare(t *testing.T) {
	l := latencyTail{usual: 20 * time.Millisecond, slow: time.Second, share: 0.05}
	slow := 0
	const n = 100_000
	for i := 1; i <= n; i++ {
		if l.delay(i, "") == l.slow {
			slow++
		}
	}
	if share := float64(slow) / n; share < 0.048 || share > 0.052 {
		t.Fatalf("slow share %.4f, want 0.05", share)
	}
}

// Scenario 3's former name still selects it.
func TestParseScenariosAlias(t *testing.T) {
	got, err := parseScenarios("openai,translated,1")
	if err != nil || len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("%v %v", got, err)
	}
}
