package translate

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
	"testing/iotest"
)

func readAllEvents(r io.Reader, limit int) ([]string, error) {
	sr := NewSSEReader(r, limit)
	var out []string
	for {
		data, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if len(data) > limit {
			return out, errors.New("an event beyond the limit was returned")
		}
		out = append(out, string(data))
	}
}

// FuzzSSEReader feeds upstream streams to the SSE reader: it never returns an event beyond its limit,
// always ends, and reads the same events whether the bytes come at once or one by one.
func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{
		"data: a\r\n\r\ndata: b\r\n\r\n", "data:a\ndata:b\n\n", "data: a\r\rdata: b", ": comment\nevent: x\n\n",
		"data: " + string(bytes.Repeat([]byte("x"), 300)) + "\n\n", "\r\n\r\r\n", "data", "data: \x00\xff\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 256
		whole, err1 := readAllEvents(bytes.NewReader(in), limit)
		bytewise, err2 := readAllEvents(iotest.OneByteReader(bytes.NewReader(in)), limit)
		if (err1 == nil) != (err2 == nil) || !slices.Equal(whole, bytewise) {
			t.Fatalf("%q: %q (%v) at once, %q (%v) byte by byte", in, whole, err1, bytewise, err2)
		}
		if err1 != nil && !errors.Is(err1, ErrEventTooLarge) {
			t.Fatalf("%q: unexpected error %v", in, err1)
		}
	})
}
