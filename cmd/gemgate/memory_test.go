package main

import (
	"fmt"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
)

func TestGCPercentSparesSmallPools(t *testing.T) {
	for _, c := range []struct{ keys, lo, hi int }{
		{0, 100, 100}, {1_000, 99, 100}, {10_000, 94, 95}, {100_000, 60, 66}, {10_000_000, gcPercentMin, gcPercentMin},
	} {
		if got := gcPercent(c.keys); got < c.lo || got > c.hi {
			t.Errorf("gcPercent(%d) = %d, want %d–%d", c.keys, got, c.lo, c.hi)
		}
	}
}

func TestApplyGCPercentLeavesGOGCAlone(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("AIzaSyGC%031d", i)
	}
	snap, err := config.FromEnv(map[string]string{config.APIKeys.Name(): strings.Join(keys, ",")})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOGC", "100")
	applyGCPercent(snap)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set the percent became %d", got)
	}
	t.Setenv("GOGC", "")
	applyGCPercent(snap)
	if got := debug.SetGCPercent(100); got != gcPercent(100_000) {
		t.Errorf("the percent is %d, want %d", got, gcPercent(100_000))
	}
}
