package gemini

import (
	"encoding/json"
	"testing"
)

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
		// Write skips string contents; stepping every byte is the definition.
		var stepped UsageScanner
		for _, c := range data {
			stepped.step(c)
		}
		if u3, ok3 := stepped.Usage(); ok1 != ok3 || u1 != u3 || !sameState(&whole, &stepped) {
			t.Fatalf("%q: Write %v/%v, every byte stepped %v/%v", data, u1, ok1, u3, ok3)
		}
	})
}

// FuzzCapturedUsage checks the scan that reads a stream's captured usageMetadata against the decoding
// it replaced: json.Unmarshal into usageJSON.
func FuzzCapturedUsage(f *testing.F) {
	for _, c := range []string{` {"promptTokenCount":3,"candidatesTokenCount":5}`, `null`, `{}`, `[]`, `5`, `"x"`, `{"promptTokenCount":"1"}`,
		`{"PromptTokenCount":2,"promptTokenCount":null}`, `{"promptTokenCount":1e2}`, `{"promptTokenCount":9223372036854775808}`, `{`,
		`{"promptTokensDetails":[{"modality":"TEXT","tokenCount":8}],"totalTokenCount":18,"cachedContentTokenCount":-3}`} {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := capturedUsage(b)
		var u usageJSON
		wantOK := json.Unmarshal(b, &u) == nil
		if ok != wantOK || ok && got != u.usage() {
			t.Fatalf("capturedUsage(%q) = %+v %v, json.Unmarshal %+v %v", b, got, ok, u.usage(), wantOK)
		}
	})
}

// sameState compares what a scanner carries into its next write.
func sameState(a, b *UsageScanner) bool {
	return a.braces == b.braces && a.inStr == b.inStr && a.escaped == b.escaped && a.match == b.match &&
		a.afterKey == b.afterKey && a.capturing == b.capturing && string(a.captured) == string(b.captured)
}
