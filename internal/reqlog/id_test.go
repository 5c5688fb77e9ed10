package reqlog

import (
	"strings"
	"testing"
	"time"
)

func TestNewIDSortsByTimeAndStaysUnique(t *testing.T) {
	at := time.UnixMilli(1_780_000_000_123)
	seen := map[string]bool{}
	prev := ""
	for i := range 10000 {
		id := newIDAt(at.Add(time.Duration(i/10) * time.Millisecond))
		if len(id) != IDLen || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("id %q: want %d lowercase hex digits", id, IDLen)
		}
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id] = true
		// Ids of a later millisecond sort after every id of an earlier one.
		if i%10 == 0 && id[:12] <= prev {
			t.Fatalf("id %q does not sort after %q", id, prev)
		}
		prev = id[:12]
	}
	if got := newIDAt(at)[:12]; got != "019e7044887b" {
		t.Errorf("time prefix %s, want the milliseconds in hex", got)
	}
}

func BenchmarkNewID(b *testing.B) {
	for b.Loop() {
		_ = NewID()
	}
}
