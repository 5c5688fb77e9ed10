package gemini

import "testing"

// FuzzUsageScanner feeds arbitrary streams to the usage scanner that watches every native stream:
// no panic, and the result does not depend on how the bytes were cut into reads.
func FuzzUsageScanner(f *testing.F) {
	f.Add([]byte("data: {\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":5}}\r\n\r\n"), 7)
	f.Add([]byte(`[{"usageMetadata":{"promptTokenCount":1}},{"usageMetadata":{"promptTokenCount":2,"thoughtsTokenCount":9}}]`), 20)
	f.Add([]byte(`{"text":"\"usageMetadata\":{\"promptTokenCount\":99}"}`), 3)
	f.Add([]byte(`{"usageMetadata":{"promptTokenCount":1e400,"cachedContentTokenCount":-1}}`), 0)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		var whole UsageScanner
		_, _ = whole.Write(data)
		var split UsageScanner
		if cut < 0 {
			cut = -cut
		}
		cut %= len(data) + 1
		_, _ = split.Write(data[:cut])
		_, _ = split.Write(data[cut:])
		u1, ok1 := whole.Usage()
		u2, ok2 := split.Usage()
		if ok1 != ok2 || u1 != u2 {
			t.Fatalf("%q: one write %v/%v, split at %d %v/%v", data, u1, ok1, cut, u2, ok2)
		}
	})
}
