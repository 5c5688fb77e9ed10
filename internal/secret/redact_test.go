package secret

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

const testKey = "AIzaSyRedactTestKey00000000000000000001"

// escapeAll writes every character of s as a JSON \u escape, with hex digits in the given case.
func escapeAll(s string, upper bool) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		h := "0123456789abcdef"
		if upper {
			h = "0123456789ABCDEF"
		}
		b.WriteString(`\u00` + string(h[c>>4]) + string(h[c&0xf]))
	}
	return b.String()
}

// leaks reports whether text, read as a JSON string, still holds the key.
func leaks(text []byte) bool {
	var decoded string
	if json.Unmarshal(append(append([]byte(`"`), bytes.ReplaceAll(text, []byte(`"`), []byte(`\"`))...), '"'), &decoded) == nil &&
		strings.Contains(decoded, testKey) {
		return true
	}
	return bytes.Contains(text, []byte(testKey))
}

func TestRedactEverySpelling(t *testing.T) {
	t.Parallel()
	mixed := testKey[:10] + escapeAll(testKey[10:20], false) + testKey[20:]
	for _, spelling := range []string{testKey, escapeAll(testKey, false), escapeAll(testKey, true), mixed,
		`\u0041` + testKey[1:]} {
		msg := []byte(`{"error":{"message":"Consumer 'api_key:` + spelling + `' has been suspended."}}`)
		out := Redact(msg, testKey)
		if leaks(out) || !bytes.Contains(out, []byte(Mask(testKey))) {
			t.Errorf("%s -> %s", spelling, out)
		}
		var env struct{ Error struct{ Message string } }
		if err := json.Unmarshal(out, &env); err != nil || strings.Contains(env.Error.Message, testKey) {
			t.Errorf("decoded message still holds the key: %q %v", env.Error.Message, err)
		}
	}
	plain := []byte(`{"text":"caf\u00e9 \\u0041 nothing to see"}`)
	if out := Redact(plain, testKey); !bytes.Equal(out, plain) {
		t.Errorf("changed text without the key: %s", out)
	}
}

// A stream cut anywhere, even inside a key or inside one of its escapes, comes out without the key,
// and a read that ends where no key can start is passed on whole, at once.
func TestRedactorAcrossReads(t *testing.T) {
	t.Parallel()
	for _, spelling := range []string{testKey, escapeAll(testKey, false)} {
		stream := "data: {\"text\":\"x " + spelling + " y\"}\r\n\r\ndata: {\"text\":\"" + spelling + "\"}\r\n\r\n"
		for cut := 1; cut < len(stream); cut++ {
			src := io.NopCloser(io.MultiReader(strings.NewReader(stream[:cut]), strings.NewReader(stream[cut:])))
			out, err := io.ReadAll(NewRedactor(src, testKey))
			if err != nil || leaks(out) || bytes.Count(out, []byte(Mask(testKey))) != 2 {
				t.Fatalf("cut at %d: %s (%v)", cut, out, err)
			}
		}
		one := io.NopCloser(iotest.OneByteReader(strings.NewReader(stream)))
		if out, _ := io.ReadAll(NewRedactor(one, testKey)); leaks(out) {
			t.Fatalf("one byte at a time: %s", out)
		}
	}
	event := "data: {\"text\":\"hello\"}\r\n\r\n"
	pr, pw := io.Pipe()
	r := NewRedactor(pr, testKey)
	go func() { _, _ = io.WriteString(pw, event) }() // the writer never closes: the event must not wait
	buf := make([]byte, 256)
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != event {
		t.Fatalf("an event was held back: %q %v", buf[:n], err)
	}
	pw.Close()
}

func FuzzRedactor(f *testing.F) {
	f.Add([]byte("a "+testKey+" b"), uint8(3))
	f.Add([]byte(escapeAll(testKey, true)), uint8(7))
	f.Fuzz(func(t *testing.T, text []byte, step uint8) {
		chunk := int(step%64) + 1
		var parts []io.Reader
		for i := 0; i < len(text); i += chunk {
			parts = append(parts, bytes.NewReader(text[i:min(i+chunk, len(text))]))
		}
		out, err := io.ReadAll(NewRedactor(io.NopCloser(io.MultiReader(parts...)), testKey))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(out, []byte(testKey)) || bytes.Contains(Redact(out, testKey), []byte(testKey)) {
			t.Fatalf("key left in %q", out)
		}
		if !bytes.Equal(Redact(out, testKey), out) {
			t.Fatalf("a spelling of the key survived: %q", out)
		}
	})
}
