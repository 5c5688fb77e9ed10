package upstream

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestModelPauseNeedsProofAcrossKeys(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var h modelHealth
	// A cluster of failing keys while another key succeeds: never a pause, whatever the streak.
	for i := range 100 {
		h.failure("m", fmt.Sprintf("k%d", i%20), "503 UNAVAILABLE", 100, now)
		if i%10 == 0 {
			h.success("m", now)
		}
	}
	if reason, _ := h.paused("m", now); reason != "" {
		t.Fatalf("paused while calls succeed: %s", reason)
	}
	// Many failures on few keys with no success: not proof either.
	for range 50 {
		h.failure("n", "k1", "503", 100, now)
		h.failure("n", "k2", "503", 100, now)
	}
	if reason, _ := h.paused("n", now); reason != "" {
		t.Fatalf("paused on two keys: %s", reason)
	}
	// Every call failing on many keys: paused, with what it saw, and one trial a second.
	later := now.Add(time.Minute)
	for i := range 30 {
		h.failure("o", fmt.Sprintf("k%d", i), "503 UNAVAILABLE: The model is overloaded.", 100, later)
	}
	reason, wait := h.paused("o", later)
	if !strings.Contains(reason, "all 30 calls") || !strings.Contains(reason, "on 16 different keys") || wait <= 0 {
		t.Fatalf("reason %q, wait %v", reason, wait)
	}
	if r, _ := h.paused("o", later.Add(1100*time.Millisecond)); r != "" {
		t.Fatal("no trial call after a second")
	}
	if r, _ := h.paused("o", later.Add(1200*time.Millisecond)); r == "" {
		t.Fatal("more than one trial call per second")
	}
	h.success("o", later.Add(1300*time.Millisecond))
	if r, _ := h.paused("o", later.Add(1400*time.Millisecond)); r != "" {
		t.Fatal("a success must end the pause")
	}
	// Failures older than the window do not count toward a new pause.
	for i := range 30 {
		h.failure("p", fmt.Sprintf("k%d", i), "503", 100, now)
	}
	after := now.Add(healthWindow + time.Second)
	h.failure("p", "k99", "503", 100, after)
	if r, _ := h.paused("p", after); r != "" {
		t.Fatalf("old failures still counted: %s", r)
	}
}
