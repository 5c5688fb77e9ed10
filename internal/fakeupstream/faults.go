package fakeupstream

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FaultKind is a network or protocol failure that Google's front end does not produce on purpose but
// that a gateway meets anyway: stalls, resets, trickles, garbage, answers of unbounded size.
type FaultKind int

const (
	// FaultNone passes the request to the fake as usual.
	FaultNone FaultKind = iota
	// FaultStall never answers: no status line, no byte, until the client gives up.
	FaultStall
	// FaultStallAfterFirst answers normally until the first body write, then hangs before the second.
	FaultStallAfterFirst
	// FaultDrip sends the normal answer a few bytes at a time with pauses in between.
	FaultDrip
	// FaultReset closes the connection without answering.
	FaultReset
	// FaultMalformedJSON answers 200 with a JSON body cut in the middle.
	FaultMalformedJSON
	// FaultMalformedSSE answers 200 with an event stream whose events are not JSON.
	FaultMalformedSSE
	// FaultHuge answers 200 with Size bytes: an event stream of normal-looking text events for streams,
	// one JSON answer with a giant text part otherwise.
	FaultHuge
	// FaultHugeEvent streams one event of Size bytes that never ends its line.
	FaultHugeEvent
)

// Fault is what Faults does to one key's requests.
type Fault struct {
	Kind  FaultKind
	Times int           // requests it applies to before the key behaves normally again; 0 means all
	Size  int64         // FaultHuge, FaultHugeEvent: bytes to send
	Every time.Duration // FaultDrip: pause between pieces (default 20 ms)
	Piece int           // FaultDrip: bytes per piece (default 16)
}

// Faults wraps a Server and injects faults per API key; keys without a fault reach the Server.
type Faults struct {
	inner *Server

	mu     sync.Mutex
	faults map[string]*faultState

	stalled   atomic.Int64 // requests held by a stall
	cancelled atomic.Int64 // stalled requests whose client gave up
}

type faultState struct {
	f    Fault
	used int
}

// NewFaults wraps s.
func NewFaults(s *Server) *Faults { return &Faults{inner: s, faults: map[string]*faultState{}} }

// Set gives key a fault from its next request on; FaultNone removes it.
func (f *Faults) Set(key string, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault.Kind == FaultNone {
		delete(f.faults, key)
		return
	}
	f.faults[key] = &faultState{f: fault}
}

// Stalled is the number of requests a stall has held so far.
func (f *Faults) Stalled() int { return int(f.stalled.Load()) }

// Cancelled is the number of requests whose client went away while a stall held them (the wrapped
// Server counts its own abandoned streams).
func (f *Faults) Cancelled() int { return int(f.cancelled.Load()) }

func (f *Faults) take(key string) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.faults[key]
	if !ok || (st.f.Times > 0 && st.used >= st.f.Times) {
		return Fault{}, false
	}
	st.used++
	return st.f, true
}

func faultKey(r *http.Request) string {
	if k := r.Header.Get("x-goog-api-key"); k != "" {
		return k
	}
	if k := r.URL.Query().Get("key"); k != "" {
		return k
	}
	return strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
}

func (f *Faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fault, ok := f.take(faultKey(r))
	if !ok {
		f.inner.ServeHTTP(w, r)
		return
	}
	stream := strings.Contains(r.URL.Path, "streamGenerateContent") || r.URL.Query().Get("alt") == "sse"
	switch fault.Kind {
	case FaultStall:
		f.hold(r)
	case FaultStallAfterFirst:
		f.inner.ServeHTTP(&stallWriter{ResponseWriter: w, hold: func() { f.hold(r) }}, r)
	case FaultDrip:
		f.inner.ServeHTTP(&dripWriter{ResponseWriter: w, r: r, every: cmpOr(fault.Every, 20*time.Millisecond), piece: cmpOr(fault.Piece, 16)}, r)
	case FaultReset:
		panic(http.ErrAbortHandler)
	case FaultMalformedJSON:
		w.Header().Set("Content-Type", contentJSON)
		_, _ = w.Write([]byte(`{"candidates": [{"content": {"parts": [{"text": "cut he`))
	case FaultMalformedSSE:
		w.Header().Set("Content-Type", contentSSE)
		_, _ = w.Write([]byte("data: {\"candidates\": [nonsense\r\n\r\ndata: <html>502 Bad Gateway</html>\r\n\r\n"))
	case FaultHuge:
		writeHuge(w, r, fault.Size, stream)
	case FaultHugeEvent:
		writeHugeEvent(w, r, fault.Size)
	default:
		f.inner.ServeHTTP(w, r)
	}
}

