package secret

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestScrubber(t *testing.T) {
	t.Parallel()
	google := "AIzaSy" + strings.Repeat("Q", 33)
	unknownGoogle := "AIzaSy" + strings.Repeat("Z", 33)
	demo := "demo-3-ratelimit"
	token := "sk-" + strings.Repeat("t", 30)
	odd := "https://relay.example.com/secret?x=1"
	s := NewScrubber([]string{google, demo}, []string{token, odd, "short"})
	for in, want := range map[string]string{
		"key " + google + ".":                  "key " + Mask(google) + ".",
		`{"key":"` + unknownGoogle + `"}`:      `{"key":"` + Mask(unknownGoogle) + `"}`,
		"x-goog-api-key: " + demo:              "x-goog-api-key: " + Mask(demo),
		"Bearer " + token + "\n":               "Bearer " + Mask(token) + "\n",
		"Bearer sk-" + strings.Repeat("u", 40): "Bearer " + Mask("sk-"+strings.Repeat("u", 40)),
		"via " + odd + " ok":                   "via " + Mask(odd) + " ok",
		"prefix" + google:                      "prefix" + Mask(google),
		"demo-3-ratelimits stays":              "demo-3-ratelimits stays",
		"short words stay short":               "short words stay short",
		"sk-tooshort and AIzaShort":            "sk-tooshort and AIzaShort",
		"":                                     "",
	} {
		if got := s.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
		if got := string(s.Bytes([]byte(in))); got != want {
			t.Errorf("Bytes(%q) = %q, want %q", in, got, want)
		}
		if again := s.String(s.String(in)); again != want {
			t.Errorf("scrubbing twice changed %q to %q", want, again)
		}
	}
	clean := []byte("nothing to hide here")
	if out := s.Bytes(clean); &out[0] != &clean[0] {
		t.Error("Bytes copied text without secrets")
	}
	var none *Scrubber
	if got := none.String("k " + google); got != "k "+Mask(google) {
		t.Errorf("nil scrubber: %q", got)
	}
	s.Update(nil)
	if got := s.String(demo); got != demo {
		t.Errorf("after Update the old secret is still scrubbed: %q", got)
	}
}

func BenchmarkScrubberLogLine(b *testing.B) {
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = "AIzaSy" + strings.Repeat(string(rune('A'+i%26)), 29) + strings.Repeat("0", 4)
	}
	s := NewScrubber(keys)
	line := "upstream 429 RESOURCE_EXHAUSTED: Quota exceeded for quota metric 'Generate Content API requests per minute' and limit 'GenerateContent request limit per minute for a region' of service 'generativelanguage.googleapis.com'"
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		_ = s.String(line)
	}
}

func manyKeys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("AIzaSyScrub%028d", i)
	}
	return out
}

func TestScrubberManySecrets(t *testing.T) {
	t.Parallel()
	keys := manyKeys(100_000)
	odd := make([]string, 1000) // not Google-shaped, so only the set can find them
	for i := range odd {
		odd[i] = fmt.Sprintf("relay-secret-%d-x", i)
	}
	s := NewScrubber(keys, odd)
	for i := 0; i < len(keys); i += 997 {
		if got := s.String("k=" + keys[i]); got != "k="+Mask(keys[i]) {
			t.Fatalf("key %d not scrubbed: %q", i, got)
		}
	}
	for i, o := range odd {
		if got := string(s.Bytes([]byte(o + " end"))); got != Mask(o)+" end" {
			t.Fatalf("secret %d not scrubbed: %q", i, got)
		}
	}
	for _, keep := range []string{"relay-secret-1000-x", "relay-secret-1-xx", "relay-secret-", "plain words only"} {
		if got := s.String(keep); got != keep {
			t.Errorf("%q changed to %q", keep, got)
		}
	}
}

func BenchmarkScrubber100kKeys(b *testing.B) {
	s := NewScrubber(manyKeys(100_000))
	line := "upstream 429 RESOURCE_EXHAUSTED: Quota exceeded for quota metric 'Generate Content API requests per minute' and limit 'GenerateContent request limit per minute for a region' of service 'generativelanguage.googleapis.com' consumer projects/123456789012 quota_limit_value 15 GenerateRequestsPerMinutePerProjectPerModel"
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		_ = s.String(line)
	}
}

func TestScrubberMemory100k(t *testing.T) {
	keys := manyKeys(100_000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := NewScrubber(keys)
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("scrubber of 100,000 keys: %.2f MB live heap", float64(after.HeapAlloc-before.HeapAlloc)/(1<<20))
	runtime.KeepAlive(s)
	runtime.KeepAlive(keys)
}
