package limits

import (
	"io"
	"net/http"
)

// ReadBody reads r's body, at most limit bytes (past it the error is an *http.MaxBytesError and the
// connection closes after the answer). When the client declared the length, the buffer grows towards
// exactly that length, as the bytes arrive: memory follows what was received, and the body ends up in
// one buffer of its own size instead of io.ReadAll's, which overshoots and leaves its earlier
// buffers to the collector (a 40 MB body cost 80 MB).
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	want := r.ContentLength
	if want < 0 || want > limit {
		return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	}
	rd := http.MaxBytesReader(w, r.Body, limit)
	buf := make([]byte, 0, min(want, 512))
	for int64(len(buf)) < want {
		if len(buf) == cap(buf) {
			next := 4 * int64(cap(buf))
			if 2*next >= want {
				next = want // close enough to the end: one last buffer of the final size
			}
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = grown
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}
