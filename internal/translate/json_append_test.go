package translate

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// encoded is what an Encoder without HTML escaping (WriteJSON's, SSEWriter's) writes for v.
func encoded(t *testing.T, v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// FuzzAppendJSON: AppendString, AppendFloat and AppendCompact write what encoding/json writes for a
// string, a float64 and a json.RawMessage.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{"", "plain", `"quoted" \ back`, "\n\r\t\b\f\x00\x1f\x7f", "<a>&amp;", "\u2028\u2029",
		"é 日本 🙂", "\xff\xfe", "\xe2\x80", "\xed\xa0\x80", `{ "a" : [ 1 , "x y" , {"b":"\" }"} ] }`, " 1 ", `"s p"`} {
		f.Add(s, 0.3)
	}
	for _, x := range []float64{0, math.Copysign(0, -1), 1e-6, 1e-7, 9.999e-7, 1e20, 1e21, -1e21, 5e-324, math.MaxFloat64, 123456789.125, 1e-9} {
		f.Add("x", x)
	}
	f.Fuzz(func(t *testing.T, s string, x float64) {
		if got, want := string(AppendString([]byte("pre"), s)), "pre"+encoded(t, s); got != want {
			t.Fatalf("AppendString(%q) = %s, encoding/json %s", s, got, want)
		}
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			if got, want := string(AppendFloat([]byte("pre"), x)), "pre"+encoded(t, x); got != want {
				t.Fatalf("AppendFloat(%v) = %s, encoding/json %s", x, got, want)
			}
		}
		if json.Valid([]byte(s)) {
			if got, want := string(AppendCompact([]byte("pre"), []byte(s))), "pre"+encoded(t, json.RawMessage(s)); got != want {
				t.Fatalf("AppendCompact(%q) = %s, encoding/json %s", s, got, want)
			}
		}
	})
}