// hold blocks until the client goes away, counting both. The body is read first: net/http notices a
// client that went away only once the request body has been consumed.
func (f *Faults) hold(r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBodyBytes))
	f.stalled.Add(1)
	<-r.Context().Done()
	f.cancelled.Add(1)
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// stallWriter lets the first body write through (flushed) and holds the second one.
type stallWriter struct {
	http.ResponseWriter
	hold   func()
	writes int
}

func (s *stallWriter) Write(b []byte) (int, error) {
	if s.writes++; s.writes > 1 {
		s.hold()
		return 0, http.ErrHandlerTimeout
	}
	n, err := s.ResponseWriter.Write(b)
	http.NewResponseController(s.ResponseWriter).Flush()
	return n, err
}

func (s *stallWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// dripWriter sends every write in small flushed pieces with pauses, stopping when the client leaves.
type dripWriter struct {
	http.ResponseWriter
	r     *http.Request
	every time.Duration
	piece int
}

func (d *dripWriter) Write(b []byte) (int, error) {
	rc := http.NewResponseController(d.ResponseWriter)
	sent := 0
	for len(b) > 0 {
		n := min(d.piece, len(b))
		if _, err := d.ResponseWriter.Write(b[:n]); err != nil {
			return sent, err
		}
		_ = rc.Flush()
		sent += n
		b = b[n:]
		if !wait(d.r.Context(), d.every) {
			return sent, errClientGone
		}
	}
	return sent, nil
}

func (d *dripWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// hugeChunk is one text event of a huge stream, about 32 KiB.
var hugeChunk = []byte("data: " + `{"candidates":[{"content":{"parts":[{"text":"` + strings.Repeat("lorem ipsum ", 2730) + `"}],"role":"model"},"index":0}]}` + "\r\n\r\n")

func writeHuge(w http.ResponseWriter, r *http.Request, size int64, stream bool) {
	rc := http.NewResponseController(w)
	if stream {
		w.Header().Set("Content-Type", contentSSE)
		for sent := int64(0); sent < size && r.Context().Err() == nil; sent += int64(len(hugeChunk)) {
			if _, err := w.Write(hugeChunk); err != nil {
				return
			}
			_ = rc.Flush()
		}
		return
	}
	w.Header().Set("Content-Type", contentJSON)
	_, _ = w.Write([]byte(`{"candidates":[{"content":{"parts":[{"text":"`))
	filler := bytes.Repeat([]byte("x"), 64<<10)
	for sent := int64(0); sent < size && r.Context().Err() == nil; sent += int64(len(filler)) {
		if _, err := w.Write(filler); err != nil {
			return
		}
	}
	_, _ = w.Write([]byte(`"}],"role":"model"},"finishReason":"STOP","index":0}]}`))
}

func writeHugeEvent(w http.ResponseWriter, r *http.Request, size int64) {
	w.Header().Set("Content-Type", contentSSE)
	_, _ = fmt.Fprint(w, `data: {"candidates":[{"content":{"parts":[{"text":"`)
	filler := bytes.Repeat([]byte("y"), 64<<10)
	for sent := int64(0); sent < size && r.Context().Err() == nil; sent += int64(len(filler)) {
		if _, err := w.Write(filler); err != nil {
			return
		}
	}
}
