package translate

import (
	"sync"
	"sync/atomic"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
)

// interned keeps strings that repeat from request to request (an answer's modelVersion, a model's
// generateContent path) so that each request does not copy or build them again. It is bounded: past
// maxInterned strings it builds them as before, so names a client makes up cannot grow it.
type interned struct {
	mu sync.RWMutex
	m  map[string]string
}

const maxInterned = 256

// lookup finds key without copying it.
func (in *interned) lookup(key []byte) (string, bool) {
	in.mu.RLock()
	s, ok := in.m[string(key)]
	in.mu.RUnlock()
	return s, ok
}

// keep stores s under key while there is room.
func (in *interned) keep(key, s string) {
	in.mu.Lock()
	if in.m == nil {
		in.m = make(map[string]string)
	}
	if len(in.m) < maxInterned {
		in.m[key] = s
	}
	in.mu.Unlock()
}

var (
	modelVersions interned
	contentPaths  interned
	requestModels interned
)

// modelVersion reads an answer's modelVersion, a handful of values over a process's life.
func modelVersion(v []byte) (string, bool) { return modelVersions.scan(v) }

// ScanModel reads the model a request names: a handful of names over a process's life, read
// without a copy once seen.
func ScanModel(v []byte) (string, bool) { return requestModels.scan(v) }

// scan reads string value v, kept in in when it has no escapes.
func (in *interned) scan(v []byte) (string, bool) {
	if v[0] != '"' || !plainQuoted(v) {
		return scanString(v)
	}
	raw := v[1 : len(v)-1]
	if s, ok := in.lookup(raw); ok {
		return s, true
	}
	s := string(raw)
	in.keep(s, s)
	return s, true
}

// plainQuoted reports a string without escapes, which reads as written.
func plainQuoted(v []byte) bool {
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}

// GenerateContentPath is "models/<real>:generateContent", built once per model.
func GenerateContentPath(real string) string {
	contentPaths.mu.RLock()
	p, ok := contentPaths.m[real]
	contentPaths.mu.RUnlock()
	if ok {
		return p
	}
	p = "models/" + real + ":generateContent"
	contentPaths.keep(real, p)
	return p
}

// safetyCache is the last snapshot's safety settings: they change only with the settings.
type safetyCache struct {
	snap *config.Snapshot
	list []gemini.SafetySetting
}

var lastSafety atomic.Pointer[safetyCache]
