package logs

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// FuzzAttemptsJSON checks the attempts column's encoder against encoding/json: the decoder reads the
// same attempts from both.
func FuzzAttemptsJSON(f *testing.F) {
	f.Add("k1", "AIza…abcd", 429, "key_failure", int64(12), "429 RESOURCE_EXHAUSTED \"quota\"\n", int64(1_780_000_000), uint32(123_456_789), uint8(2))
	f.Add("", "", 0, "", int64(-1), "\xff\x00<&>\u2028é", int64(0), uint32(0), uint8(1))
	f.Add("x", "y", 200, "ok", int64(0), "", int64(-62_135_596_801), uint32(5), uint8(3))
	f.Fuzz(func(t *testing.T, keyID, key string, status int, class string, latency int64, errText string, sec int64, nsec uint32, n uint8) {
		a := AttemptView{KeyID: keyID, Key: key, Status: status, Class: class, LatencyMS: latency, Error: errText,
			At: time.Unix(sec, int64(nsec%1_000_000_000)).UTC()}
		var as []AttemptView
		for i := range int(n % 4) {
			b := a
			b.Status += i
			b.At = b.At.Add(time.Duration(i) * time.Second)
			as = append(as, b)
		}
		want, err := json.Marshal(as)
		if as == nil {
			want = []byte("[]")
		}
		if err != nil {
			want = []byte("[]")
		}
		got := attemptsJSON(nil, as)
		var fromWant, fromGot []AttemptView
		if err := json.Unmarshal(want, &fromWant); err != nil {
			t.Fatalf("json.Marshal's %s: %v", want, err)
		}
		if err := json.Unmarshal(got, &fromGot); err != nil {
			t.Fatalf("not JSON: %s: %v", got, err)
		}
		if !reflect.DeepEqual(fromWant, fromGot) {
			t.Fatalf("decoded differently:\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkAttemptsJSON(b *testing.B) {
	at := time.Now().UTC()
	as := []AttemptView{{KeyID: "0123456789abcdef", Key: "AIza…abcd", Status: 429, Class: "key_failure", LatencyMS: 120,
		Error: "429 RESOURCE_EXHAUSTED", At: at}, {KeyID: "fedcba9876543210", Key: "AIza…dcba", Status: 200, Class: "ok", LatencyMS: 800, At: at}}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(as)
		}
	})
	b.Run("attemptsJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = attemptsJSON(buf[:0], as)
			_ = string(buf)
		}
	})
}
