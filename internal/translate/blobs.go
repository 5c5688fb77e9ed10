package translate

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strconv"
)

// Large media (a data: URL or bare base64 of an image, audio or PDF) passes through a translated
// request unchanged: it arrives as base64 in a JSON string and leaves as the same base64 in Gemini's
// inlineData. Decoding the request into structs and encoding the Gemini request would copy it four
// times (raw message, string, encoder buffer, result), so a 30 MiB image cost ~280 MB of heap.
// Instead the bulk of each large base64 string is cut out of the body before it is decoded and put
// back into the encoded Gemini request: the body and the request are then the only full copies.

const (
	// blobMin is the shortest string worth cutting out.
	blobMin = 64 << 10
	// blobHead is what stays in place: the first bytes of the media, which type sniffing reads.
	blobHead = 1024
)

// Blobs are the pieces cut out of one request body by Detach; they point into that body.
type Blobs struct {
	marker []byte // "~gg<random>~", then the piece's index and "~"
	pieces [][]byte
}

// Detach returns body with the bulk of every large base64 string (a data: URL's payload, or a bare
// base64 value) replaced by a marker, and the pieces cut out. A body with none, or one that is not
// well-formed enough to scan, is returned as it is with nil Blobs: the decoder then judges it.
func Detach(body []byte) ([]byte, *Blobs) {
	if len(body) < blobMin {
		return body, nil
	}
	var b *Blobs
	var out []byte
	last := 0 // body[last:] is not yet copied to out
	for i := 0; i < len(body); i++ {
		if body[i] != '"' {
			continue
		}
		end := stringEnd(body, i+1)
		if end < 0 {
			return body, nil
		}
		from := base64Start(body[i+1 : end])
		if from >= 0 && end-(i+1+from) >= blobMin {
			cut := i + 1 + from + blobHead
			if b == nil {
				b = newBlobs()
				out = make([]byte, 0, 4<<10)
			}
			out = append(out, body[last:cut]...)
			out = b.add(out, body[cut:end])
			last = end
		}
		i = end
	}
	if b == nil {
		return body, nil
	}
	return append(out, body[last:]...), b
}

func newBlobs() *Blobs {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	return &Blobs{marker: []byte("~gg" + hex.EncodeToString(nonce[:]) + "~")}
}

func (b *Blobs) add(out, piece []byte) []byte {
	out = append(out, b.marker...)
	out = strconv.AppendInt(out, int64(len(b.pieces)), 10)
	b.pieces = append(b.pieces, piece)
	return append(out, '~')
}

// stringEnd is the index of the quote closing the JSON string that starts at from, or -1.
func stringEnd(body []byte, from int) int {
	for j := from; j < len(body); j++ {
		switch body[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

// base64Start is where the base64 of s starts when s is a base64 data: URL or bare base64 (only
// base64 characters), or -1.
func base64Start(s []byte) int {
	from := 0
	if len(s) > 5 && bytes.EqualFold(s[:5], []byte("data:")) {
		head := s[:min(len(s), 256)]
		k := bytes.Index(head, []byte(";base64,"))
		if k < 0 {
			return -1
		}
		from = k + len(";base64,")
	}
	if !isBase64(s[from:]) {
		return -1
	}
	return from
}

func isBase64(s []byte) bool {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// Splice puts the pieces back into payload, the encoded Gemini request, in one allocation of the
// final size. Nil Blobs return payload as it is.
func (b *Blobs) Splice(payload []byte) []byte {
	if b == nil {
		return payload
	}
	type hit struct{ at, end, piece int }
	var hits []hit
	size := len(payload)
	for at := 0; ; {
		k := bytes.Index(payload[at:], b.marker)
		if k < 0 {
			break
		}
		start := at + k
		numAt := start + len(b.marker)
		stop := bytes.IndexByte(payload[numAt:], '~')
		if stop < 0 {
			break
		}
		n, err := strconv.Atoi(string(payload[numAt : numAt+stop]))
		end := numAt + stop + 1
		if err == nil && n >= 0 && n < len(b.pieces) {
			hits = append(hits, hit{start, end, n})
			size += len(b.pieces[n]) - (end - start)
		}
		at = end
	}
	out := make([]byte, 0, size)
	last := 0
	for _, h := range hits {
		out = append(out, payload[last:h.at]...)
		out = append(out, b.pieces[h.piece]...)
		last = h.end
	}
	return append(out, payload[last:]...)
}
