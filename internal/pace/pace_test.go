package pace

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	p := Pacer{Enabled: true, MinDelay: 10 * time.Millisecond, MaxDelay: 30 * time.Millisecond, Short: 10, Long: 50, Size: 5}
	for n, want := range map[int]time.Duration{1: 30 * time.Millisecond, 10: 30 * time.Millisecond, 50: 10 * time.Millisecond, 500: 10 * time.Millisecond} {
		if got := p.Delay(n); got != want {
			t.Errorf("Delay(%d) = %v, want %v", n, got, want)
		}
	}
	if mid := p.Delay(22); mid <= 10*time.Millisecond || mid >= 30*time.Millisecond {
		t.Errorf("Delay(22) = %v, want between the bounds", mid)
	}
	if got := p.Pieces("héllo"); strings.Join(got, "|") != "h|é|l|l|o" {
		t.Errorf("short text pieces %q", got)
	}
	long := strings.Repeat("é", 52)
	got := p.Pieces(long)
	if len(got) != 11 || got[0] != strings.Repeat("é", 5) || got[10] != "éé" || strings.Join(got, "") != long {
		t.Errorf("long text pieces %q", got)
	}
	if (Pacer{Short: 10, Long: 10}).Delay(10) != 0 {
		t.Error("degenerate thresholds")
	}
}

func TestSleepEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) || Sleep(ctx, 0) {
		t.Fatal("a pause went on after the client left")
	}
}

// TestCut: a text event becomes one event per piece; only the last keeps what ends an answer, and
// every field Google sent that gemgate does not know reaches each piece unchanged.
func TestCut(t *testing.T) {
	p := Pacer{Enabled: true, Short: 1, Long: 100, Size: 1}
	event := `{"candidates":[{"content":{"parts":[{"text":"ab"},{"text":"c","thought":true}],"role":"model"},"finishReason":"STOP","index":0,"newField":1}],"usageMetadata":{"totalTokenCount":3},"modelVersion":"m"}`
	pieces, chars := p.Cut([]byte(event))
	want := []string{
		`{"candidates":[{"content":{"parts":[{"text":"a"}],"role":"model"},"index":0,"newField":1}],"modelVersion":"m"}`,
		`{"candidates":[{"content":{"parts":[{"text":"b"}],"role":"model"},"index":0,"newField":1}],"modelVersion":"m"}`,
		`{"candidates":[{"content":{"parts":[{"text":"c","thought":true}],"role":"model"},"finishReason":"STOP","index":0,"newField":1}],"modelVersion":"m","usageMetadata":{"totalTokenCount":3}}`,
	}
	if chars != 3 || len(pieces) != len(want) {
		t.Fatalf("%d chars, pieces %q", chars, pieces)
	}
	for i, w := range want {
		if string(pieces[i]) != w {
			t.Errorf("piece %d:\n%s\nwant\n%s", i, pieces[i], w)
		}
	}
	for _, other := range []string{
		`{"candidates":[{"content":{"parts":[{"text":"ab"},{"functionCall":{"name":"f"}}]}}]}`,         // not only text
		`{"candidates":[{"content":{"parts":[{"text":"ab"}]}},{"content":{"parts":[{"text":"cd"}]}}]}`, // two candidates
		`{"candidates":[{"content":{"parts":[{"text":"a"}]}}]}`,                                        // one piece
		`not json`,
	} {
		if pieces, _ := p.Cut([]byte(other)); pieces != nil {
			t.Errorf("%s was cut: %q", other, pieces)
		}
	}
	if pieces, _ := (Pacer{}).Cut([]byte(event)); pieces != nil {
		t.Error("cut with the optimizer off")
	}
}
