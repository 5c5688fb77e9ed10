package translate

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func readSSEEvents(t *testing.T, r io.Reader, limit int) ([]string, error) {
	t.Helper()
	sr := NewSSEReader(r, limit)
	var out []string
	for {
		data, err := sr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, string(data))
	}
}

func TestSSEReaderFraming(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"a", "b"}},
		{"lf", "data: a\n\ndata: b\n\n", []string{"a", "b"}},
		{"cr", "data: a\r\rdata: b\r\r", []string{"a", "b"}},
		{"no space", "data:a\n\n", []string{"a"}},
		{"two spaces keep one", "data:  a\n\n", []string{" a"}},
		{"multi-line data", "data: a\ndata: b\n\n", []string{"a\nb"}},
		{"comments and fields", ": hi\nevent: x\nid: 3\nretry: 9\ndata: a\n\n", []string{"a"}},
		{"blank lines between", "\n\n\r\n\ndata: a\n\n\n\n", []string{"a"}},
		{"no final blank line", "data: a\n\ndata: b", []string{"a", "b"}},
		{"no final line end", "data: a", []string{"a"}},
		{"empty data", "data:\n\n", []string{""}},
		{"field without data", "event: x\n\n", nil},
		{"long line", "data: " + long + "\r\n\r\n", []string{long}},
		{"empty", "", nil},
	} {
		readers := map[string]func(io.Reader) io.Reader{
			"whole":    func(r io.Reader) io.Reader { return r },
			"one byte": iotest.OneByteReader,
			"half":     iotest.HalfReader,
			"data+err": iotest.DataErrReader,
		}
		for rn, wrap := range readers {
			t.Run(tc.name+"/"+rn, func(t *testing.T) {
				got, err := readSSEEvents(t, wrap(strings.NewReader(tc.in)), 0)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			})
		}
	}
}

func TestSSEReaderLimitsAndErrors(t *testing.T) {
	if _, err := readSSEEvents(t, strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\n"), 50); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("long line: %v", err)
	}
	multi := strings.Repeat("data: "+strings.Repeat("x", 20)+"\n", 10) + "\n"
	if _, err := readSSEEvents(t, strings.NewReader(multi), 100); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("many lines: %v", err)
	}
	boom := errors.New("connection reset")
	got, err := readSSEEvents(t, io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom)), 0)
	if !errors.Is(err, boom) || len(got) != 1 {
		t.Fatalf("got %q %v; want the first event then the read error", got, err)
	}
}
