package translate

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// A body goes through Detach, a decode and re-encode (as every translation does), and Splice, and
// comes out meaning exactly what it meant: large base64 strings are cut out and put back, other
// strings are left alone.
func TestDetachSpliceRoundTrip(t *testing.T) {
	raw := make([]byte, 300<<10)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	b64 := base64.StdEncoding.EncodeToString(raw)
	text := strings.Repeat("plain text, not base64. ", 5000)
	body := []byte(`{"url":"data:image/png;base64,` + b64 + `","bare":"` + b64 + `","text":"` + text +
		`","escaped":"` + strings.Repeat(`a\"b`, 30000) + `","small":"aGk=","list":["` + b64[:blobMin+10] + `"]}`)
	small, blobs := Detach(body)
	if blobs == nil || len(blobs.pieces) != 3 {
		t.Fatalf("want 3 pieces cut out, got %+v", blobs)
	}
	if len(small) > len(body)-3*blobMin {
		t.Fatalf("the detached body is %d bytes of %d", len(small), len(body))
	}
	if !bytes.Contains(small, []byte(`"data:image/png;base64,`+b64[:blobHead]+"~gg")) {
		t.Fatal("the head of a data: URL must stay in place for sniffing")
	}
	var decoded any
	if err := json.Unmarshal(small, &decoded); err != nil {
		t.Fatal(err)
	}
	encoded, _ := json.Marshal(decoded)
	var got, want any
	if err := json.Unmarshal(blobs.Splice(encoded), &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(body, &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatal("the spliced request differs from the original")
	}
	// Nothing to cut: the body itself, no copy.
	plain := []byte(`{"text":"` + text + `"}`)
	if s, b := Detach(plain); b != nil || &s[0] != &plain[0] {
		t.Fatal("a body without base64 was copied")
	}
	// Not scannable: left to the decoder.
	broken := []byte(`{"a":"` + b64)
	if s, b := Detach(broken); b != nil || len(s) != len(broken) {
		t.Fatal("an unterminated string was cut")
	}
	if p := []byte("x"); (*Blobs)(nil).Splice(p)[0] != 'x' {
		t.Fatal("nil Blobs changed the payload")
	}
}
